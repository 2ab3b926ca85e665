"""Delivery by the dispatcher to a real receiver on loopback (private targets allowed), both engines:
signatures checked with the docs' verifiers on the raw body, retries, auto-disable, isolation of a
dead receiver, the test route, secret rotation, and the end-to-end publish → post.published path."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from postpost.db.models import Webhook, WebhookDelivery
from postpost.services import events
from tests.engine.conftest import wait_until
from tests.webhooks.conftest import AT, PUBLIC_IP, failed_event, verify_delivery, verify_signature


async def test_publish_delivers_signed_events_for_each_platform_post(hooks, receiver):
    user = await hooks.user()
    mastodon, bluesky = await hooks.sandbox(user, "mastodon"), await hooks.sandbox(user, "bluesky")
    hook = await hooks.webhook(user, receiver.url("/hook"))
    hooks.start_workers(1)
    hooks.start_dispatcher()
    group_id = await hooks.create(
        user, "Hello webhooks 👋 #sandbox:auth-expired@bluesky", [mastodon, bluesky]
    )
    got = await hooks.wait_finished(user, group_id, 10.0)
    assert got["status"] == "partially_published"
    received = await receiver.wait_for(4, "/hook")
    by_event = {}
    for request in received:
        assert verify_signature(hook["secret"], request.body, request.headers["X-PostPost-Signature"])
        assert verify_delivery(hook["secret"], request.headers, request.body)
        assert request.headers["Content-Type"] == "application/json"
        payload = json.loads(request.body)
        assert list(payload) == ["event", "timestamp", "data"]
        assert request.headers["X-PostPost-Event"] == payload["event"]
        by_event.setdefault(payload["event"], []).append((request.headers["X-PostPost-Event-Id"], payload))
    assert sorted(by_event) == ["post.failed", "post.published", "post.scheduled"]
    posts = {p["platform"]: p for p in got["posts"]}
    assert sorted(p["data"]["postId"] for _, p in by_event["post.scheduled"]) == sorted(
        p["_id"] for p in got["posts"]
    )
    [(_, published)] = by_event["post.published"]
    assert published["data"] == {
        "postId": posts["mastodon"]["_id"],
        "postGroupId": group_id,
        "platform": "mastodon",
        "publishedAt": published["timestamp"],
    }
    [(failed_id, failed)] = by_event["post.failed"]
    assert list(failed["data"]) == ["postId", "postGroupId", "platform", "error", "failedAt"]
    assert failed["data"]["postId"] == posts["bluesky"]["_id"]
    assert failed["data"]["error"] == {
        "code": "PLATFORM_AUTH_EXPIRED",
        "message": posts["bluesky"]["error"]["message"],
    }
    # the events feed has the same events, with the ids the deliveries carried, scheduled first
    r = await hooks.client.get("/api/v1/events", headers=user.headers)
    feed = r.json()["events"]
    assert [e["event"] for e in feed[:2]] == ["post.scheduled", "post.scheduled"]
    assert {e["_id"]: e["event"] for e in feed}[failed_id] == "post.failed"
    assert len(feed) == 4
    state = await hooks.hook_state(user, hook["_id"])
    assert state["failureCount"] == 0 and state["lastTriggeredAt"] is not None


async def test_non_ascii_payloads_verify_on_the_raw_body(hooks, receiver):
    user = await hooks.user()
    hook = await hooks.webhook(user, receiver.url("/hook"))
    hooks.start_dispatcher()
    await hooks.emit(
        failed_event(user.id, "Rate limit 🚀 — réessayez «bientôt»"),
        events.token_expiring(
            user_id=user.id,
            platform="threads",
            platform_id="threads-1",
            username="zoë_🌸",
            expires_at=AT,
            at=AT,
        ),
    )
    received = await receiver.wait_for(2, "/hook")
    for request in received:
        assert "🚀".encode() in request.body or "🌸".encode() in request.body
        assert verify_signature(hook["secret"], request.body, request.headers["X-PostPost-Signature"])
        parsed = json.loads(request.body)
        # the docs' Node verifier: JSON.stringify(JSON.parse(body)) gives back the signed bytes
        assert json.dumps(parsed, separators=(",", ":"), ensure_ascii=False).encode() == request.body
    messages = [json.loads(r.body)["data"].get("error", {}).get("message") for r in received]
    assert "Rate limit 🚀 — réessayez «bientôt»" in messages


async def test_failures_are_retried_then_counted_and_the_webhook_disabled(hooks, receiver):
    user = await hooks.user()
    receiver.status["/down"] = 500
    hook = await hooks.webhook(user, receiver.url("/down"), ["post.failed"])
    control = await hooks.webhook(user, receiver.url("/up"), ["post.failed"])
    hooks.start_dispatcher()
    await hooks.emit(*(failed_event(user.id, "boom", n) for n in range(5)))
    await receiver.wait_for(15, "/down", 30.0)
    await wait_until(
        lambda: _state_is(hooks, user, hook["_id"], isActive=False, failureCount=5),
        30.0,
        lambda: "the webhook was not disabled after 5 spent events",
    )
    assert len(receiver.at("/up")) == 5  # the dispatcher worked throughout
    attempts = await hooks.attempts(user, hook["_id"])
    assert len(attempts) == 15
    assert sorted(a["attempt"] for a in attempts) == sorted([1, 2, 3] * 5)
    assert {(a["statusCode"], a["error"], a["success"]) for a in attempts} == {(500, "HTTP 500", False)}
    per_event: dict[str, list[str]] = {}
    for request in receiver.at("/down"):
        per_event.setdefault(request.headers["X-PostPost-Event-Id"], []).append(
            request.headers["X-PostPost-Timestamp"]
        )
    assert len(per_event) == 5 and all(len(stamps) == 3 for stamps in per_event.values())
    async with hooks.database.session() as session:
        statuses = set(
            await session.scalars(
                select(WebhookDelivery.status).where(WebhookDelivery.webhook_id == hook["_id"])
            )
        )
    assert statuses == {"failed"}
    state = await hooks.hook_state(user, hook["_id"])
    assert state["lastTriggeredAt"] == max(a["createdAt"] for a in attempts)  # moved by every attempt
    assert (await hooks.hook_state(user, control["_id"]))["failureCount"] == 0

    # disabled: new events are not delivered to it (the control still gets them)
    await hooks.emit(failed_event(user.id, "after", 9))
    await receiver.wait_for(6, "/up")
    assert len(receiver.at("/down")) == 15
    # re-enabling keeps failureCount (the API contract): one more spent event disables it again
    r = await hooks.client.patch(
        f"/api/v1/webhooks/{hook['_id']}", headers=user.headers, json={"isActive": True}
    )
    assert r.json()["webhook"]["isActive"] is True
    assert (await hooks.hook_state(user, hook["_id"]))["failureCount"] == 5
    await hooks.emit(failed_event(user.id, "again", 10))
    await wait_until(
        lambda: _state_is(hooks, user, hook["_id"], isActive=False, failureCount=6),
        30.0,
        lambda: "the re-enabled webhook was not disabled again",
    )


async def _state_is(hooks, user, webhook_id: str, **expected) -> bool:
    state = await hooks.hook_state(user, webhook_id)
    return all(state[k] == v for k, v in expected.items())


async def test_a_success_on_retry_delivers_and_a_success_resets_the_count(hooks, receiver):
    user = await hooks.user()
    hook = await hooks.webhook(user, receiver.url("/flaky"), ["post.failed"])
    hooks.start_dispatcher()
    receiver.fail_first["/flaky"] = 3  # the first event spends all its attempts
    await hooks.emit(failed_event(user.id, "one", 1))
    await wait_until(lambda: _state_is(hooks, user, hook["_id"], failureCount=1), 20.0)
    receiver.fail_first["/flaky"] = 2  # the second is delivered on its third attempt
    await hooks.emit(failed_event(user.id, "two", 2))
    await receiver.wait_for(6, "/flaky")
    await wait_until(
        lambda: _state_is(hooks, user, hook["_id"], failureCount=0, isActive=True),
        20.0,
        lambda: "a success did not reset failureCount",
    )
    attempts = sorted(await hooks.attempts(user, hook["_id"]), key=lambda a: a["createdAt"])
    assert [(a["attempt"], a["statusCode"]) for a in attempts][-3:] == [(1, 500), (2, 500), (3, 200)]
    ids = {r.headers["X-PostPost-Event-Id"] for r in receiver.at("/flaky")[3:]}
    assert len(ids) == 1  # every retry carries the same event id


async def test_a_dead_receiver_does_not_delay_other_webhooks(hooks, receiver):
    """20 events to a receiver that never answers and to a healthy one, with 8 request slots and
    at most 4 per webhook: the healthy one gets all 20 while the dead one holds its 4 slots."""
    hooks.settings.webhook_concurrency = 8
    hooks.settings.webhook_concurrency_per_webhook = 4
    hooks.settings.webhook_timeout_seconds = 60.0
    user = await hooks.user()
    receiver.hold.add("/dead")
    dead = await hooks.webhook(user, receiver.url("/dead"), ["post.failed"])
    await hooks.webhook(user, receiver.url("/alive"), ["post.failed"])
    hooks.start_dispatcher()
    await hooks.emit(*(failed_event(user.id, "x", n) for n in range(20)))
    await receiver.wait_for(20, "/alive", 20.0)
    assert len(receiver.at("/dead")) == 4
    assert await hooks.attempts(user, dead["_id"]) == []  # still waiting on the dead receiver
    receiver.released.set()


async def test_a_disabled_webhook_gets_nothing_already_queued(hooks, receiver):
    user = await hooks.user()
    hook = await hooks.webhook(user, receiver.url("/off"), ["post.failed"])
    await hooks.webhook(user, receiver.url("/on"), ["post.failed"])
    await hooks.emit(failed_event(user.id, "queued"))
    r = await hooks.client.patch(
        f"/api/v1/webhooks/{hook['_id']}", headers=user.headers, json={"isActive": False}
    )
    assert r.status_code == 200
    hooks.start_dispatcher()
    await receiver.wait_for(1, "/on")
    await wait_until(lambda: _delivery_statuses(hooks, hook["_id"], {"cancelled"}), 10.0)
    assert receiver.at("/off") == []


async def _delivery_statuses(hooks, webhook_id: str, expected: set[str]) -> bool:
    async with hooks.database.session() as session:
        found = set(
            await session.scalars(
                select(WebhookDelivery.status).where(WebhookDelivery.webhook_id == webhook_id)
            )
        )
    return found == expected


async def test_delivery_rechecks_the_address_a_name_now_resolves_to(hooks, receiver):
    """Private targets not allowed: the name resolved to a public address at creation, and to
    loopback at delivery. Each attempt is refused and logged; the receiver sees nothing."""
    hooks.guard.allow_private = False
    host = "rebinding.example.com"
    hooks.resolver.table[host] = [[PUBLIC_IP], ["127.0.0.1"]]
    user = await hooks.user()
    hook = await hooks.webhook(user, f"http://{host}:{receiver.port}/hook", ["post.failed"])
    hooks.start_dispatcher()
    await hooks.emit(failed_event(user.id, "x"))
    await wait_until(lambda: _delivery_statuses(hooks, hook["_id"], {"failed"}), 20.0)
    attempts = await hooks.attempts(user, hook["_id"])
    assert [(a["statusCode"], a["error"]) for a in attempts] == [(None, "Localhost URLs are not allowed")] * 3
    assert receiver.requests == []


async def test_the_test_route_sends_a_signed_ping_now(hooks, receiver):
    user = await hooks.user()
    hook = await hooks.webhook(user, receiver.url("/ping"))
    r = await hooks.client.post(f"/api/v1/webhooks/{hook['_id']}/test", headers=user.headers)
    assert r.status_code == 200, r.text
    reply = r.json()
    assert list(reply) == ["success", "delivered", "eventId", "statusCode", "durationMs", "error"]
    assert (reply["success"], reply["delivered"], reply["statusCode"], reply["error"]) == (
        True,
        True,
        200,
        None,
    )
    [request] = receiver.at("/ping")
    assert verify_signature(hook["secret"], request.body, request.headers["X-PostPost-Signature"])
    assert verify_delivery(hook["secret"], request.headers, request.body)
    assert request.headers["X-PostPost-Event"] == "ping"
    assert request.headers["X-PostPost-Event-Id"] == reply["eventId"]
    payload = json.loads(request.body)
    assert list(payload) == ["event", "timestamp", "data"]
    assert (payload["event"], payload["data"]) == ("ping", {"webhookId": hook["_id"]})

    receiver.status["/ping"] = 503
    await hooks.client.patch(
        f"/api/v1/webhooks/{hook['_id']}", headers=user.headers, json={"isActive": False}
    )
    r = await hooks.client.post(f"/api/v1/webhooks/{hook['_id']}/test", headers=user.headers)
    assert (r.json()["delivered"], r.json()["statusCode"], r.json()["error"]) == (False, 503, "HTTP 503")
    assert len(receiver.at("/ping")) == 2  # sent although the webhook is disabled
    attempts = await hooks.attempts(user, hook["_id"])
    assert [(a["event"], a["statusCode"], a["success"]) for a in attempts] == [
        ("ping", 503, False),
        ("ping", 200, True),
    ]
    state = await hooks.hook_state(user, hook["_id"])
    assert state["failureCount"] == 0  # pings do not count

    r = await hooks.client.patch(
        f"/api/v1/webhooks/{hook['_id']}", headers=user.headers, json={"url": "http://127.0.0.1:1/closed"}
    )
    assert r.status_code == 200
    r = await hooks.client.post(f"/api/v1/webhooks/{hook['_id']}/test", headers=user.headers)
    assert r.json()["statusCode"] is None and r.json()["error"].startswith("Connection failed")


async def test_secret_rotation_with_a_grace_period_signs_with_both(hooks, receiver):
    user = await hooks.user()
    hook = await hooks.webhook(user, receiver.url("/rot"), ["post.failed"])
    old = hook["secret"]
    path = f"/api/v1/webhooks/{hook['_id']}/regenerate-secret"
    new = (await hooks.client.post(path, headers=user.headers, json={"graceSeconds": 600})).json()["secret"]
    hooks.start_dispatcher()
    await hooks.emit(failed_event(user.id, "during grace", 1))
    [during] = await receiver.wait_for(1, "/rot")
    assert verify_signature(new, during.body, during.headers["X-PostPost-Signature"])
    assert not verify_signature(old, during.body, during.headers["X-PostPost-Signature"])
    assert verify_signature(old, during.body, during.headers["X-PostPost-Signature-Previous"])
    assert verify_delivery(new, during.headers, during.body) and verify_delivery(
        old, during.headers, during.body
    )

    async with hooks.database.session() as session:  # the grace period has ended
        await session.execute(
            update(Webhook)
            .where(Webhook.id == hook["_id"])
            .values(previous_secret_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        await session.commit()
    await hooks.emit(failed_event(user.id, "after grace", 2))
    after = (await receiver.wait_for(2, "/rot"))[1]
    assert verify_signature(new, after.body, after.headers["X-PostPost-Signature"])
    assert "X-PostPost-Signature-Previous" not in after.headers
    assert not verify_delivery(old, after.headers, after.body)

    newest = (await hooks.client.post(path, headers=user.headers)).json()["secret"]  # no grace
    await hooks.emit(failed_event(user.id, "no grace", 3))
    last = (await receiver.wait_for(3, "/rot"))[2]
    assert verify_signature(newest, last.body, last.headers["X-PostPost-Signature"])
    assert not verify_signature(new, last.body, last.headers["X-PostPost-Signature"])
    assert "X-PostPost-Signature-Previous" not in last.headers
