"""Instagram end to end, as far as it goes without media: create-post rules, the missing-media
failure, token refresh and test-connection, on both database engines. (Publishing media end to
end needs the media pipeline: the adapter is tested with media in tests/platforms/test_instagram.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from postpost.db.models import Connection
from tests.engine.conftest import Harness


@pytest.mark.parametrize(
    ("content", "settings", "message"),
    [
        (
            " ".join(f"#tag{i}" for i in range(31)),
            {},
            "Content has 31 hashtags; Instagram allows at most 30",
        ),
        (
            "x" * 2201,
            {},
            "Content is too long for Instagram: 2201 characters, the limit is 2200 "
            "(Instagram does not split long posts into a thread)",
        ),
        (
            "a reel",
            {"instagram": {"videoType": "IGTV"}},
            "Invalid platformSettings.instagram.videoType: must be one of: REELS, STORIES",
        ),
    ],
)
async def test_create_post_rules(
    harness: Harness, content: str, settings: dict[str, object], message: str
) -> None:
    user = await harness.user()
    pid = await harness.sandbox(user, "instagram")
    body = {"content": content, "platforms": [pid], "platformSettings": settings}
    r = await harness.client.post("/api/v1/create-post", headers=user.headers, json=body)
    assert r.status_code == 400
    assert r.json()["error"] == message


async def test_a_post_without_media_is_refused_when_scheduled(engine: Harness) -> None:
    user = await engine.user()
    pids = [await engine.sandbox(user, "instagram"), await engine.sandbox(user, "threads")]
    body = {"content": "words only", "platforms": pids, "scheduledTime": "2030-01-01T00:00:00Z"}
    r = await engine.client.post("/api/v1/create-post", headers=user.headers, json=body)
    assert (r.status_code, r.json()) == (400, {"error": "Instagram posts require media"})
    group_id = await engine.create(user, "threads alone is fine", pids[1:])
    assert (await engine.wait_finished(user, group_id, 10.0))["status"] == "published"
    assert [s["platform"] for s in await engine.sent()] == ["threads"]


async def test_expiring_token_is_refreshed_and_test_connection(engine: Harness) -> None:
    user = await engine.user()
    pid = await engine.sandbox(user, "instagram")
    async with engine.database.session() as session:
        soon = datetime.now(UTC) + timedelta(days=3)
        await session.execute(update(Connection).values(access_token_expires_at=soon))
        await session.commit()
    r = await engine.client.post(f"/api/v1/test-connection/{pid}", headers=user.headers)
    body = r.json()
    assert body["status"] == "ok" and body["message"] == f"Connected as {body['username']}"
    assert body["permissions"] == ["instagram_business_basic", "instagram_business_content_publish"]
    assert body["tokenExpiresIn"].startswith("59d")  # refreshed before the check
