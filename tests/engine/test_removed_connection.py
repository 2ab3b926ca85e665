"""A connection removed by the operator: its posts that were waiting fail with "Connection not found"."""

from __future__ import annotations

from postpost.services.connections import Removal, remove_connection


async def test_posts_of_a_removed_connection_fail_and_others_publish(harness):
    user = await harness.user()
    gone = await harness.sandbox(user, "mastodon")
    kept = await harness.sandbox(user, "bluesky")
    doomed = await harness.create(user, "its account is removed before it is due", [gone])
    control = await harness.create(user, "its account stays", [kept])
    async with harness.database.session() as session:
        removal = await remove_connection(session, user.id, gone)
    assert removal == Removal(platform_id=gone, queued_posts=1, draft_posts=0)

    harness.start_workers(1)
    published = await harness.wait_finished(user, control, 20.0)  # the worker is alive
    assert published["status"] == "published"
    failed = await harness.wait_finished(user, doomed, 20.0)
    assert failed["status"] == "failed"
    [post] = failed["posts"]
    assert post["status"] == "failed"
    assert post["error"]["message"].startswith("Connection not found")
    assert [p["text"] for p in await harness.sent()] == ["its account stays"]
