"""`postpost users set`: plan, workspace permission and the X bookmarks flag, seen through the API."""

from __future__ import annotations

import pytest

from tests.test_cli import MISSING_USER, Cli, cli  # noqa: F401 - `cli` is the fixture

pytestmark = pytest.mark.slow  # real processes, many of them: handed out first in parallel runs


async def test_users_set(cli: Cli) -> None:  # noqa: F811
    user = cli.json("users", "create", "--email", "reader@example.com", "--plan", "pro")
    headers = {"x-api-key": user["apiKey"]}
    async with cli.api() as client:
        r = await client.get("/api/v1/x-bookmarks", headers=headers)
        assert r.status_code == 403 and r.json()["code"] == "PREMIUM_REQUIRED"

    changed = cli.json("users", "set", "--user", user["userId"], "--plan", "premium")
    assert changed == {
        "userId": user["userId"],
        "email": "reader@example.com",
        "plan": "premium",
        "workspace": False,
        "xBookmarks": False,
    }
    async with cli.api() as client:
        r = await client.get("/api/v1/x-bookmarks", headers=headers)
        assert r.status_code == 403 and r.json()["code"] == "X_BOOKMARKS_NOT_ENABLED"

    on = cli.json("users", "set", "--user", user["userId"], "--x-bookmarks", "ON", "--workspace", "on")
    assert (on["plan"], on["workspace"], on["xBookmarks"]) == ("premium", True, True)
    async with cli.api() as client:
        r = await client.get("/api/v1/x-bookmarks", headers=headers)
        assert r.status_code == 200 and r.json()["bookmarks"] == []
        r = await client.get("/api/v1/workspace/users", headers=headers)
        assert r.status_code == 200

    human = cli("users", "set", "--user", user["userId"], "--x-bookmarks", "off")
    assert human.returncode == 0
    assert (
        f"User {user['userId']} (reader@example.com): plan premium, workspace on, X bookmarks off"
        in " ".join(human.stdout.split())
    )
    async with cli.api() as client:
        r = await client.get("/api/v1/x-bookmarks", headers=headers)
        assert r.status_code == 403 and r.json()["code"] == "X_BOOKMARKS_NOT_ENABLED"

    assert "Unknown plan: gold" in cli.fails("users", "set", "--user", user["userId"], "--plan", "gold")
    assert "User not found" in cli.fails("users", "set", "--user", MISSING_USER, "--x-bookmarks", "on")
    wrong = cli("users", "set", "--user", user["userId"], "--x-bookmarks", "maybe")
    assert wrong.returncode == 2 and "--x-bookmarks must be on or off" in wrong.stderr
