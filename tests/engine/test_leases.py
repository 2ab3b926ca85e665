"""Leases that hold: a publish longer than the lease is renewed, not taken over; the ceiling abandons one.

`#sandbox:slow` makes the simulator store the post, then answer after 2.5 s (tests/conftest.py).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from postpost.db.models import Post


@pytest.mark.parametrize("platform", ["mastodon", "bluesky"])
async def test_publish_longer_than_the_lease_is_renewed_and_published_once(harness, platform):
    # a 1.5 s lease renewed every half second (a renewal may take up to a second on a busy
    # machine); two workers compete for everything
    harness.settings = harness.settings.model_copy(
        update={"lease_seconds": 1.5, "platform_timeout_seconds": 10.0}
    )
    harness.start_workers(2, separate_databases=True)
    user = await harness.user()
    pid = await harness.sandbox(user, platform)
    control = await harness.sandbox(user, platform)
    slow = await harness.create(user, "a long upload #sandbox:slow", [pid])
    quick = await harness.create(user, "meanwhile", [control])
    assert (await harness.wait_finished(user, quick, 10.0))["status"] == "published"
    got = await harness.wait_finished(user, slow, 15.0)
    assert got["status"] == "published"
    assert [p["text"] for p in await harness.sent()].count("a long upload #sandbox:slow") == 1
    async with harness.database.session() as session:
        attempts = await session.scalar(select(Post.attempts).where(Post.group_id == slow))
    assert attempts == 1  # never taken over, although the publish outlasted its lease (2.5 s)
    logs = await harness.logs(user, slow)
    assert [e["event"] for e in logs if e["event"].startswith("publish")] == [
        "publish_attempted",
        "publish_succeeded",
    ]


@pytest.mark.parametrize("platform", ["mastodon", "bluesky"])
async def test_ceiling_abandons_a_publish_then_reconciles_it(harness, platform):
    harness.settings = harness.settings.model_copy(
        update={"publish_ceiling_seconds": 1.0, "platform_timeout_seconds": 10.0, "retry_base_seconds": 0.1}
    )
    harness.start_workers(1)
    user = await harness.user()
    pid = await harness.sandbox(user, platform)
    group = await harness.create(user, "stuck upload #sandbox:slow", [pid])
    got = await harness.wait_finished(user, group, 15.0)
    assert got["status"] == "published"
    # the abandoned attempt had reached the platform: reconciled, not posted twice
    assert [p["text"] for p in await harness.sent()] == ["stuck upload #sandbox:slow"]
    failed = [e for e in await harness.logs(user, group) if e["event"] == "publish_failed"]
    assert failed[0]["metadata"]["errorCode"] == "TIMEOUT_ERROR"
    assert "longer than 1 s" in failed[0]["error"]
    assert failed[0]["metadata"]["willRetry"] is True
