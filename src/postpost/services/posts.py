"""Post groups: create, read, reschedule or pause, delete (the PostPost v1 post endpoints).

Functions return domain values; `postpost.wire` shapes them into the documented bodies.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import Connection, Post, PostGroup, PostLog
from postpost.db.wakeup import announce_due
from postpost.errors import InvalidInput
from postpost.ids import iso, utcnow
from postpost.media.types import StoredMedia
from postpost.platforms.descriptor import PlatformDescriptor
from postpost.platforms.registry import descriptors
from postpost.services import events, media
from postpost.services.auth import Principal
from postpost.services.connections import connections_by_compound_id, split_platform_id
from postpost.services.content_rules import check_alt_texts, check_text, merge_settings
from postpost.services.limits import assert_can_schedule, assert_platforms_allowed
from postpost.services.media_rules import check_media
from postpost.services.post_input import NewPost, parse_alt_texts, parse_create_post
from postpost.services.post_logs import log_event
from postpost.services.scoping import load_group
from postpost.services.timefmt import parse_scheduled_time

EDITABLE = ("draft", "scheduled")
Prober = Callable[[StoredMedia], Awaitable[StoredMedia]]


@dataclass(frozen=True)
class PlatformPost:
    """One platform post (or thread part) of a group."""

    id: str
    platform: str
    account_id: str
    content: str
    status: str
    posted_id: str | None
    posted_url: str | None
    error: dict[str, Any] | None


@dataclass(frozen=True)
class GroupDetail:
    """A post group with its platform posts, in the order the client listed the platforms."""

    id: str
    status: str
    processing_status: str
    content: str
    scheduled_time: datetime | None
    posts: list[PlatformPost]
    alt_texts: list[str | None]
    media: list[StoredMedia]


@dataclass(frozen=True)
class UpdatedGroup:
    """What update-post changed."""

    id: str
    status: str
    scheduled_time: datetime | None


def _targets(platform_ids: list[str]) -> dict[str, PlatformDescriptor]:
    """The descriptors of the targeted platforms; InvalidInput for one that cannot publish."""
    known = descriptors()
    targets: dict[str, PlatformDescriptor] = {}
    for platform_id in platform_ids:
        name = split_platform_id(platform_id)[0]
        if name not in known:
            raise InvalidInput(f"Publishing to {name} is not supported: {platform_id}")
        targets[name] = known[name]
    return targets


def check_content(content: str, targets: dict[str, PlatformDescriptor], alt_texts: list[str | None]) -> None:
    """The targeted platforms' text and alt-text rules."""
    for platform in targets.values():
        check_text(content, platform)
    check_alt_texts(alt_texts, targets.values())


@dataclass(frozen=True)
class CheckedPost:
    """A create-post body that passed every check made before anything is stored."""

    new: NewPost
    connections: dict[str, Connection]
    targets: dict[str, PlatformDescriptor]
    settings: dict[str, dict[str, Any]]


async def check_new_post(session: AsyncSession, principal: Principal, body: Any) -> CheckedPost:
    """create-post's checks, in its order: body, connections, platforms, settings, content, plan.

    Raises the first failure (InvalidInput or LimitExceeded); writes nothing. The dashboard's
    composer preview calls it too, so both give the same answer.
    """
    new = parse_create_post(body)
    connections = await connections_by_compound_id(session, principal.user_id, new.platform_ids)
    for platform_id in new.platform_ids:
        if platform_id not in connections:
            raise InvalidInput(f"Platform connection not found: {platform_id}")
    targets = _targets(new.platform_ids)
    settings = merge_settings(new.platform_settings, descriptors(), targets)
    check_content(new.content, targets, new.alt_texts or [])
    assert_platforms_allowed(principal.entitlements, new.platform_ids)
    return CheckedPost(new, connections, targets, settings)


