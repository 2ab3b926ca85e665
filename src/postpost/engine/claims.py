"""Atomic claiming of due platform posts with a lease, and the next due time.

PostgreSQL: `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING`, so any number of
workers on any number of hosts share the queue. SQLite: the same statement without the lock
clause; SQLite's single writer makes it atomic. The claim commits before any network call.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import Post, PostGroup
from postpost.db.session import dialect_name
from postpost.services.post_logs import insert_logs, log_row

QUEUED = ("scheduled", "pending")


@dataclass(frozen=True)
class Claim:
    """A platform post (or the first unpublished part of a thread) this worker now holds."""

    post_id: str
    group_id: str
    lease_token: str
    attempts: int
    user_id: str
    connection_id: str | None
    platform: str
    account_id: str
    content: str
    head_post_id: str | None
    thread_index: int
    idempotency_key: str

    @property
    def may_have_parts(self) -> bool:
        """A thread part, or a head retried after an earlier attempt (which may have split it)."""
        return self.head_post_id is not None or self.attempts > 1


async def claim_due(
    session: AsyncSession, *, now: datetime, limit: int, lease: timedelta, worker_id: str
) -> list[Claim]:
    """Claim up to `limit` posts that are due, or whose holder's lease expired; commit."""
    if limit <= 0:
        return []
    token = secrets.token_hex(8)
    is_pg = dialect_name(session) == "postgresql"
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
        due = due.with_for_update(skip_locked=True, key_share=True)
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
            .returning(
                Post.id,
                Post.group_id,
                Post.attempts,
                Post.user_id,
                Post.connection_id,
                Post.platform,
                Post.account_id,
                Post.content,
                Post.head_post_id,
                Post.thread_index,
                Post.idempotency_key,
            )
            .execution_options(synchronize_session=False)
        )
    ).all()
    if not rows:
        await session.rollback()
        return []
    claims = [
        Claim(
            row.id,
            row.group_id,
            token,
            row.attempts,
            row.user_id,
            row.connection_id,
            row.platform,
            row.account_id,
            row.content,
            row.head_post_id,
            row.thread_index,
            row.idempotency_key,
        )
        for row in rows
    ]
    started = await _start_groups(session, sorted({c.group_id for c in claims}), now, is_pg)
    logs = [log_row(group_id, "processing", details={"worker": worker_id}, at=now) for group_id in started]
    logs += [
        log_row(
            c.group_id,
            "processing",
            post_id=c.post_id,
            platform=c.platform,
            retry_count=c.attempts - 1 if c.attempts > 1 else None,
            at=now,
        )
        for c in claims
    ]
    await insert_logs(session, logs)
    await session.commit()
    return claims


async def _start_groups(session: AsyncSession, group_ids: list[str], now: datetime, is_pg: bool) -> list[str]:
    """Mark groups `processing`; a group locked by a concurrent update-post is skipped, not waited for."""
    pending = select(PostGroup.id).where(
        PostGroup.id.in_(group_ids), PostGroup.processing_status == "pending"
    )
    if is_pg:
        pending = pending.with_for_update(skip_locked=True, key_share=True)
    result = await session.execute(
        update(PostGroup)
        .where(PostGroup.id.in_(pending.scalar_subquery()))
        .values(processing_status="processing", updated_at=now)
        .returning(PostGroup.id)
        .execution_options(synchronize_session=False)
    )
    return list(result.scalars())


async def next_due_time(session: AsyncSession) -> datetime | None:
    """The earliest moment any queued post becomes due or any lease expires.

    One `min()` per status, so each is answered from the (status, due_at) index alone.
    """
    moments = [
        await session.scalar(select(func.min(Post.due_at)).where(Post.status == status)) for status in QUEUED
    ]
    moments.append(
        await session.scalar(select(func.min(Post.lease_expires_at)).where(Post.status == "processing"))
    )
    found = [moment for moment in moments if moment is not None]
    return min(found) if found else None
