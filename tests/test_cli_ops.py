"""Operator commands as real subprocesses on each engine: users list, connections list/remove, doctor."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from postpost.config import async_database_url
from postpost.db.session import Database
from postpost.platforms.registry import descriptors
from postpost.services import accounts
from tests.test_cli import MISSING_USER, POSTPOST, Cli

pytestmark = pytest.mark.slow  # real processes, many of them: handed out first in parallel runs

CHECKS = ["configuration", "database", "schema", "secret key", "sandbox"] + [
    f"reach {name}" for name in descriptors()
]


@pytest.fixture
def cli(engine_name: str, new_database_url: Callable[[str], str], tmp_path: Path) -> Cli:
    assert POSTPOST.exists(), f"console script not installed at {POSTPOST}"
    return Cli(new_database_url(engine_name), tmp_path)


def checks(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in report["checks"]}


async def test_users_list(cli: Cli) -> None:
    assert cli.json("users", "list") == {"users": []}
    owner = cli.json("users", "create", "--email", "owner@example.com", "--plan", "pro", "--workspace")
    other = cli.json("users", "create", "--email", "other@example.com")
    database = Database(async_database_url(cli.url))
    try:
        async with database.session() as session:
            managed = await accounts.create_user(
                session, "client@example.com", parent_user_id=owner["userId"]
            )
            await session.commit()
    finally:
        await database.dispose()

    listing = cli.json("users", "list")["users"]
    assert [u["userId"] for u in listing] == [owner["userId"], other["userId"], managed.id]
    assert listing[0] == {
        "userId": owner["userId"],
        "email": "owner@example.com",
        "plan": "pro",
        "role": "user",
        "parentUserId": None,
        "createdAt": listing[0]["createdAt"],
    }
    assert datetime.fromisoformat(listing[0]["createdAt"]) <= datetime.now(UTC)
    assert (listing[2]["role"], listing[2]["parentUserId"], listing[2]["plan"]) == (
        "managed",
        owner["userId"],
        "starter",
    )
    human = cli("users", "list")
    assert human.returncode == 0, human.stderr
    assert "client@example.com" in human.stdout and "managed" in human.stdout
    assert owner["userId"] in human.stdout


async def test_connections_list_and_remove(cli: Cli) -> None:
    alice = cli.json("users", "create", "--email", "alice@example.com", "--plan", "pro")
    bob = cli.json("users", "create", "--email", "bob@example.com", "--plan", "pro")
    cli.json(
        "connections",
        "add",
        "--user",
        alice["userId"],
        "--platform",
        "mastodon",
        "--account-id",
        "123",
        "--username",
        "@alice",
        "--access-token",
        "SECRET-TOKEN-123",
    )
    sandbox = cli.json("connections", "add-sandbox", "--user", alice["userId"], "--platform", "bluesky")

    listing = cli.json("connections", "list", "--user", alice["userId"])["connections"]
    assert [(c["platformId"], c["sandbox"]) for c in listing] == [
        ("mastodon-123", False),
        (sandbox["platformId"], True),
    ]
    assert listing[0]["username"] == "@alice"
    assert all(c["tokenStatus"] == "unknown" and c["lastError"] is None for c in listing)
    assert "SECRET-TOKEN-123" not in json.dumps(listing)
    assert cli.json("connections", "list", "--user", bob["userId"]) == {"connections": []}
    human = cli("connections", "list", "--user", alice["userId"])
    assert human.returncode == 0 and "mastodon-123" in human.stdout and "yes" in human.stdout

    headers = {"x-api-key": alice["apiKey"]}
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    async with cli.api() as client:
        scheduled = await client.post(
            "/api/v1/create-post",
            headers=headers,
            json={
                "content": "later",
                "platforms": ["mastodon-123", sandbox["platformId"]],
                "scheduledTime": tomorrow,
            },
        )
        assert scheduled.status_code == 200, scheduled.text
        draft = await client.post(
            "/api/v1/create-post", headers=headers, json={"content": "draft", "platforms": ["mastodon-123"]}
        )
        assert draft.status_code == 200, draft.text

    # Another user cannot remove Alice's connection; an unknown user is reported as such.
    message = cli.fails("connections", "remove", "--user", bob["userId"], "--platform-id", "mastodon-123")
    assert "Connection not found" in message
    message = cli.fails("connections", "remove", "--user", MISSING_USER, "--platform-id", "mastodon-123")
    assert f"User not found: {MISSING_USER}" in message

    removed = cli.json("connections", "remove", "--user", alice["userId"], "--platform-id", "mastodon-123")
    assert removed == {"platformId": "mastodon-123", "removed": True, "queuedPosts": 1, "draftPosts": 1}
    remaining = cli.json("connections", "list", "--user", alice["userId"])["connections"]
    assert [c["platformId"] for c in remaining] == [sandbox["platformId"]]
    assert "Connection not found" in cli.fails(
        "connections", "remove", "--user", alice["userId"], "--platform-id", "mastodon-123"
    )

    async with cli.api() as client:  # the posts stay; they fail when their time comes
        got = await client.get(f"/api/v1/get-post/{scheduled.json()['postGroupId']}", headers=headers)
        assert [p["status"] for p in got.json()["posts"]] == ["scheduled", "scheduled"]

    human = cli("connections", "remove", "--user", alice["userId"], "--platform-id", sandbox["platformId"])
    assert human.returncode == 0, human.stderr
    assert f"Removed {sandbox['platformId']}" in human.stdout
    assert "1 scheduled and 0 draft platform post(s)" in " ".join(human.stdout.split())


def test_doctor(cli: Cli, engine_name: str) -> None:
    # A new installation: nothing created yet.
    done = cli("doctor", "--json")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is False and report["database"]["engine"] == engine_name
    problem = checks(report)["database" if engine_name == "sqlite" else "schema"]
    assert problem["status"] == "failed" and "postpost db upgrade" in problem["fix"]

    assert cli.json("db", "upgrade") == {"upgraded": True}
    report = cli.json("doctor")  # exit 0: no real account needs the (maybe unreachable) platforms
    assert report["ok"] is True
    assert [c["name"] for c in report["checks"]] == CHECKS
    assert all(c["status"] == "ok" for c in report["checks"][:5]), report
    assert all(c["status"] in ("ok", "warning") for c in report["checks"][5:]), report
    assert "fingerprint matches the database" in checks(report)["secret key"]["detail"]
    assert checks(report)["sandbox"]["detail"].startswith("on:")
    assert "POSTPOST_SANDBOX=false" in checks(report)["sandbox"]["detail"]
    assert report["dataDir"] == str(cli.data_dir)

    human = cli("doctor")
    assert human.returncode == 0, human.stderr
    assert "✓" in human.stdout and "all checks passed" in human.stdout and "✗" not in human.stdout

    cli.env["POSTPOST_SANDBOX"] = "false"
    assert checks(cli.json("doctor"))["sandbox"]["detail"].startswith("off:")

    cli.env["POSTPOST_SECRET_KEY"] = "not-the-key"
    done = cli("doctor")
    assert done.returncode == 1
    text = " ".join(done.stdout.split())
    assert "✗" in text and "POSTPOST_SECRET_KEY is not the key this database was set up with" in text
    assert "Start every process with the original key" in text and "some checks failed" in text


def test_doctor_unreachable_database_and_bad_configuration(tmp_path: Path) -> None:
    cli = Cli("postgresql://postgres@127.0.0.1:1/nowhere", tmp_path)
    done = cli("doctor", "--json")
    assert done.returncode == 1, done.stderr
    database = checks(json.loads(done.stdout))["database"]
    assert database["status"] == "failed" and "cannot connect" in database["detail"]
    assert "POSTPOST_DATABASE_URL" in database["fix"]

    cli.env["POSTPOST_PORT"] = "not-a-port"
    done = cli("doctor")
    assert done.returncode == 1
    assert "configuration" in done.stdout and "POSTPOST_*" in done.stdout
    refused = cli("users", "list")
    assert refused.returncode == 2 and "invalid configuration" in refused.stderr
