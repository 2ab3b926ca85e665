"""Tenant events (transactional outbox): written in the transaction of the change that causes them.

`emit(session, events)` stores each event with the next number of its user's sequence and one
delivery row per active webhook of that user subscribed to it; it never commits. The sequence
row of each user is locked until the caller commits, so a user's events are numbered in commit
order and `GET /events?after=` can never skip one that commits late.

Payloads follow the contract (field order included):
post.scheduled {postId, postGroupId, platform, scheduledAt}; post.published {postId, postGroupId,
platform, publishedAt}; post.failed {postId, postGroupId, platform, error {code, message},
failedAt}; token.expiring {platform, platformId, username, expiresAt}.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import Event, EventSequence, Post, Webhook, WebhookDelivery
from postpost.db.session import dialect_name
from postpost.db.signals import WEBHOOKS
from postpost.errors import NotFound
from postpost.ids import is_object_id, iso, new_id, utcnow
from postpost.services.webhook_signing import envelope

EVENT_NAMES = ("post.scheduled", "post.published", "post.failed", "token.expiring")
EVENTS = cast(Table, Event.__table__)
DELIVERIES = cast(Table, WebhookDelivery.__table__)


@dataclass(frozen=True)
class NewEvent:
    """An event to store: `data` is kept in its insertion order (the payload's field order)."""

    user_id: str
    name: str
    data: dict[str, Any]
    occurred_at: datetime


def post_scheduled(
    *, user_id: str, post_id: str, group_id: str, platform: str, scheduled_at: datetime, at: datetime
) -> NewEvent:
    data = {
        "postId": post_id,
        "postGroupId": group_id,
        "platform": platform,
        "scheduledAt": iso(scheduled_at),
    }
    return NewEvent(user_id, "post.scheduled", data, at)


def post_published(
    *, user_id: str, post_id: str, group_id: str, platform: str, published_at: datetime
) -> NewEvent:
    data = {
        "postId": post_id,
        "postGroupId": group_id,
        "platform": platform,
        "publishedAt": iso(published_at),
    }
    return NewEvent(user_id, "post.published", data, published_at)


def post_failed(
    *, user_id: str, post_id: str, group_id: str, platform: str, code: str, message: str, failed_at: datetime
) -> NewEvent:
    data = {
        "postId": post_id,
        "postGroupId": group_id,
        "platform": platform,
        "error": {"code": code, "message": message},
        "failedAt": iso(failed_at),
    }
    return NewEvent(user_id, "post.failed", data, failed_at)


def token_expiring(
    *, user_id: str, platform: str, platform_id: str, username: str | None, expires_at: datetime, at: datetime
) -> NewEvent:
    """For the token-upkeep job: a connection's token expires soon (`platform_id` is the compound id)."""
    data = {
        "platform": platform,
        "platformId": platform_id,
        "username": username,
        "expiresAt": iso(expires_at),
    }
    return NewEvent(user_id, "token.expiring", data, at)


async def emit(session: AsyncSession, events: Sequence[NewEvent]) -> None:
    """Store `events` and their deliveries in the caller's transaction (no commit)."""
    if not events:
        return
    now = utcnow()
    by_user: dict[str, list[NewEvent]] = {}
    for item in events:
        by_user.setdefault(item.user_id, []).append(item)
    rows: list[dict[str, Any]] = []
    for user_id in sorted(by_user):  # one lock order for every writer
        batch = by_user[user_id]
        first = await _allocate(session, user_id, len(batch)) - len(batch) + 1
        rows += [
            {
                "id": new_id(),
                "user_id": user_id,
                "seq": first + offset,
                "name": item.name,
                "payload": envelope(item.name, iso(item.occurred_at) or "", item.data),
                "created_at": now,
            }
            for offset, item in enumerate(batch)
        ]
    await session.execute(insert(EVENTS), rows)
    hooks = (
        await session.execute(
            select(Webhook.id, Webhook.user_id, Webhook.events).where(
                Webhook.user_id.in_(list(by_user)), Webhook.is_active.is_(True)
            )
        )
    ).all()
    deliveries = [
        {
            "id": new_id(),
            "webhook_id": hook.id,
            "user_id": row["user_id"],
            "event_id": row["id"],
            "status": "pending",
            "attempts": 0,
            "due_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for row in rows
        for hook in hooks
        if hook.user_id == row["user_id"] and row["name"] in hook.events
    ]
    if deliveries:
        await session.execute(insert(DELIVERIES), deliveries)
        await WEBHOOKS.announce(session)


async def _allocate(session: AsyncSession, user_id: str, count: int) -> int:
    """Reserve `count` sequence numbers for the user; returns the last one. Locks the row."""
    dialect = postgresql if dialect_name(session) == "postgresql" else sqlite
    statement = dialect.insert(EventSequence).values(user_id=user_id, last_seq=count)
    statement = statement.on_conflict_do_update(
        index_elements=["user_id"], set_={"last_seq": EventSequence.last_seq + count}
    ).returning(EventSequence.last_seq)
    return int((await session.execute(statement)).scalar_one())


async def emit_post_scheduled(
    session: AsyncSession, *, user_id: str, group_id: str, scheduled_at: datetime
) -> None:
    """post.scheduled for every platform post of the group that is now scheduled (no commit)."""
    posts = await session.execute(
        select(Post.id, Post.platform)
        .where(Post.group_id == group_id, Post.status == "scheduled", Post.thread_index == 0)
        .order_by(Post.id)
    )
    now = utcnow()
    await emit(
        session,
        [
            post_scheduled(
                user_id=user_id,
                post_id=post_id,
                group_id=group_id,
                platform=platform,
                scheduled_at=scheduled_at,
                at=now,
            )
            for post_id, platform in posts
        ],
    )


async def list_events(
    session: AsyncSession, user_id: str, *, after: str | None, limit: int
) -> dict[str, Any]:
    """The user's events in order, after the event `after` (from the first when None)."""
    start = 0
    if after is not None:
        found = (
            await session.scalar(select(Event.seq).where(Event.id == after.lower(), Event.user_id == user_id))
            if is_object_id(after)
            else None
        )
        if found is None:
            raise NotFound("Event not found")
        start = found
    rows = list(
        await session.execute(
            select(Event.id, Event.payload)
            .where(Event.user_id == user_id, Event.seq > start)
            .order_by(Event.seq)
            .limit(limit + 1)
        )
    )
    return {
        "success": True,
        "events": [{"_id": event_id, **json.loads(payload)} for event_id, payload in rows[:limit]],
        "hasMore": len(rows) > limit,
    }
