"""End to end through the API with a running worker: publish now, on time, delete or pause before due."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import pytest

from tests.engine.conftest import PLATFORM_TIMEOUT, PROMPT, Harness, wait_until

PLATFORMS = ["mastodon", "bluesky"]
DUE_AFTER = 2.0  # seconds: ample time to change a post before it is due, even on a loaded machine


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_create_now_wakes_the_worker(engine, platform):
    user = await engine.user()
    pid = await engine.sandbox(user, platform)
    started = time.monotonic()
    group_id = await engine.create(user, f"hello from the engine on {platform}", [pid])
    await wait_until(engine.sent, PROMPT, lambda: f"the simulator received nothing within {PROMPT} s")
    assert time.monotonic() - started < PROMPT
    got = await engine.wait_finished(user, group_id, PROMPT)
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
    got = await engine.wait_finished(user, group_id, PROMPT)
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
    await wait_until(engine.sent, PROMPT, lambda: "never sent")
    lag = time.monotonic() - due_monotonic
    assert lag < PROMPT, f"sent {lag:.3f} s after its scheduled time"
    got = await engine.wait_finished(user, group_id, PROMPT)
    assert got["status"] == "published"
    assert got["posts"][0]["postedId"] == (await engine.sent())[0]["id"]


async def pass_due_time(engine: Harness, due: datetime) -> list[str]:
    """Once `due` is past, publish another user's post due now and stop the worker; the texts sent.

    Claims take due posts in order of due time, and stopping waits for every publish in flight:
    a post due at `due` that could still be published has been by then.
    """
    await asyncio.sleep(max(0.0, due.timestamp() - time.time()))
    other = await engine.user()
    pid = await engine.sandbox(other, "mastodon")
    later = await engine.create(other, "due after it", [pid])
    assert (await engine.wait_finished(other, later, PROMPT))["status"] == "published"
    await engine.stop_workers()
    return [s["text"] for s in await engine.sent()]


async def test_delete_before_due_is_never_published(engine, soon):
    user = await engine.user()
    pid = await engine.sandbox(user, "bluesky")
    due = soon(DUE_AFTER)
    group_id = await engine.create(user, "deleted before due", [pid], at=due)
    r = await engine.client.delete(f"/api/v1/delete-post/{group_id}", headers=user.headers)
    assert r.status_code == 200, r.text
    assert await pass_due_time(engine, due) == ["due after it"]
    r = await engine.client.get(f"/api/v1/get-post/{group_id}", headers=user.headers)
    assert r.status_code == 404


async def test_draft_before_due_is_never_published(engine, soon):
    user = await engine.user()
    pid = await engine.sandbox(user, "mastodon")
    due = soon(DUE_AFTER)
    group_id = await engine.create(user, "paused before due", [pid], at=due)
    r = await engine.client.put(
        f"/api/v1/update-post/{group_id}", headers=user.headers, json={"status": "draft"}
    )
    assert r.status_code == 200, r.text
    assert await pass_due_time(engine, due) == ["due after it"]
    got = await engine.get(user, group_id)
    assert got["status"] == "draft"
    assert got["processingStatus"] == "pending"
    assert [p["status"] for p in got["posts"]] == ["draft"]


async def test_reschedule_moves_the_send_time(engine, soon):
    user = await engine.user()
    pid = await engine.sandbox(user, "mastodon")
    group_id = await engine.create(user, "moved", [pid], at=soon(DUE_AFTER))
    later = soon(DUE_AFTER + 1.0)
    r = await engine.client.put(
        f"/api/v1/update-post/{group_id}", headers=user.headers, json={"scheduledTime": later.isoformat()}
    )
    assert r.status_code == 200, r.text
    later_monotonic = time.monotonic() + (later.timestamp() - time.time())
    while time.monotonic() < later_monotonic - 0.05:
        assert await engine.sent() == [], "sent at the old time"
        await asyncio.sleep(0.02)
    await wait_until(engine.sent, PROMPT, lambda: "never sent")
    assert time.monotonic() - later_monotonic < PROMPT
    assert (await engine.wait_finished(user, group_id, PROMPT))["status"] == "published"


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
    await wait_until(engine.sent, PROMPT, lambda: f"not sent within {PROMPT} s of being brought forward")
    assert time.monotonic() - started < PROMPT
    assert (await engine.wait_finished(user, group_id, PROMPT))["status"] == "published"


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
    got = await engine.wait_finished(user, group_id, PROMPT)
    assert got["status"] == "published"
    assert len(await engine.sent()) == 1


async def test_group_deleted_while_worker_holds_it(engine):
    """timeout-after-commit keeps the worker busy until its platform timeout; deleting then must not
    crash it."""
    user = await engine.user()
    pid = await engine.sandbox(user, "mastodon")
    group_id = await engine.create(user, "deleted mid-flight #sandbox:timeout-after-commit", [pid])
    await wait_until(engine.sent, PROMPT)
    r = await engine.client.delete(f"/api/v1/delete-post/{group_id}", headers=user.headers)
    assert r.status_code == 200, r.text
    await asyncio.sleep(PLATFORM_TIMEOUT + 0.5)  # the call times out, the outcome meets no row
    # the worker is still alive and publishes the next post
    other = await engine.create(user, "after the delete", [pid])
    assert (await engine.wait_finished(user, other, PROMPT))["status"] == "published"
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
    await wait_until(harness.sent, PROMPT)
    worker.wake()  # the only slot is busy with a stalled publish
    for group_id in group_ids:
        assert (await harness.wait_finished(user, group_id, 30.0))["status"] == "published"
    assert len(await harness.sent()) == 3
