"""The CLI: `postpost connections add-sandbox` and `postpost worker` as real subprocesses."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from postpost.api.app import create_app
from postpost.config import Settings
from postpost.db.session import Database
from tests.conftest import SECRET

POSTPOST = str(Path(sys.executable).with_name("postpost"))


@pytest.fixture
def cli_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTPOST_")}
    env.update(
        POSTPOST_DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}",
        POSTPOST_SECRET_KEY=SECRET,
        POSTPOST_DATA_DIR=str(tmp_path / "data"),
    )
    return env


def run(env, *args, check=True):
    result = subprocess.run([POSTPOST, *args], env=env, capture_output=True, text=True, timeout=60)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def one_json(result):
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    return json.loads(lines[0])


@pytest.fixture
def cli_user(cli_env):
    return one_json(run(cli_env, "users", "create", "--email", "cli@example.com", "--plan", "pro", "--json"))


def test_add_sandbox_mastodon_and_bluesky(cli_env, cli_user):
    user_id = cli_user["userId"]
    mastodon = one_json(
        run(cli_env, "connections", "add-sandbox", "--user", user_id, "--platform", "mastodon", "--json")
    )
    assert set(mastodon) == {"platformId"}
    assert re.fullmatch(r"mastodon-\d+", mastodon["platformId"])
    bluesky = one_json(
        run(cli_env, "connections", "add-sandbox", "--user", user_id, "--platform", "bluesky", "--json")
    )
    assert set(bluesky) == {"platformId"}
    assert re.fullmatch(r"bluesky-did:plc:[a-z2-7]+", bluesky["platformId"])
    human = run(cli_env, "connections", "add-sandbox", "--user", user_id, "--platform", "mastodon")
    assert "mastodon-" in human.stdout


def test_add_sandbox_linkedin(cli_env, cli_user):
    args = ("connections", "add-sandbox", "--user", cli_user["userId"], "--platform", "linkedin", "--json")
    linkedin = one_json(run(cli_env, *args))
    assert re.fullmatch(r"linkedin-[A-Za-z0-9]{10}", linkedin["platformId"])


def test_add_sandbox_unsupported_platform_exits_1(cli_env, cli_user):
    result = run(
        cli_env,
        "connections",
        "add-sandbox",
        "--user",
        cli_user["userId"],
        "--platform",
        "pinterest",
        "--json",
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Sandbox is available for" in result.stderr


def test_add_sandbox_unknown_user_exits_1(cli_env):
    result = run(
        cli_env,
        "connections",
        "add-sandbox",
        "--user",
        "0" * 24,
        "--platform",
        "mastodon",
        "--json",
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == ""


def start_worker(env):
    return subprocess.Popen(
        [POSTPOST, "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def add_sandbox(env, user_id, platform):
    result = run(env, "connections", "add-sandbox", "--user", user_id, "--platform", platform, "--json")
    return one_json(result)["platformId"]


async def test_worker_process_publishes_and_stops_on_sigterm(cli_env, cli_user, simulator, tmp_path):
    pid = add_sandbox(cli_env, cli_user["userId"], "bluesky")
    settings = Settings(database_url=cli_env["POSTPOST_DATABASE_URL"], secret_key=SECRET, data_dir=tmp_path)
    database = Database(settings.resolved_database_url)
    headers = {"x-api-key": cli_user["apiKey"]}
    app = create_app(settings, database)
    try:
        async with (
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client,
            httpx.AsyncClient(base_url=simulator) as control,
        ):
            body = {
                "content": "from a worker process",
                "platforms": [pid],
                "scheduledTime": datetime.now(UTC).isoformat(),
            }
            r = await client.post("/api/v1/create-post", headers=headers, json=body)
            assert r.status_code == 200, r.text
            group_id = r.json()["postGroupId"]
            worker = start_worker({**cli_env, "POSTPOST_SANDBOX_URL": simulator})
            try:
                deadline = time.monotonic() + 60
                while True:
                    got = (await client.get(f"/api/v1/get-post/{group_id}", headers=headers)).json()
                    if got["status"] != "scheduled" or time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.05)
                assert got["status"] == "published", got
                sent = (await control.get("/_control/posts")).json()["posts"]
                assert [(s["platform"], s["text"]) for s in sent] == [("bluesky", "from a worker process")]
                assert got["posts"][0]["postedId"] == sent[0]["id"]
                worker.send_signal(signal.SIGTERM)
                out, errors = worker.communicate(timeout=15)
            finally:
                if worker.poll() is None:
                    worker.kill()
                    worker.wait()
            assert worker.returncode == 0, errors
            assert out == ""
            assert "postpost worker" in errors
            assert "Traceback" not in errors
    finally:
        await database.dispose()
