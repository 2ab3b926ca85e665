"""Events: stored in the causing transaction, numbered in commit order per tenant, listed by
`GET /api/v1/events`, and fanned out to the subscribed active webhooks as deliveries."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import select

from postpost.db.models import Event, WebhookDelivery
from postpost.services import events
from tests.webhooks.conftest import PUBLIC_IP

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HOOK_URL = f"https://{PUBLIC_IP}/hook"


def expiring(user_id: str, n: int) -> events.NewEvent:
    return events.token_expiring(
        user_id=user_id,
        platform="instagram",
        platform_id=f"instagram-{n}",
        username=f"account{n}",
        expires_at=AT,
        at=AT,
    )


async def emit(database, *new: events.NewEvent) -> None:
    async with database.session() as session:
        await events.emit(session, list(new))
        await session.commit()


async def listed(client, user, **params) -> dict:
    r = await client.get("/api/v1/events", headers=user.headers, params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_events_are_listed_in_order_and_paged_with_after(client, make_user, database):
    user, other = await make_user(), await make_user()
    await emit(database, expiring(user.id, 0), expiring(other.id, 100), expiring(user.id, 1))
    await emit(database, *(expiring(user.id, n) for n in range(2, 7)))
    page = await listed(client, user, limit=4)
    assert page["success"] is True and page["hasMore"] is True
    ids = [e["_id"] for e in page["events"]]
    assert [e["data"]["platformId"] for e in page["events"]] == [f"instagram-{n}" for n in range(4)]
    first = page["events"][0]
    assert list(first) == ["_id", "event", "timestamp", "data"]
    assert first["event"] == "token.expiring" and first["timestamp"] == "2026-03-01T12:00:00.000Z"
    assert first["data"] == {
        "platform": "instagram",
        "platformId": "instagram-0",
        "username": "account0",
        "expiresAt": "2026-03-01T12:00:00.000Z",
    }
    rest = await listed(client, user, after=ids[-1], limit=100)
    assert [e["data"]["platformId"] for e in rest["events"]] == ["instagram-4", "instagram-5", "instagram-6"]
    assert rest["hasMore"] is False
    assert (await listed(client, user, after=rest["events"][-1]["_id"])) == {
        "success": True,
        "events": [],
        "hasMore": False,
    }
    theirs = await listed(client, other)
    assert [e["data"]["platformId"] for e in theirs["events"]] == ["instagram-100"]
    for after in (theirs["events"][0]["_id"], "0" * 24, "not-an-id"):
        r = await client.get("/api/v1/events", headers=user.headers, params={"after": after})
        assert (r.status_code, r.json()) == (404, {"error": "Event not found"})
    clamped = await listed(client, user, limit=0)
    assert len(clamped["events"]) == 1
    assert len((await listed(client, user, limit="many"))["events"]) == 7


async def test_numbers_follow_commit_order(client, make_user, database):
    """A second transaction cannot number (or commit) its event before a first, uncommitted one:
    a reader paging with `after` therefore never skips an event that commits late."""
    user = await make_user()
    first = database.session()
    await events.emit(first, [expiring(user.id, 1)])

    async def second() -> None:
        await emit(database, expiring(user.id, 2))

    waiting = asyncio.create_task(second())
    await asyncio.sleep(0.3)
    assert not waiting.done(), "the second emit did not wait for the first transaction"
    async with database.session() as reader:  # (the API would write: its key's last use)
        assert list(await reader.scalars(select(Event.id).where(Event.user_id == user.id))) == []
    await first.commit()
    await first.close()
    await asyncio.wait_for(waiting, 30)
    got = await listed(client, user)
    assert [e["data"]["platformId"] for e in got["events"]] == ["instagram-1", "instagram-2"]


async def test_a_rolled_back_change_leaves_no_event(make_user, database, client):
    user = await make_user()
    async with database.session() as session:
        await events.emit(session, [expiring(user.id, 1)])
        await session.rollback()
    await emit(database, expiring(user.id, 2))
    got = await listed(client, user)
    assert [e["data"]["platformId"] for e in got["events"]] == ["instagram-2"]


async def test_deliveries_go_to_active_subscribed_webhooks_only(client, make_user, database):
    user, other = await make_user(), await make_user()

    async def hook(owner, events_: list[str], active: bool = True) -> str:
        r = await client.post(
            "/api/v1/webhooks", headers=owner.headers, json={"name": "h", "url": HOOK_URL, "events": events_}
        )
        assert r.status_code == 201, r.text
        hook_id = str(r.json()["webhook"]["_id"])
        if not active:
            r = await client.patch(
                f"/api/v1/webhooks/{hook_id}", headers=owner.headers, json={"isActive": False}
            )
            assert r.status_code == 200
        return hook_id

    subscribed = await hook(user, ["token.expiring", "post.failed"])
    await hook(user, ["post.published"])
    await hook(user, ["token.expiring"], active=False)
    await hook(other, ["token.expiring"])
    await emit(database, expiring(user.id, 1), expiring(user.id, 2))
    async with database.session() as session:
        mine = (
            await session.execute(
                select(WebhookDelivery.webhook_id, WebhookDelivery.status, Event.name)
                .join(Event, Event.id == WebhookDelivery.event_id)
                .where(WebhookDelivery.user_id == user.id)
            )
        ).all()
        theirs = await session.scalars(select(WebhookDelivery.id).where(WebhookDelivery.user_id == other.id))
        assert list(theirs) == []
    assert sorted(mine) == [(subscribed, "pending", "token.expiring")] * 2


async def test_scheduling_emits_post_scheduled_per_platform_post(client, make_user, make_connection):
    user = await make_user()
    first, second = await make_connection(user), await make_connection(user)
    r = await client.post(
        "/api/v1/create-post",
        headers=user.headers,
        json={"content": "draft first", "platforms": [first, second]},
    )
    group_id = r.json()["postGroupId"]
    assert (await listed(client, user))["events"] == []  # a draft is not scheduled
    r = await client.put(
        f"/api/v1/update-post/{group_id}",
        headers=user.headers,
        json={"status": "scheduled", "scheduledTime": "2031-05-01T08:00:00Z"},
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        "/api/v1/create-post",
        headers=user.headers,
        json={"content": "scheduled", "platforms": [first], "scheduledTime": "2031-06-01T09:30:00.5Z"},
    )
    other_group = r.json()["postGroupId"]
    got = (await listed(client, user))["events"]
    posts = (await client.get(f"/api/v1/get-post/{group_id}", headers=user.headers)).json()["posts"]
    other_posts = (await client.get(f"/api/v1/get-post/{other_group}", headers=user.headers)).json()["posts"]
    assert [e["event"] for e in got] == ["post.scheduled"] * 3
    assert [e["data"] for e in got] == [
        *(
            {
                "postId": p["_id"],
                "postGroupId": group_id,
                "platform": "mastodon",
                "scheduledAt": "2031-05-01T08:00:00.000Z",
            }
            for p in sorted(posts, key=lambda p: p["_id"])
        ),
        {
            "postId": other_posts[0]["_id"],
            "postGroupId": other_group,
            "platform": "mastodon",
            "scheduledAt": "2031-06-01T09:30:00.500Z",
        },
    ]
    assert [list(e["data"]) for e in got] == [["postId", "postGroupId", "platform", "scheduledAt"]] * 3
