"""Atomic claiming of due platform posts with a lease, and the next due time.

PostgreSQL: `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING`, so any number of
workers on any number of hosts share the queue. SQLite: the same statement without the lock
clause; SQLite's single writer makes it atomic.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import Post, PostGroup
from postpost.services.post_logs import log_event

QUEUED = ("scheduled", "pending")


@dataclass(frozen=True)
class Claim:
    """A platform post (or the first unpublished part of a thread) this worker now holds."""

    post_id: str
    group_id: str
    lease_token: str
    attempts: int


async def claim_due(
    session: AsyncSession, *, now: datetime, limit: int, lease: timedelta, worker_id: str
) -> list[Claim]:
    """Claim up to `limit` posts that are due, or whose holder's lease expired; commit."""
    if limit <= 0:
        return []
    token = secrets.token_hex(8)
    is_pg = session.bind.dialect.name == "postgresql"
    due = (
        select(Post.id)
        .where(
            or_(
                Post.status.in_(QUEUED) & (Post.due_at <= now),
                (Post.status == "processing") & (Post.lease_expires_at < now),
            )
        )
        .order_by(Post.due_at)
        .limit(limit)
    )
    if is_pg:
        due = due.with_for_update(skip_locked=True)
    rows = (
        await session.execute(
            update(Post)
            .where(Post.id.in_(due.scalar_subquery()))
            .values(
                status="processing",
                lease_token=token,
                lease_expires_at=now + lease,
                attempts=Post.attempts + 1,
                updated_at=now,
            )
            .returning(Post.id, Post.group_id, Post.attempts, Post.platform)
            .execution_options(synchronize_session=False)
        )
    ).all()
    if not rows:
        await session.rollback()
        return []
    group_ids = sorted({row.group_id for row in rows})
    started = (
        (
            await session.execute(
                update(PostGroup)
                .where(PostGroup.id.in_(group_ids), PostGroup.processing_status == "pending")
                .values(processing_status="processing", updated_at=now)
                .returning(PostGroup.id)
                .execution_options(synchronize_session=False)
            )
        )
        .scalars()
        .all()
    )
    for group_id in started:
        log_event(session, group_id, "processing", details={"worker": worker_id})
    for row in rows:
        log_event(
            session,
            row.group_id,
            "processing",
            post_id=row.id,
            platform=row.platform,
            retry_count=row.attempts - 1 if row.attempts > 1 else None,
        )
    await session.commit()
    return [Claim(row.id, row.group_id, token, row.attempts) for row in rows]


async def next_due_time(session: AsyncSession) -> datetime | None:
    """The earliest moment any queued post becomes due or any lease expires."""
    queued = await session.scalar(select(func.min(Post.due_at)).where(Post.status.in_(QUEUED)))
    leased = await session.scalar(select(func.min(Post.lease_expires_at)).where(Post.status == "processing"))
    candidates = [moment for moment in (queued, leased) if moment is not None]
    return min(candidates) if candidates else None
