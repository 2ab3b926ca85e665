"""The `postpost` console script, run as a real subprocess against a fresh database of each engine."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from postpost.api.app import create_app
from postpost.config import Settings, async_database_url
from postpost.db.session import Database

pytestmark = pytest.mark.slow  # real processes, many of them: handed out first in parallel runs

SECRET = "cli-test-secret"
POSTPOST = Path(sys.executable).with_name("postpost")
KEY_FORMAT = re.compile(r"^sk_[0-9a-z]+_[0-9a-f]{16}\.[0-9a-f]{40}$")
MISSING_USER = "0123456789abcdef01234567"


class Cli:
    def __init__(self, url: str, data_dir: Path) -> None:
        self.url = url
        self.data_dir = data_dir
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("POSTPOST_")}
        self.env.update(
            POSTPOST_DATABASE_URL=url,
            POSTPOST_SECRET_KEY=SECRET,
            POSTPOST_DATA_DIR=str(data_dir),
            COLUMNS="200",
            NO_COLOR="1",
        )

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(POSTPOST), *args],
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=self.data_dir,
        )

    def json(self, *args: str) -> dict[str, Any]:
        done = self(*args, "--json")
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        assert done.stdout.endswith("\n") and done.stdout.count("\n") == 1, done.stdout
        data = json.loads(done.stdout)  # exactly one JSON object and nothing else
        assert isinstance(data, dict)
        return data

    def fails(self, *args: str) -> str:
        done = self(*args)
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        assert done.stdout == "", done.stdout
        assert "Traceback" not in done.stderr, done.stderr
        return " ".join(done.stderr.split())

    @asynccontextmanager
    async def api(self) -> AsyncIterator[httpx.AsyncClient]:
        database = Database(async_database_url(self.url))
        app = create_app(
            Settings(database_url=self.url, secret_key=SECRET, data_dir=self.data_dir),  # type: ignore[arg-type]
            database,
        )
        try:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://cli"
            ) as client:
                yield client
        finally:
            await database.dispose()


@pytest.fixture
def cli(engine_name: str, new_database_url: Callable[[str], str], tmp_path: Path) -> Cli:
    assert POSTPOST.exists(), f"console script not installed at {POSTPOST}"
    return Cli(new_database_url(engine_name), tmp_path)


async def test_users_keys_connections(cli: Cli) -> None:
    # users create migrates the empty database by itself.
    user = cli.json("users", "create", "--email", "Owner@Example.com", "--plan", "pro", "--workspace")
    assert set(user) == {"userId", "email", "plan", "apiKey"}
    assert re.fullmatch(r"[0-9a-f]{24}", user["userId"])
    assert user["email"] == "owner@example.com" and user["plan"] == "pro"
    assert KEY_FORMAT.match(user["apiKey"])
    first = {"x-api-key": user["apiKey"]}

    message = cli.fails("users", "create", "--email", "owner@example.com", "--plan", "pro", "--json")
    assert "already exists" in message and "owner@example.com" in message
    message = cli.fails("users", "create", "--email", "other@example.com", "--plan", "gold", "--json")
    assert "Unknown plan: gold" in message

    second = cli.json("keys", "create", "--user", user["userId"], "--name", "ci")
    assert set(second) == {"keyId", "userId", "name", "apiKey"}
    assert second["userId"] == user["userId"] and second["name"] == "ci"
    assert KEY_FORMAT.match(second["apiKey"]) and second["apiKey"] != user["apiKey"]

    listing = cli.json("keys", "list", "--user", user["userId"])
    assert [k["name"] for k in listing["keys"]] == ["Default", "ci"]
    assert user["apiKey"] not in json.dumps(listing) and second["apiKey"] not in json.dumps(listing)
    assert all(k["revokedAt"] is None for k in listing["keys"])

    revoked = cli.json("keys", "revoke", second["keyId"])
    assert revoked["keyId"] == second["keyId"] and revoked["revokedAt"]

    added = cli.json(
        "connections",
        "add",
        "--user",
        user["userId"],
        "--platform",
        "mastodon",
        "--account-id",
        "123",
        "--access-token",
        "T0KEN-CLI-SECRET",
    )
    assert added == {"platformId": "mastodon-123"}
    assert "Unknown platform" in cli.fails(
        "connections", "add", "--user", user["userId"], "--platform", "myspace", "--account-id", "1"
    )
    assert "User not found" in cli.fails(
        "connections", "add", "--user", MISSING_USER, "--platform", "mastodon", "--account-id", "1"
    )

    async with cli.api() as client:
        r = await client.get("/api/v1/list-posts", headers=first)
        assert r.status_code == 200, r.text
        assert r.json()["posts"] == []
        r = await client.get("/api/v1/list-posts", headers={"x-api-key": second["apiKey"]})
        assert (r.status_code, r.json()) == (401, {"error": "Invalid API key"})
        r = await client.get("/api/v1/platform-connections", headers=first)
        assert [c["platformId"] for c in r.json()["connections"]] == ["mastodon-123"]
        assert "T0KEN-CLI-SECRET" not in r.text
        r = await client.post(
            "/api/v1/create-post",
            headers=first,
            json={"content": "from the cli", "platforms": ["mastodon-123"]},
        )
        assert r.status_code == 200, r.text


async def test_fresh_database_commands(cli: Cli) -> None:
    # A read on an empty database migrates it first: a clean "not found", not a missing table.
    message = cli.fails("keys", "list", "--user", MISSING_USER)
    assert f"User not found: {MISSING_USER}" in message
    assert cli.json("db", "upgrade") == {"upgraded": True}
    assert cli.json("db", "upgrade") == {"upgraded": True}  # idempotent
    assert "API key not found" in cli.fails("keys", "revoke", MISSING_USER)


async def test_human_output(cli: Cli) -> None:
    done = cli("users", "create", "--email", "human@example.com", "--plan", "starter")
    assert done.returncode == 0, done.stderr
    match = re.search(r"sk_[0-9a-z]+_[0-9a-f]{16}\.[0-9a-f]{40}", done.stdout)
    assert match, done.stdout
    async with cli.api() as client:
        r = await client.get("/api/v1/list-posts", headers={"x-api-key": match.group(0)})
        # Starter has no API access by default; the key itself is valid.
        assert (r.status_code, r.json()) == (403, {"error": "API access is not enabled for this account"})


async def test_posts_list_and_show(cli: Cli) -> None:
    user = cli.json("users", "create", "--email", "posts@example.com", "--plan", "pro")
    headers = {"x-api-key": user["apiKey"]}
    cli.json("connections", "add", "--user", user["userId"], "--platform", "mastodon", "--account-id", "9")
    groups = []
    async with cli.api() as client:
        for content, when in (("first draft", None), ("scheduled one", "2031-01-01T10:00:00Z")):
            body: dict[str, Any] = {"content": content, "platforms": ["mastodon-9"]}
            if when:
                body["scheduledTime"] = when
            r = await client.post("/api/v1/create-post", headers=headers, json=body)
            assert r.status_code == 200, r.text
            groups.append(r.json()["postGroupId"])
    listed = cli.json("posts", "list", "--user", user["userId"])
    assert [p["postGroupId"] for p in listed["posts"]] == groups[::-1]  # newest first
    assert listed["total"] == 2
    only = cli.json("posts", "list", "--user", user["userId"], "--status", "scheduled")
    assert [p["content"] for p in only["posts"]] == ["scheduled one"]
    assert "Invalid status" in cli.fails("posts", "list", "--user", user["userId"], "--status", "gone")
    assert f"User not found: {MISSING_USER}" in cli.fails("posts", "list", "--user", MISSING_USER)

    shown = cli.json("posts", "show", groups[1])
    assert shown["userId"] == user["userId"]
    assert (
        shown["group"]["status"] == "scheduled"
        and shown["group"]["scheduledTime"] == "2031-01-01T10:00:00.000Z"
    )
    assert [(p["platform"], p["status"]) for p in shown["group"]["posts"]] == [("mastodon", "scheduled")]
    assert [entry["event"] for entry in shown["logs"]] == ["scheduled"]
    assert f"Post group not found: {MISSING_USER}" in cli.fails("posts", "show", MISSING_USER)
    human = cli("posts", "show", groups[1])
    assert human.returncode == 0 and "scheduled one" not in human.stdout and groups[1] in human.stdout


async def test_connections_only_for_platforms_that_can_publish(cli: Cli) -> None:
    user = cli.json("users", "create", "--email", "plat@example.com", "--plan", "pro")
    message = cli.fails(
        "connections", "add", "--user", user["userId"], "--platform", "pinterest", "--account-id", "1"
    )
    assert "Unknown platform: pinterest" in message


async def test_workspace_users_and_connect_links(cli: Cli) -> None:
    owner = cli.json("users", "create", "--email", "ws@example.com", "--plan", "pro", "--workspace")
    assert cli.json("workspace", "users", "list", "--owner", owner["userId"]) == {"users": []}
    async with cli.api() as client:
        r = await client.post(
            "/api/v1/workspace/users",
            headers={"x-api-key": owner["apiKey"]},
            json={"username": "managed@example.com"},
        )
        assert r.status_code == 201, r.text
        managed = r.json()["user"]
    listed = cli.json("workspace", "users", "list", "--owner", owner["userId"])
    assert [u["_id"] for u in listed["users"]] == [managed["_id"]]
    link = cli.json("connections", "link", "--user", managed["_id"], "--expires-in-days", "0.5")
    assert set(link) == {"url", "expiresAt"} and "/connect/" in link["url"]
    assert cli.json("connections", "link", "--user", managed["_id"]) == link  # still valid: the same
    assert cli.json("connections", "link", "--user", managed["_id"], "--rotate")["url"] != link["url"]
    assert f"User not found: {MISSING_USER}" in cli.fails("connections", "link", "--user", MISSING_USER)
    done = cli("connections", "link", "--user", managed["_id"], "--expires-in-days", "0")
    assert done.returncode == 2 and "positive" in done.stderr
