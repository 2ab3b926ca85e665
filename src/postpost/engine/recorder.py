"""Writing publish outcomes: platform post rows, thread parts, logs, connection health, group roll-up.

A batch of outcomes is written in one transaction with a fixed number of statements (executemany
for the rows). The first statement releases the claimed rows' leases, with each lease token in its
WHERE clause, and returns the rows it released: a worker that lost a lease (its post was taken over
after the lease expired) or whose group was deleted writes nothing for that post. On PostgreSQL the
groups are locked first, in id order, so concurrent recorders cannot deadlock.

A part that is in progress on the platform goes back to `pending`, due when the adapter asked to
check again, with its step state; a 429 with a reset time puts the whole account on hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import JSON, Boolean, Table, bindparam, case, func, insert, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import Connection, Post, PostGroup
from postpost.db.session import dialect_name
from postpost.db.types import UTCDateTime
from postpost.engine.publisher import Outcome
from postpost.engine.retry import next_attempt_at, should_retry
from postpost.ids import iso, new_id, utcnow
from postpost.platforms.base import ErrorCode, PlatformError
from postpost.services import events
from postpost.services.post_logs import insert_logs, log_row

TERMINAL = ("published", "failed")
POSTS = cast(Table, Post.__table__)
GROUPS = cast(Table, PostGroup.__table__)
_ROW_COLUMNS = (
    "status",
    "posted_id",
    "posted_url",
    "remote_ref",
    "published_at",
    "error",
    "due_at",
    "retry_count",
    "content",
    "step_state",
    "unsure",
)
_UPDATE_ROW = (
    update(POSTS)
    .where(POSTS.c.id == bindparam("row_id"))
    .values(
        {name: bindparam(f"v_{name}") for name in _ROW_COLUMNS}
        | {"lease_token": None, "lease_expires_at": None, "updated_at": bindparam("v_now")}
    )
)

CONNECTIONS = cast(Table, Connection.__table__)
_UPDATE_CONNECTION = (
    update(CONNECTIONS)
    .where(CONNECTIONS.c.id == bindparam("c_id"))
    .values(
        last_successful_post_at=func.coalesce(
            bindparam("c_success", type_=UTCDateTime), CONNECTIONS.c.last_successful_post_at
        ),
        last_error=case(
            (bindparam("c_failed", type_=Boolean), bindparam("c_error", type_=JSON)),
            else_=CONNECTIONS.c.last_error,
        ),
        hold_until=case(
            (bindparam("c_hold", type_=UTCDateTime).is_(None), CONNECTIONS.c.hold_until),
            (CONNECTIONS.c.hold_until.is_(None), bindparam("c_hold", type_=UTCDateTime)),
            (CONNECTIONS.c.hold_until > bindparam("c_hold", type_=UTCDateTime), CONNECTIONS.c.hold_until),
            else_=bindparam("c_hold", type_=UTCDateTime),
        ),
    )
)


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
        kept = await self._release(session, outcomes)
        updates: list[dict[str, Any]] = []
        inserts: list[dict[str, Any]] = []
        logs: list[dict[str, Any]] = []
        for outcome in kept:
            self._rows(outcome, now, updates, inserts)
            logs += self._logs(outcome)
        if updates:
            await session.execute(_UPDATE_ROW, updates)
        if inserts:
            await session.execute(insert(POSTS), inserts)
        await insert_logs(session, logs)
        await self._connections(session, kept, now)
        await roll_up(session, sorted({o.item.claim.group_id for o in kept}), now)
        ended = [o for o in kept if o.waiting is None and (o.error is None or not self._retrying(o))]
        await events.emit(session, [self._event(o) for o in ended])
        await session.commit()

    async def _release(self, session: AsyncSession, outcomes: Sequence[Outcome]) -> list[Outcome]:
        """Release the leases still held, in one statement; the outcomes of those posts."""
        if dialect_name(session) == "postgresql":
            await session.execute(text("SET LOCAL synchronous_commit TO OFF"))
            group_ids = sorted({o.item.claim.group_id for o in outcomes})
            locked = select(PostGroup.id).where(PostGroup.id.in_(group_ids)).order_by(PostGroup.id)
            await session.execute(locked.with_for_update(key_share=True))
        released = await session.execute(
            update(POSTS)
            .where(tuple_(POSTS.c.id, POSTS.c.lease_token).in_([o.item.key for o in outcomes]))
            .values(lease_token=None, lease_expires_at=None)
            .returning(POSTS.c.id)
        )
        held = set(released.scalars())
        return [o for o in outcomes if o.item.claim.post_id in held]

    def _event(self, outcome: Outcome) -> events.NewEvent:
        """post.published or post.failed for an outcome that ended its platform post."""
        claim = outcome.item.claim
        post = {
            "user_id": claim.user_id,
            "post_id": outcome.item.head_id,
            "group_id": claim.group_id,
            "platform": claim.platform,
        }
        if outcome.error is None:
            return events.post_published(**post, published_at=outcome.finished_at)
        error = outcome.error
        return events.post_failed(
            **post, code=error.code.value, message=error.message, failed_at=outcome.finished_at
        )

    def _retrying(self, outcome: Outcome) -> bool:
        return outcome.error is not None and should_retry(
            outcome.error, outcome.item.claim.retry_count + 1, self.max_attempts
        )

    def _state(self, outcome: Outcome, position: int, now: datetime) -> dict[str, Any]:
        """Column values for part `position` of the outcome."""
        part = outcome.parts[position]
        claim = outcome.item.claim
        stop = outcome.failed_index if outcome.error is not None else outcome.waiting_index
        state: dict[str, Any] = {
            "status": "published",
            "posted_id": None,
            "posted_url": None,
            "remote_ref": None,
            "published_at": None,
            "error": None,
            "due_at": None,
            "retry_count": claim.retry_count,
            "content": part.text,
            "step_state": None,
            "unsure": False,
        }
        if part.published is not None and (stop is None or position < stop):
            state.update(
                posted_id=part.published.remote_id,
                posted_url=part.published.url,
                remote_ref=dict(part.published.ref) or None,
                published_at=outcome.finished_at,
            )
            return state
        if outcome.waiting is not None:
            assert outcome.waiting_index is not None
            waiting_here = position == outcome.waiting_index
            state.update(
                status="pending",
                due_at=now + outcome.waiting.check_after if waiting_here else None,
                step_state=dict(outcome.waiting.state) if waiting_here else None,
            )
            return state
        assert outcome.error is not None and outcome.failed_index is not None
        failed = outcome.failed_index
        if self._retrying(outcome):
            due = next_attempt_at(
                outcome.error,
                claim.retry_count + 1,
                now,
                base_seconds=self.retry_base,
                max_seconds=self.retry_max,
            )
            here = position == failed
            state.update(
                status="pending",
                retry_count=claim.retry_count + 1,
                due_at=due if here else None,
                unsure=here and outcome.error.maybe_published,
                step_state=claim.step_state if here and position == 0 else None,
            )
            return state
        message = (
            None
            if position == failed
            else (f"Not published: part {failed + 1} of the thread failed ({outcome.error.message})")
        )
        state.update(status="failed", error=error_object(outcome.error, outcome.finished_at, message=message))
        return state

    def _rows(
        self, outcome: Outcome, now: datetime, updates: list[dict[str, Any]], inserts: list[dict[str, Any]]
    ) -> None:
        claim = outcome.item.claim
        for position, part in enumerate(outcome.parts):
            state = self._state(outcome, position, now)
            if part.id is not None:
                updates.append({"row_id": part.id, "v_now": now} | {f"v_{k}": v for k, v in state.items()})
                continue
            inserts.append(
                state
                | {
                    "id": new_id(),
                    "group_id": claim.group_id,
                    "user_id": claim.user_id,
                    "connection_id": claim.connection_id,
                    "platform": claim.platform,
                    "account_id": claim.account_id,
                    "thread_index": part.index,
                    "head_post_id": outcome.item.head_id,
                    "idempotency_key": part.idempotency_key,
                    "attempts": 0,
                    "lease_token": None,
                    "lease_expires_at": None,
                    "created_at": now,
                    "updated_at": now,
                }
            )

    def _logs(self, outcome: Outcome) -> list[dict[str, Any]]:
        claim = outcome.item.claim
        common: dict[str, Any] = {
            "post_id": claim.post_id,
            "platform": claim.platform,
            "retry_count": claim.retry_count or None,
        }
        logs = []
        for attempt in outcome.attempts:
            details: dict[str, Any] = {"part": attempt.index + 1, "reconciled": attempt.reconciled}
            if attempt.waiting and outcome.waiting is not None:
                details |= {
                    "inProgress": True,
                    "checkAfterSeconds": outcome.waiting.check_after.total_seconds(),
                }
            logs.append(
                log_row(claim.group_id, "publish_attempted", at=attempt.started_at, **common, details=details)
            )
        if outcome.waiting is not None:
            return logs
        if outcome.error is None:
            head = outcome.parts[0].published
            logs.append(
                log_row(
                    claim.group_id,
                    "publish_succeeded",
                    at=outcome.finished_at,
                    **common,
                    details={"postedId": head.remote_id if head else None, "parts": len(outcome.parts)},
                )
            )
        else:
            error = outcome.error
            logs.append(
                log_row(
                    claim.group_id,
                    "publish_failed",
                    at=outcome.finished_at,
                    **common,
                    error=error.message,
                    http_status=error.status,
                    details={
                        "errorCode": error.code.value,
                        "retryable": error.retryable,
                        "willRetry": self._retrying(outcome),
                    },
                )
            )
        return logs

    async def _connections(self, session: AsyncSession, outcomes: Sequence[Outcome], now: datetime) -> None:
        """Keep each connection's lastSuccessfulPost, lastError and rate-limit hold current."""
        changes: dict[str, dict[str, Any]] = {}
        for o in outcomes:
            connection_id = o.item.claim.connection_id
            if connection_id is None or o.waiting is not None:
                continue
            values = changes.setdefault(connection_id, {})
            if o.error is None:
                values["last_successful_post_at"] = now
                continue
            if not self._retrying(o):
                values["last_error"] = {"message": o.error.message, "occurredAt": iso(o.finished_at)}
            if o.error.code is ErrorCode.RATE_LIMITED and o.error.retry_at is not None:
                values["hold_until"] = max(o.error.retry_at, values.get("hold_until") or o.error.retry_at)
        if changes:  # one statement, rows in id order: one lock order across workers
            await session.execute(
                _UPDATE_CONNECTION,
                [
                    {
                        "c_id": connection_id,
                        "c_success": values.get("last_successful_post_at"),
                        "c_failed": "last_error" in values,
                        "c_error": values.get("last_error"),
                        "c_hold": values.get("hold_until"),
                    }
                    for connection_id, values in sorted(changes.items())
                ],
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
    unfinished = set(
        await session.scalars(
            select(PostGroup.id).where(PostGroup.id.in_(group_ids), PostGroup.processing_status != "finished")
        )
    )
    finals = {
        group_id: "published"
        if seen == {"published"}
        else "failed"
        if seen == {"failed"}
        else "partially_published"
        for group_id, seen in statuses.items()
        if seen <= set(TERMINAL) and group_id in unfinished
    }
    if not finals:
        return
    await session.execute(
        update(GROUPS)
        .where(GROUPS.c.id == bindparam("group_id"))
        .values(status=bindparam("final"), processing_status="finished", updated_at=now),
        [{"group_id": group_id, "final": final} for group_id, final in finals.items()],
    )
    await insert_logs(
        session,
        [
            log_row(group_id, "status_changed", details={"status": final}, at=now)
            for group_id, final in finals.items()
        ],
    )
