"""TikTok end to end through the API and the engine, on both databases, with sandbox accounts.

A TikTok post is a video: until the media pipeline hands the engine its files, the multi-step
publishing (upload, resume, processing, markers) is tested against the fake at the adapter level
(tests/platforms/test_tiktok.py); here, what the API, the engine and the credential store do.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from postpost.db.models import Connection
from postpost.security import SecretBox
from tests.conftest import SECRET
from tests.engine.conftest import Harness

SCOPES = ["user.info.basic", "video.publish", "video.list"]


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
    pid = await harness.sandbox(user, "tiktok")
    got = await check(harness, user, pid)
    row, _ = await stored(harness, pid)
    assert got["status"] == "ok" and got["platform"] == "tiktok"
    assert got["username"] == row.username and got["message"] == f"Connected as {row.username}"
    assert got["permissions"] == SCOPES
    assert got["tokenExpiresIn"] in ("179d 23h", "180d 0h")  # the refresh token's life
    listed = await harness.connection(user, pid)
    assert listed["displayName"] == "Sandbox creator" and listed["tokenStatus"] == "valid"


async def test_expired_token_is_refreshed_and_the_new_refresh_token_kept(harness: Harness) -> None:
    """TikTok's refresh tokens are single use: the new pair is stored before it is used."""
    user = await harness.user()
    pid = await harness.sandbox(user, "tiktok")
    before, old = await stored(harness, pid)
    await harness.expire_access_token(pid)
    got = await check(harness, user, pid)
    assert got["status"] == "ok"
    assert int(got["tokenExpiresIn"].split("d")[0]) >= 179  # the new refresh token's life
    after, new = await stored(harness, pid)
    assert after.secrets_version == before.secrets_version + 1
    assert new["refresh_token"] != old["refresh_token"] and new["access_token"] != old["access_token"]
    assert (await check(harness, user, pid))["status"] == "ok"
    again, _ = await stored(harness, pid)
    assert again.secrets_version == after.secrets_version  # fresh tokens are not refreshed again


async def test_a_post_without_a_video_is_refused_when_scheduled(harness: Harness) -> None:
    user = await harness.user()
    pid = await harness.sandbox(user, "tiktok")
    body = {"content": "just words", "platforms": [pid], "scheduledTime": "2030-01-01T00:00:00Z"}
    r = await harness.client.post("/api/v1/create-post", headers=user.headers, json=body)
    assert (r.status_code, r.json()) == (400, {"error": "TikTok posts require a video"})
    # a draft may wait for its video; scheduling it without one is refused too
    draft = await harness.client.post(
        "/api/v1/create-post", headers=user.headers, json={"content": "later", "platforms": [pid]}
    )
    assert draft.status_code == 200, draft.text
    group = draft.json()["postGroupId"]
    r = await harness.client.put(
        f"/api/v1/update-post/{group}", headers=user.headers, json={"status": "scheduled"}
    )
    assert (r.status_code, r.json()) == (400, {"error": "TikTok posts require a video"})


async def test_settings_are_checked_at_create_post(harness: Harness) -> None:
    user = await harness.user()
    pid = await harness.sandbox(user, "tiktok")
    for settings, message in (
        (
            {"viewerSetting": "EVERYONE"},
            "Invalid platformSettings.tiktok.viewerSetting: must be one of: PUBLIC_TO_EVERYONE, "
            "MUTUAL_FOLLOW_FRIENDS, FOLLOWER_OF_CREATOR, SELF_ONLY",
        ),
        ({"allowDuet": "yes"}, "Invalid platformSettings.tiktok.allowDuet: must be true or false"),
    ):
        body = {"content": "x", "platforms": [pid], "platformSettings": {"tiktok": settings}}
        r = await harness.client.post("/api/v1/create-post", headers=user.headers, json=body)
        assert r.status_code == 400 and r.json()["error"] == message
    body = {"content": "x", "platforms": [pid], "platformSettings": {"tiktok": {"allowDuet": True}}}
    r = await harness.client.post("/api/v1/create-post", headers=user.headers, json=body)
    assert r.status_code == 200
    got = await harness.get(user, r.json()["postGroupId"])
    assert got["status"] == "draft"
