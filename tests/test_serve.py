"""`postpost serve` as a newcomer runs it: API, in-process worker and sandbox in one process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import SECRET

POSTPOST = str(Path(sys.executable).with_name("postpost"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli(env: dict[str, str], *args: str) -> dict[str, str]:
    result = subprocess.run(
        [POSTPOST, *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


@pytest.fixture
def served(engine_name, new_database_url, tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTPOST_")}
    env.update(POSTPOST_DATA_DIR=str(tmp_path), POSTPOST_SECRET_KEY=SECRET, POSTPOST_PORT=str(port))
    if engine_name == "postgresql":
        env["POSTPOST_DATABASE_URL"] = new_database_url("postgresql")
    process = subprocess.Popen(
        [POSTPOST, "serve"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # a start-up on a loaded machine can take a while
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail(f"serve did not start: {process.stdout.read() if process.stdout else ''}")
    yield base, env, process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)


def test_newcomer_flow_publishes_within_a_second(served):
    base, env, process = served
    user = cli(env, "users", "create", "--email", "newcomer@example.com", "--plan", "pro")
    mastodon = cli(env, "connections", "add-sandbox", "--user", user["userId"], "--platform", "mastodon")
    bluesky = cli(env, "connections", "add-sandbox", "--user", user["userId"], "--platform", "bluesky")
    headers = {"x-api-key": user["apiKey"]}
    platforms = [mastodon["platformId"], bluesky["platformId"]]
    created = httpx.post(
        f"{base}/api/v1/create-post",
        headers=headers,
        json={
            "content": "Hello from a fresh checkout #postpost",
            "platforms": platforms,
            "scheduledTime": "2020-01-01T00:00:00Z",
        },
    )
    assert created.status_code == 200, created.text
    group_id = created.json()["postGroupId"]
    started = time.monotonic()
    while time.monotonic() - started < 5:
        post = httpx.get(f"{base}/api/v1/get-post/{group_id}", headers=headers).json()
        if post["status"] == "published":
            break
        time.sleep(0.05)
    assert post["status"] == "published", post
    assert time.monotonic() - started < 2
    assert all(p["postedId"] for p in post["posts"])
    received = httpx.get(f"{base}/sandbox/_control/posts", headers=headers).json()["posts"]
    assert sorted(p["id"] for p in received) == sorted(p["postedId"] for p in post["posts"])

    failing = httpx.post(
        f"{base}/api/v1/create-post",
        headers=headers,
        json={
            "content": "This one fails #sandbox:auth-expired@bluesky",
            "platforms": platforms,
            "scheduledTime": "2020-01-01T00:00:00Z",
        },
    ).json()["postGroupId"]
    for _ in range(100):
        post = httpx.get(f"{base}/api/v1/get-post/{failing}", headers=headers).json()
        if post["processingStatus"] == "finished":
            break
        time.sleep(0.05)
    assert post["status"] == "partially_published"
    errors = [p["error"]["code"] for p in post["posts"] if "error" in p]
    assert errors == ["PLATFORM_AUTH_EXPIRED"]

    assert "/api/v1/create-post" in httpx.get(f"{base}/openapi.json").json()["paths"]
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=15)
    # uvicorn shuts down gracefully, then re-raises the signal it caught
    assert process.returncode in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in output
