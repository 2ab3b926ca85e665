"""Atomic claiming of due platform posts with a lease, lease renewal, and the next due time.

PostgreSQL: `UPDATE … WHERE id IN (SELECT … FOR NO KEY UPDATE SKIP LOCKED) RETURNING`, so any
number of workers on any number of hosts share the queue. SQLite: the same statement without the
lock clause; SQLite's single writer makes it atomic. The caller commits the claim before any
network call. A post whose account is on hold (the platform asked us to wait) is not claimed.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, exists, func, or_, select, true, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import Connection, Post, PostGroup
from postpost.db.session import dialect_name
from postpost.services.post_logs import insert_logs, log_row

QUEUED = ("scheduled", "pending")


@dataclass(frozen=True)
class Claim:
    """A platform post (or the first unpublished part of a thread) this worker now holds.

    `unsure`: an earlier attempt may have reached the platform without its outcome being
    recorded (a timeout, or the previous holder died). `step_state`: what a multi-step publish
    left for its next step.
    """

    post_id: str
    group_id: str
    lease_token: str
    attempts: int
    retry_count: int
    user_id: str
    connection_id: str | None
    platform: str
    account_id: str
    content: str
    head_post_id: str | None
    thread_index: int
    idempotency_key: str
    step_state: dict[str, Any] | None
    unsure: bool
    first_attempt_at: datetime

    @property
    def may_have_parts(self) -> bool:
        """A thread part, or a head tried before (its first attempt may have split it)."""
        return self.head_post_id is not None or self.attempts > 1


async def claim_due(
    session: AsyncSession,
    *,
    now: datetime,
    limit: int,
    lease: timedelta,
    worker_id: str,
    exclude: Collection[str] = (),
) -> list[Claim]:
    """Claim up to `limit` due posts (or posts whose holder's lease expired). Does not commit.

    `exclude` are posts this worker already holds: it never claims its own in-flight posts.
    """
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
            ),
            ~_on_hold(now),
        )
        .order_by(Post.due_at)
        .limit(limit)
    )
    if exclude:
        due = due.where(Post.id.not_in(list(exclude)))
    if is_pg:
        due = due.with_for_update(skip_locked=True, key_share=True, of=Post)
    rows = (
        await session.execute(
            update(Post)
            .where(Post.id.in_(due.scalar_subquery()))
            .values(
                status="processing",
                lease_token=token,
                lease_expires_at=now + lease,
                attempts=Post.attempts + 1,
                # a lease still set means its holder died mid-publish: the outcome is unknown
                unsure=case((Post.lease_token.is_not(None), true()), else_=Post.unsure),
                first_attempt_at=func.coalesce(Post.first_attempt_at, now),
                updated_at=now,
            )
            .returning(
                Post.id,
                Post.group_id,
                Post.attempts,
                Post.retry_count,
                Post.user_id,
                Post.connection_id,
                Post.platform,
                Post.account_id,
                Post.content,
                Post.head_post_id,
                Post.thread_index,
                Post.idempotency_key,
                Post.step_state,
                Post.unsure,
                Post.first_attempt_at,
            )
            .execution_options(synchronize_session=False)
        )
    ).all()
    if not rows:
        return []
    claims = [
        Claim(
            post_id=row.id,
            group_id=row.group_id,
            lease_token=token,
            attempts=row.attempts,
            retry_count=row.retry_count,
            user_id=row.user_id,
            connection_id=row.connection_id,
            platform=row.platform,
            account_id=row.account_id,
            content=row.content,
            head_post_id=row.head_post_id,
            thread_index=row.thread_index,
            idempotency_key=row.idempotency_key,
            step_state=row.step_state,
            unsure=bool(row.unsure),
            first_attempt_at=row.first_attempt_at,
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
            retry_count=c.retry_count or None,
            at=now,
        )
        for c in claims
        if c.step_state is None
    ]
    await insert_logs(session, logs)
    return claims


async def release(session: AsyncSession, deferred: Sequence[tuple[Claim, datetime]]) -> None:
    """Give claimed posts back untried, due again at the given times (pacing had no budget)."""
    for claim, due in deferred:
        await session.execute(
            update(Post)
            .where(Post.id == claim.post_id, Post.lease_token == claim.lease_token)
            .values(
                status="pending",
                due_at=due,
                lease_token=None,
                lease_expires_at=None,
                attempts=Post.attempts - 1,
            )
            .execution_options(synchronize_session=False)
        )


async def renew_leases(session: AsyncSession, held: Sequence[tuple[str, str]], until: datetime) -> int:
    """Extend the leases this worker still holds (post id, lease token); commits. Returns how many."""
    if not held:
        return 0
    result = await session.execute(
        update(Post)
        .where(tuple_(Post.id, Post.lease_token).in_(list(held)), Post.status == "processing")
        .values(lease_expires_at=until)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]


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


async def next_due_time(session: AsyncSession, now: datetime) -> datetime | None:
    """The earliest moment a queued post becomes claimable or a lease expires.

    One `min()` per status, each answered from the (status, due_at) index; posts of an account
    on hold count from the end of the hold instead.
    """
    free = ~_on_hold(now)
    moments = [
        await session.scalar(select(func.min(Post.due_at)).where(Post.status == status, free))
        for status in QUEUED
    ]
    moments.append(
        await session.scalar(select(func.min(Post.lease_expires_at)).where(Post.status == "processing"))
    )
    moments.append(
        await session.scalar(select(func.min(Connection.hold_until)).where(Connection.hold_until > now))
    )
    found = [moment for moment in moments if moment is not None]
    return min(found) if found else None


def _on_hold(now: datetime) -> Any:
    return exists().where(Connection.id == Post.connection_id, Connection.hold_until > now)
