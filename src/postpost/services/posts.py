"""Post groups: create, read, reschedule or pause, delete (the PostPost v1 post endpoints)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import Media, Post, PostGroup, PostLog
from postpost.db.wakeup import announce_due
from postpost.errors import InvalidInput
from postpost.ids import iso, utcnow
from postpost.services import events
from postpost.services.auth import Principal
from postpost.services.connections import connections_by_compound_id
from postpost.services.limits import assert_can_schedule, assert_platforms_allowed
from postpost.services.post_input import parse_create_post
from postpost.services.post_logs import log_event
from postpost.services.scoping import load_group
from postpost.services.timefmt import parse_scheduled_time

EDITABLE = ("draft", "scheduled")


async def create_post(session: AsyncSession, principal: Principal, body: Any) -> str:
    """Validate, check connections and limits, store the group and its platform posts."""
    new = parse_create_post(body)
    connections = await connections_by_compound_id(session, principal.user_id, new.platform_ids)
    for platform_id in new.platform_ids:
        if platform_id not in connections:
            raise InvalidInput(f"Platform connection not found: {platform_id}")
    assert_platforms_allowed(principal.entitlements, new.platform_ids)
    now = utcnow()
    scheduled_time = max(new.scheduled_time, now) if new.scheduled_time else None
    status = "scheduled" if scheduled_time else "draft"
    if scheduled_time:
        await assert_can_schedule(session, principal, new.platform_ids, scheduled_time, now)
    group = PostGroup(
        user_id=principal.user_id,
        content=new.content,
        platforms=new.platform_ids,
        status=status,
        processing_status="pending",
        scheduled_time=scheduled_time,
        platform_settings=new.platform_settings,
        created_at=now,
        updated_at=now,
    )
    session.add(group)
    await session.flush()
    posts = [
        Post(
            group_id=group.id,
            user_id=principal.user_id,
            connection_id=connections[pid].id,
            platform=connections[pid].platform,
            account_id=connections[pid].account_id,
            content=new.content,
            status=status,
            due_at=scheduled_time,
            created_at=now,
            updated_at=now,
        )
        for pid in new.platform_ids
    ]
    session.add_all(posts)
    await session.flush()
    if scheduled_time:
        for post in posts:
            log_event(
                session,
                group.id,
                "scheduled",
                post_id=post.id,
                platform=post.platform,
                details={"scheduledTime": iso(scheduled_time)},
            )
        await announce_due(session)
        await events.emit_post_scheduled(
            session, user_id=principal.user_id, group_id=group.id, scheduled_at=scheduled_time
        )
    await session.commit()
    return group.id


def post_view(post: Post) -> dict[str, Any]:
    """A get-post entry: raw platformId; `postedId`/`error` absent until set."""
    view: dict[str, Any] = {
        "_id": post.id,
        "platform": post.platform,
        "platformId": post.account_id,
        "content": post.content,
        "status": post.status,
    }
    if post.posted_id is not None:
        view["postedId"] = post.posted_id
    if post.error:
        view["error"] = dict(post.error)
    return view


async def get_post(session: AsyncSession, principal: Principal, group_id: str) -> dict[str, Any]:
    group = await load_group(session, principal, group_id)
    posts = await session.scalars(select(Post).where(Post.group_id == group.id))
    order = {pid: i for i, pid in enumerate(group.platforms)}
    ordered = sorted(posts, key=lambda p: (order.get(f"{p.platform}-{p.account_id}", 0), p.thread_index))
    return {
        "success": True,
        "postGroupId": group.id,
        "status": group.status,
        "processingStatus": group.processing_status,
        "content": group.content,
        "scheduledTime": iso(group.scheduled_time),
        "posts": [post_view(p) for p in ordered],
    }


async def update_post(
    session: AsyncSession, principal: Principal, group_id: str, body: Any
) -> dict[str, Any]:
    """Reschedule, schedule a draft, or pause; refuses groups that are (being) published."""
    body = body if isinstance(body, dict) else {}
    status, raw_time = body.get("status") or None, body.get("scheduledTime") or None
    if status is None and raw_time is None:
        raise InvalidInput("Either status or scheduledTime must be provided")
    if status is not None and status not in EDITABLE:
        raise InvalidInput("Status must be either 'draft' or 'scheduled'")
    new_time = None
    if raw_time is not None:
        new_time = parse_scheduled_time(raw_time)
        if new_time is None:
            raise InvalidInput("Invalid scheduled time format")
    group = await load_group(session, principal, group_id, for_update=True)
    if group.status not in EDITABLE:
        raise InvalidInput(f"Cannot update post: post is currently in {group.status} status")
    if group.processing_status == "processing":
        raise InvalidInput("Cannot update post: post is currently in processing status")
    now = utcnow()
    target = status or group.status
    scheduled_time = max(new_time, now) if new_time else group.scheduled_time
    if target == "scheduled":
        scheduled_time = max(scheduled_time, now) if scheduled_time else now
        assert_platforms_allowed(principal.entitlements, group.platforms)
        await assert_can_schedule(
            session, principal, group.platforms, scheduled_time, now, exclude_group_id=group.id
        )
    changed = await session.execute(
        update(Post)
        .where(Post.group_id == group.id, Post.status.in_(EDITABLE))
        .values(status=target, due_at=scheduled_time if target == "scheduled" else None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    expected = await session.scalar(
        select(Post.id).where(Post.group_id == group.id, Post.status.not_in(EDITABLE))
    )
    if expected is not None or changed.rowcount == 0:  # type: ignore[attr-defined]
        await session.rollback()
        raise InvalidInput("Cannot update post: post is currently in processing status")
    previous = group.status
    group.status, group.scheduled_time, group.processing_status, group.updated_at = (
        target,
        scheduled_time,
        "pending",
        now,
    )
    if previous != target:
        log_event(session, group.id, "status_changed", details={"from": previous, "to": target})
    if target == "scheduled":
        log_event(session, group.id, "scheduled", details={"scheduledTime": iso(scheduled_time)})
        await announce_due(session)
        await events.emit_post_scheduled(
            session, user_id=group.user_id, group_id=group.id, scheduled_at=scheduled_time or now
        )
    await session.commit()
    reply: dict[str, Any] = {"_id": group.id, "status": group.status}
    if group.scheduled_time is not None:
        reply["scheduledTime"] = iso(group.scheduled_time)
    return {"success": True, "message": "Post updated successfully", "postGroup": reply}


async def delete_post(session: AsyncSession, principal: Principal, group_id: str) -> None:
    """Delete the group, its platform posts, media records and logs in one transaction."""
    group = await load_group(session, principal, group_id)
    for table in (Post, Media, PostLog):
        await session.execute(delete(table).where(table.group_id == group.id))
    await session.execute(delete(PostGroup).where(PostGroup.id == group.id))
    await session.commit()
