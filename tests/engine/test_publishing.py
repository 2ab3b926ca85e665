"""End to end through the API with a running worker: publish now, on time, delete or pause before due."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.engine.conftest import wait_until

PLATFORMS = ["mastodon", "bluesky"]


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_create_now_is_published_within_a_second(engine, platform):
    user = await engine.user()
    pid = await engine.sandbox(user, platform)
    started = time.monotonic()
    group_id = await engine.create(user, f"hello from the engine on {platform}", [pid])
    await wait_until(engine.sent, 1.0, lambda: "the simulator received nothing within 1 s")
    assert time.monotonic() - started < 1.0
    got = await engine.wait_finished(user, group_id, 2.0)
    sent = await engine.sent()
    assert len(sent) == 1
    assert sent[0]["platform"] == platform
    assert sent[0]["text"] == f"hello from the engine on {platform}"
    assert sent[0]["replyTo"] is None
    assert got["status"] == "published"
    assert got["processingStatus"] == "finished"
    [post] = got["posts"]
    assert post["status"] == "published"
    assert post["postedId"] == sent[0]["id"]
    assert "error" not in post
    connection = await engine.connection(user, pid)
    assert connection["lastSuccessfulPost"] is not None
    assert connection["lastError"] is None


async def test_one_group_on_both_platforms(engine):
    user = await engine.user()
    pids = [await engine.sandbox(user, "mastodon"), await engine.sandbox(user, "bluesky")]
    group_id = await engine.create(user, "to both", pids)
    got = await engine.wait_finished(user, group_id, 2.0)
    assert got["status"] == "published"
    sent = {p["platform"]: p["id"] for p in await engine.sent()}
    assert sorted(sent) == ["bluesky", "mastodon"]
    assert {p["platform"]: p["postedId"] for p in got["posts"]} == sent
    assert [p["platformId"] for p in got["posts"]] == [pid.split("-", 1)[1] for pid in pids]


async def test_future_post_leaves_on_time(engine, soon):
    user = await engine.user()
    pid = await engine.sandbox(user, "mastodon")
    due = soon(1.5)
    group_id = await engine.create(user, "on time", [pid], at=due)
    due_monotonic = time.monotonic() + (due.timestamp() - time.time())
    while time.monotonic() < due_monotonic - 0.05:
        assert await engine.sent() == [], "sent before its scheduled time"
        await asyncio.sleep(0.02)
    await wait_until(engine.sent, 1.5, lambda: "never sent")
    lag = time.monotonic() - due_monotonic
    assert lag < 1.0, f"sent {lag:.3f} s after its scheduled time"
    got = await engine.wait_finished(user, group_id, 2.0)
    assert got["status"] == "published"
    assert got["posts"][0]["postedId"] == (await engine.sent())[0]["id"]


async def test_delete_before_due_is_never_published(engine, soon):
    user = await engine.user()
    pid = await engine.sandbox(user, "bluesky")
    due = soon(0.6)
    group_id = await engine.create(user, "deleted before due", [pid], at=due)
    r = await engine.client.delete(f"/api/v1/delete-post/{group_id}", headers=user.headers)
    assert r.status_code == 200, r.text
    await asyncio.sleep(max(0.0, due.timestamp() - time.time()) + 0.8)
    assert await engine.sent() == []
    r = await engine.client.get(f"/api/v1/get-post/{group_id}", headers=user.headers)
    assert r.status_code == 404


async def test_draft_before_due_is_never_published(engine, soon):
    user = await engine.user()
    pid = await engine.sandbox(user, "mastodon")
    due = soon(0.6)
    group_id = await engine.create(user, "paused before due", [pid], at=due)
    r = await engine.client.put(
        f"/api/v1/update-post/{group_id}", headers=user.headers, json={"status": "draft"}
    )
    assert r.status_code == 200, r.text
    await asyncio.sleep(max(0.0, due.timestamp() - time.time()) + 0.8)
    assert await engine.sent() == []
    got = await engine.get(user, group_id)
    assert got["status"] == "draft"
    assert got["processingStatus"] == "pending"
    assert [p["status"] for p in got["posts"]] == ["draft"]


async def test_reschedule_moves_the_send_time(engine, soon):
    user = await engine.user()
    pid = await engine.sandbox(user, "mastodon")
    group_id = await engine.create(user, "moved", [pid], at=soon(0.5))
    later = soon(1.5)
    r = await engine.client.put(
        f"/api/v1/update-post/{group_id}", headers=user.headers, json={"scheduledTime": later.isoformat()}
    )
    assert r.status_code == 200, r.text
    later_monotonic = time.monotonic() + (later.timestamp() - time.time())
    while time.monotonic() < later_monotonic - 0.05:
        assert await engine.sent() == [], "sent at the old time"
        await asyncio.sleep(0.02)
    await wait_until(engine.sent, 1.5, lambda: "never sent")
    assert time.monotonic() - later_monotonic < 1.0
    assert (await engine.wait_finished(user, group_id, 2.0))["status"] == "published"


async def test_rescheduling_earlier_wakes_the_worker(engine, soon):
    user = await engine.user()
    pid = await engine.sandbox(user, "bluesky")
    group_id = await engine.create(user, "brought forward", [pid], at=soon(3600))
    await asyncio.sleep(0.1)  # the worker is asleep until the hour is up
    started = time.monotonic()
    r = await engine.client.put(
        f"/api/v1/update-post/{group_id}", headers=user.headers, json={"scheduledTime": soon(0).isoformat()}
    )
    assert r.status_code == 200, r.text
    await wait_until(engine.sent, 1.0, lambda: "not sent within 1 s of being brought forward")
    assert time.monotonic() - started < 1.0
    assert (await engine.wait_finished(user, group_id, 2.0))["status"] == "published"


async def test_draft_then_schedule_publishes(engine):
    user = await engine.user()
    pid = await engine.sandbox(user, "mastodon")
    group_id = await engine.create(user, "a draft first", [pid], at=None)
    await asyncio.sleep(0.2)
    assert await engine.sent() == []
    r = await engine.client.put(
        f"/api/v1/update-post/{group_id}", headers=user.headers, json={"status": "scheduled"}
    )
    assert r.status_code == 200, r.text
    got = await engine.wait_finished(user, group_id, 2.0)
    assert got["status"] == "published"
    assert len(await engine.sent()) == 1


async def test_group_deleted_while_worker_holds_it(engine):
    """timeout-after-commit keeps the worker busy 0.25 s; deleting then must not crash it."""
    user = await engine.user()
    pid = await engine.sandbox(user, "mastodon")
    group_id = await engine.create(user, "deleted mid-flight #sandbox:timeout-after-commit", [pid])
    await wait_until(engine.sent, 1.0)
    r = await engine.client.delete(f"/api/v1/delete-post/{group_id}", headers=user.headers)
    assert r.status_code == 200, r.text
    await asyncio.sleep(1.0)
    # the worker is still alive and publishes the next post
    other = await engine.create(user, "after the delete", [pid])
    assert (await engine.wait_finished(user, other, 2.0))["status"] == "published"
    assert all(not task.done() for _worker, task in engine.workers)


async def test_saturated_worker_woken_keeps_publishing(harness):
    """Regression: a wake-up while every slot was busy spun the claim loop and starved the event loop."""
    harness.settings = harness.settings.model_copy(update={"worker_concurrency": 1})
    user = await harness.user()
    pid = await harness.sandbox(user, "mastodon")
    group_ids = await harness.bulk_create(
        user, [(f"slow {i} #sandbox:timeout-after-commit", [pid]) for i in range(3)]
    )
    harness.start_workers(1)
    [(worker, _task)] = harness.workers
    await wait_until(harness.sent, 2.0)
    worker.wake()  # the only slot is busy with a stalled publish
    for group_id in group_ids:
        assert (await harness.wait_finished(user, group_id, 10.0))["status"] == "published"
    assert len(await harness.sent()) == 3
