"""Writing publish outcomes: platform post rows, thread parts, logs, connection health, group roll-up.

Many outcomes are written in one transaction. Every write to a claimed row is guarded by its
lease token, so a worker that lost its lease (and whose post another worker took over) writes
nothing. Groups deleted mid-publish are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import Connection, Post, PostGroup
from postpost.engine.publisher import Outcome
from postpost.engine.retry import next_attempt_at, should_retry
from postpost.ids import iso, utcnow
from postpost.platforms.base import PlatformError
from postpost.services.post_logs import log_event

TERMINAL = ("published", "failed")


def error_object(error: PlatformError, failed_at: datetime, *, message: str | None = None) -> dict[str, Any]:
    """The documented per-platform error object; `platformStatusCode` absent when unknown."""
    body: dict[str, Any] = {"code": error.code.value, "message": message or error.message}
    if error.status is not None:
        body["platformStatusCode"] = error.status
    body.update(platformError=error.platform_error, failedAt=iso(failed_at), retryable=error.retryable)
    return body


class Recorder:
    """Writes batches of outcomes. `max_attempts` and backoff come from settings."""

    def __init__(self, *, max_attempts: int, retry_base_seconds: float, retry_max_seconds: float) -> None:
        self.max_attempts = max_attempts
        self.retry_base = retry_base_seconds
        self.retry_max = retry_max_seconds

    async def record(self, session: AsyncSession, outcomes: Sequence[Outcome]) -> None:
        now = utcnow()
        group_ids = sorted({o.item.group_id for o in outcomes})
        if session.bind.dialect.name == "postgresql":
            await session.execute(
                select(PostGroup.id)
                .where(PostGroup.id.in_(group_ids))
                .order_by(PostGroup.id)
                .with_for_update()
            )
        kept = [o for o in outcomes if await self._claimed_row(session, o, now)]
        existing = set(await session.scalars(select(PostGroup.id).where(PostGroup.id.in_(group_ids))))
        kept = [o for o in kept if o.item.group_id in existing]
        for outcome in kept:
            await self._parts_and_logs(session, outcome, now)
        await self._connections(session, kept, now)
        await session.flush()
        await roll_up(session, sorted({o.item.group_id for o in kept}), now)
        await session.commit()

    def _retrying(self, outcome: Outcome) -> bool:
        return outcome.error is not None and should_retry(
            outcome.error, outcome.item.claim.attempts, self.max_attempts
        )

    def _state(self, outcome: Outcome, position: int, now: datetime) -> dict[str, Any]:
        """Column values for part `position` of the outcome."""
        part = outcome.parts[position]
        failed = outcome.failed_index
        base: dict[str, Any] = {"lease_token": None, "lease_expires_at": None, "updated_at": now}
        if part.published is not None and (failed is None or position < failed):
            return {
                **base,
                "status": "published",
                "posted_id": part.published.remote_id,
                "posted_url": part.published.url,
                "remote_ref": dict(part.published.ref) or None,
                "published_at": outcome.finished_at,
                "error": None,
                "due_at": None,
            }
        assert outcome.error is not None and failed is not None
        if self._retrying(outcome):
            due = next_attempt_at(
                outcome.error,
                outcome.item.claim.attempts,
                now,
                base_seconds=self.retry_base,
                max_seconds=self.retry_max,
            )
            return {**base, "status": "pending", "due_at": due if position == failed else None}
        message = (
            None
            if position == failed
            else (f"Not published: part {failed + 1} of the thread failed ({outcome.error.message})")
        )
        return {
            **base,
            "status": "failed",
            "due_at": None,
            "error": error_object(outcome.error, outcome.finished_at, message=message),
        }

    async def _claimed_row(self, session: AsyncSession, outcome: Outcome, now: datetime) -> bool:
        claim = outcome.item.claim
        values = self._state(outcome, 0, now)
        if outcome.item.is_new_chain:
            values["content"] = outcome.parts[0].text
        if values["status"] == "pending":
            values["retry_count"] = Post.retry_count + 1
        result = await session.execute(
            update(Post)
            .where(Post.id == claim.post_id, Post.lease_token == claim.lease_token)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def _parts_and_logs(self, session: AsyncSession, outcome: Outcome, now: datetime) -> None:
        item = outcome.item
        for position in range(1, len(outcome.parts)):
            part = outcome.parts[position]
            values = self._state(outcome, position, now)
            if part.id is None:
                session.add(
                    Post(
                        group_id=item.group_id,
                        user_id=item.user_id,
                        connection_id=item.connection_id,
                        platform=item.platform,
                        account_id=item.account_id,
                        content=part.text,
                        thread_index=part.index,
                        head_post_id=item.head_id,
                        idempotency_key=part.idempotency_key,
                        created_at=now,
                        **values,
                    )
                )
            else:
                await session.execute(
                    update(Post)
                    .where(Post.id == part.id)
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
        retry_count = item.claim.attempts - 1 or None
        for attempt in outcome.attempts:
            log_event(
                session,
                item.group_id,
                "publish_attempted",
                post_id=item.claim.post_id,
                platform=item.platform,
                retry_count=retry_count,
                details={"part": attempt.index + 1, "reconciled": attempt.reconciled},
                at=attempt.started_at,
            )
        if outcome.error is None:
            log_event(
                session,
                item.group_id,
                "publish_succeeded",
                post_id=item.claim.post_id,
                platform=item.platform,
                retry_count=retry_count,
                details={
                    "postedId": outcome.parts[0].published.remote_id if outcome.parts[0].published else None,
                    "parts": len(outcome.parts),
                },
                at=outcome.finished_at,
            )
        else:
            log_event(
                session,
                item.group_id,
                "publish_failed",
                post_id=item.claim.post_id,
                platform=item.platform,
                error=outcome.error.message,
                http_status=outcome.error.status,
                retry_count=retry_count,
                details={
                    "errorCode": outcome.error.code.value,
                    "retryable": outcome.error.retryable,
                    "willRetry": self._retrying(outcome),
                },
                at=outcome.finished_at,
            )

    async def _connections(self, session: AsyncSession, outcomes: Sequence[Outcome], now: datetime) -> None:
        successes: set[str] = set()
        errors: dict[str, dict[str, Any]] = {}
        for o in outcomes:
            if o.item.connection_id is None:
                continue
            if o.error is None:
                successes.add(o.item.connection_id)
            elif not self._retrying(o):
                errors[o.item.connection_id] = {"message": o.error.message, "occurredAt": iso(o.finished_at)}
        if successes:
            await session.execute(
                update(Connection)
                .where(Connection.id.in_(successes))
                .values(last_successful_post_at=now)
                .execution_options(synchronize_session=False)
            )
        for connection_id, error in errors.items():
            await session.execute(
                update(Connection)
                .where(Connection.id == connection_id)
                .values(last_error=error)
                .execution_options(synchronize_session=False)
            )


async def roll_up(session: AsyncSession, group_ids: Sequence[str], now: datetime) -> None:
    """Finish groups whose platform posts are all terminal: published, failed or partially_published."""
    if not group_ids:
        return
    statuses: dict[str, set[str]] = {}
    for group_id, status in await session.execute(
        select(Post.group_id, Post.status).where(Post.group_id.in_(group_ids))
    ):
        statuses.setdefault(group_id, set()).add(status)
    for group_id, seen in statuses.items():
        if not seen <= set(TERMINAL):
            continue
        final = (
            "published"
            if seen == {"published"}
            else "failed"
            if seen == {"failed"}
            else "partially_published"
        )
        changed = await session.execute(
            update(PostGroup)
            .where(PostGroup.id == group_id, PostGroup.processing_status != "finished")
            .values(status=final, processing_status="finished", updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount:  # type: ignore[attr-defined]
            log_event(session, group_id, "status_changed", details={"status": final})