async def create_post(session: AsyncSession, principal: Principal, body: Any) -> str:
    """Validate, check connections, content and limits, store the group and its platform posts."""
    checked = await check_new_post(session, principal, body)
    new, connections, targets, settings = checked.new, checked.connections, checked.targets, checked.settings
    now = utcnow()
    scheduled_time = max(new.scheduled_time, now) if new.scheduled_time else None
    status = "scheduled" if scheduled_time else "draft"
    if scheduled_time:
        check_media([], list(targets.values()))  # a new group has no media yet
        await assert_can_schedule(session, principal, new.platform_ids, scheduled_time, now)
    group = PostGroup(
        user_id=principal.user_id,
        content=new.content,
        platforms=new.platform_ids,
        status=status,
        processing_status="pending",
        scheduled_time=scheduled_time,
        platform_settings=settings,
        alt_texts=new.alt_texts,
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


async def get_post(session: AsyncSession, principal: Principal, group_id: str) -> GroupDetail:
    return await group_detail(session, await load_group(session, principal, group_id))


async def group_detail(session: AsyncSession, group: PostGroup) -> GroupDetail:
    """A loaded group with its platform posts."""
    rows = await session.scalars(select(Post).where(Post.group_id == group.id))
    order = {pid: i for i, pid in enumerate(group.platforms)}
    ordered = sorted(rows, key=lambda p: (order.get(f"{p.platform}-{p.account_id}", 0), p.thread_index))
    return GroupDetail(
        id=group.id,
        status=group.status,
        processing_status=group.processing_status,
        content=group.content,
        scheduled_time=group.scheduled_time,
        posts=[
            PlatformPost(
                id=p.id,
                platform=p.platform,
                account_id=p.account_id,
                content=p.content,
                status=p.status,
                posted_id=p.posted_id,
                posted_url=p.posted_url,
                error=dict(p.error) if p.error else None,
            )
            for p in ordered
        ],
        alt_texts=list(group.alt_texts or []),
        media=(await media.media_for_groups(session, [group.id]))[group.id],
    )


async def update_post(
    session: AsyncSession, principal: Principal, group_id: str, body: Any, *, probe: Prober | None = None
) -> UpdatedGroup:
    """Reschedule, schedule a draft, or pause; refuses groups that are (being) published.

    `altTexts` may be sent as well (or alone) to replace the group's alt texts. Scheduling checks
    the group's media against every targeted platform; `probe` first reads uploads that were
    never probed (S3).
    """
    body = body if isinstance(body, dict) else {}
    status, raw_time = body.get("status") or None, body.get("scheduledTime") or None
    alt_texts = parse_alt_texts(body.get("altTexts"))
    if status is None and raw_time is None and alt_texts is None:
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
    targets = _targets(group.platforms)
    if alt_texts is not None:
        check_alt_texts(alt_texts, targets.values())
        group.alt_texts = alt_texts
    if status is None and raw_time is None:
        group.updated_at = utcnow()
        await session.commit()
        return UpdatedGroup(group.id, group.status, group.scheduled_time)
    now = utcnow()
    target = status or group.status
    scheduled_time = max(new_time, now) if new_time else group.scheduled_time
    if target == "scheduled":
        scheduled_time = max(scheduled_time, now) if scheduled_time else now
        check_content(group.content, targets, list(group.alt_texts or []))
        stored = (await media.media_for_groups(session, [group.id]))[group.id]
        if probe is not None:
            stored = [await probe(item) for item in stored]
        check_media(stored, list(targets.values()), list(group.alt_texts or []))
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
    return UpdatedGroup(group.id, group.status, group.scheduled_time)


async def delete_post(session: AsyncSession, principal: Principal, group_id: str) -> list[media.RemovedMedia]:
    """Delete the group, its platform posts, media records and logs in one transaction.

    Returns the media whose files the caller removes after the commit (`media.remove_files`).
    """
    group = await load_group(session, principal, group_id)
    removed = await media.delete_group_media(session, group.id)
    for table in (Post, PostLog):
        await session.execute(delete(table).where(table.group_id == group.id))
    await session.execute(delete(PostGroup).where(PostGroup.id == group.id))
    await session.commit()
    return removed
