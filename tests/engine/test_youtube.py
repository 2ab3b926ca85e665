"""YouTube end to end through the API and the engine, on both databases, with sandbox accounts.

A YouTube post is a video: until the media pipeline hands the engine its files, the resumable
upload (sessions, resume, processing, markers) is tested against the fake at the adapter level
(tests/platforms/test_youtube.py); here, what the API, the engine and the credential store do.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from postpost.db.models import Connection
from postpost.security import SecretBox
from tests.conftest import SECRET
from tests.engine.conftest import Harness

SCOPES = [
    "https://www.googleapis.com/auth/youtube.upload",
    "https://www.googleapis.com/auth/youtube.readonly",
]


async def stored(h: Harness, platform_id: str) -> tuple[Connection, dict[str, Any]]:
    """The connection row and its decrypted secrets."""
    platform, account = platform_id.split("-", 1)
    async with h.database.session() as session:
        row = await session.scalar(
            select(Connection).where(Connection.platform == platform, Connection.account_id == account)
        )
    assert row is not None
    return row, dict(SecretBox(SECRET.encode()).decrypt(row.secrets))


async def check(h: Harness, user: Any, platform_id: str) -> dict[str, Any]:
    r = await h.client.post(f"/api/v1/test-connection/{platform_id}", headers=user.headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_sandbox_connection_checks_live(harness: Harness) -> None:
    user = await harness.user()
    pid = await harness.sandbox(user, "youtube")
    got = await check(harness, user, pid)
    row, _ = await stored(harness, pid)
    assert got["status"] == "ok" and got["platform"] == "youtube"
    assert got["username"] == row.username and row.username.startswith("@sandbox-")
    assert got["message"] == f"Connected as Sandbox channel {row.account_id[-6:]}"
    assert got["permissions"] == SCOPES
    assert got["tokenExpiresIn"] is None  # refreshed by itself: the connection does not expire
    listed = await harness.connection(user, pid)
    assert listed["displayName"] == "Sandbox channel" and listed["tokenStatus"] == "unknown"


async def test_expired_token_is_refreshed_and_the_refresh_token_kept(harness: Harness) -> None:
    """Google's access tokens last an hour; its refresh token is not rotated."""
    user = await harness.user()
    pid = await harness.sandbox(user, "youtube")
    before, old = await stored(harness, pid)
    await harness.expire_access_token(pid)
    got = await check(harness, user, pid)
    assert got["status"] == "ok" and got["tokenExpiresIn"] is None
    after, new = await stored(harness, pid)
    assert after.secrets_version == before.secrets_version + 1
    assert new["refresh_token"] == old["refresh_token"] and new["access_token"] != old["access_token"]
    assert (await check(harness, user, pid))["status"] == "ok"
    again, _ = await stored(harness, pid)
    assert again.secrets_version == after.secrets_version  # fresh tokens are not refreshed again


async def test_a_post_without_a_video_is_refused_when_scheduled(harness: Harness) -> None:
    user = await harness.user()
    pid = await harness.sandbox(user, "youtube")
    body = {"content": "just words", "platforms": [pid], "scheduledTime": "2030-01-01T00:00:00Z"}
    r = await harness.client.post("/api/v1/create-post", headers=user.headers, json=body)
    assert (r.status_code, r.json()) == (400, {"error": "YouTube posts require a video"})
    # a draft may wait for its video; scheduling it without one is refused too
    draft = await harness.client.post(
        "/api/v1/create-post", headers=user.headers, json={"content": "later", "platforms": [pid]}
    )
    assert draft.status_code == 200, draft.text
    group = draft.json()["postGroupId"]
    r = await harness.client.put(
        f"/api/v1/update-post/{group}", headers=user.headers, json={"status": "scheduled"}
    )
    assert (r.status_code, r.json()) == (400, {"error": "YouTube posts require a video"})


async def test_settings_are_checked_at_create_post(harness: Harness) -> None:
    user = await harness.user()
    pid = await harness.sandbox(user, "youtube")
    for settings, message in (
        (
            {"privacy": "friends"},
            "Invalid platformSettings.youtube.privacy: must be one of: public, unlisted, private",
        ),
        ({"madeForKids": "no"}, "Invalid platformSettings.youtube.madeForKids: must be true or false"),
        ({"title": 5}, "Invalid platformSettings.youtube.title: must be a string"),
    ):
        body = {"content": "x", "platforms": [pid], "platformSettings": {"youtube": settings}}
        r = await harness.client.post("/api/v1/create-post", headers=user.headers, json=body)
        assert r.status_code == 400 and r.json()["error"] == message
    body = {"content": "x", "platforms": [pid], "platformSettings": {"youtube": {"privacy": "unlisted"}}}
    r = await harness.client.post("/api/v1/create-post", headers=user.headers, json=body)
    assert r.status_code == 200
    got = await harness.get(user, r.json()["postGroupId"])
    assert got["status"] == "draft"
