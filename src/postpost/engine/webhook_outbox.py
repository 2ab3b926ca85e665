"""The webhook outbox in SQL: claim due deliveries with a lease, and record attempts in batches.

Claim: `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING` on PostgreSQL (the same
statement without the lock clause on SQLite, whose single writer makes it atomic). A webhook
never has more than `per_webhook` deliveries leased (counting every dispatcher's live leases),
so a slow or dead receiver cannot fill a dispatcher with its own deliveries.

Record: a batch of attempts at a time. Webhook rows are locked first, then delivery rows (the
order a webhook delete takes), and only deliveries whose lease is still held are written.
Neither function commits: the dispatcher records and claims in one transaction.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Integer, String, Table, and_, bindparam, func, insert, or_, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncConnection

from postpost.db.models import Event, Webhook, WebhookAttempt, WebhookDelivery
from postpost.db.types import UTCDateTime
from postpost.ids import new_id
from postpost.net.webhook_client import PostResult

AUTO_DISABLE_AFTER = 5  # consecutive events whose attempts were all spent
CANDIDATES_PER_CLAIM = 4
D = WebhookDelivery
DELIVERIES = cast(Table, WebhookDelivery.__table__)
WEBHOOKS = cast(Table, Webhook.__table__)
ATTEMPTS = cast(Table, WebhookAttempt.__table__)


@dataclass(frozen=True)
class Job:
    """A claimed delivery with what sending it needs (secrets still encrypted)."""

    delivery_id: str
    lease_token: str
    attempt: int
    webhook_id: str
    user_id: str
    event_id: str
    event: str
    payload: str
    url: str
    secret: str
    previous_secret: str | None
    previous_secret_expires_at: datetime | None


@dataclass(frozen=True)
class Attempted:
    """The result of sending one job."""

    job: Job
    result: PostResult
    at: datetime


@dataclass
class _Counters:
    """A webhook's failure count, active flag and last attempt, as a batch moves them."""

    failures: int
    active: bool
    triggered: datetime | None = None

    def count(self, ok: bool, exhausted: bool, at: datetime) -> None:
        if ok:
            self.failures = 0
        elif exhausted:
            self.failures += 1
            if self.failures >= AUTO_DISABLE_AFTER:
                self.active = False
        self.triggered = at if self.triggered is None else max(self.triggered, at)


def _ready(now: Any) -> Any:
    return or_(
        and_(D.status == "pending", D.due_at <= now),
        and_(D.status == "processing", D.lease_expires_at < now),
    )


@functools.cache
def _claim_statement(is_pg: bool) -> Any:
    """The claim `UPDATE … RETURNING`, built once per dialect (parameters: now, until, token,
    share, limit, candidates).

    Only the `candidates` oldest due rows of webhooks below their share are ranked (read from
    the (status, due_at) index), so a claim costs the same whatever the backlog.
    """
    now = bindparam("now", type_=UTCDateTime)
    share = bindparam("share", type_=Integer)
    busy = (
        select(D.webhook_id, func.count().label("n"))
        .where(D.status == "processing", D.lease_expires_at >= now)
        .group_by(D.webhook_id)
        .cte("busy")
    )
    below_share = D.webhook_id.not_in(select(busy.c.webhook_id).where(busy.c.n >= share))
    count = bindparam("candidates", type_=Integer)
    # Due pending rows and expired leases separately, each read in due order from the index and
    # cut at `candidates` (one OR over both would make SQLite sort every due row).
    parts = [
        select(D.id, D.webhook_id, D.due_at)
        .where(ready, below_share)
        .order_by(D.due_at)
        .limit(count)
        .subquery()
        for ready in (
            and_(D.status == "pending", D.due_at <= now),
            and_(D.status == "processing", D.lease_expires_at < now),
        )
    ]
    either = union_all(*(select(part.c.id, part.c.webhook_id, part.c.due_at) for part in parts)).subquery()
    candidates = select(either).order_by(either.c.due_at).limit(count).subquery()
    ranked = (
        select(
            candidates.c.id,
            candidates.c.due_at,
            func.row_number()
            .over(partition_by=candidates.c.webhook_id, order_by=(candidates.c.due_at, candidates.c.id))
            .label("rank"),
            func.coalesce(busy.c.n, 0).label("busy"),
        )
        .select_from(candidates.outerjoin(busy, busy.c.webhook_id == candidates.c.webhook_id))
        .subquery()
    )
    picked = (
        select(ranked.c.id)
        .where(ranked.c.rank + ranked.c.busy <= share)
        .order_by(ranked.c.due_at)
        .limit(bindparam("limit", type_=Integer))
    )
    # SQLite's single writer makes the statement atomic: the picked rows are still ready (and
    # re-checking them there would make SQLite scan every pending row instead of the picked ids).
    chosen = (
        select(D.id).where(D.id.in_(picked.scalar_subquery()), _ready(now)).with_for_update(skip_locked=True)
        if is_pg
        else picked
    )
    return (
        update(D)
        .where(D.id.in_(chosen.scalar_subquery()))
        .values(
            status="processing",
            lease_token=bindparam("token", type_=String),
            lease_expires_at=bindparam("until", type_=UTCDateTime),
            attempts=D.attempts + 1,
            updated_at=now,
        )
        .returning(D.id)
    )


async def claim_deliveries(
    conn: AsyncConnection, *, now: datetime, limit: int, lease: timedelta, per_webhook: int
) -> list[Job]:
    """Claim up to `limit` due deliveries, at most `per_webhook` leased per webhook (no commit)."""
    if limit <= 0:
        return []
    token = secrets.token_hex(8)
    claimed = (
        (
            await conn.execute(
                _claim_statement(conn.dialect.name == "postgresql"),
                {
                    "now": now,
                    "until": now + lease,
                    "token": token,
                    "share": per_webhook,
                    "limit": limit,
                    "candidates": CANDIDATES_PER_CLAIM * limit,
                },
            )
        )
        .scalars()
        .all()
    )
    if not claimed:
        return []
    rows = await conn.execute(
        select(
            D.id,
            D.attempts,
            D.webhook_id,
            D.user_id,
            D.event_id,
            Event.name,
            Event.payload,
            Webhook.url,
            Webhook.secret,
            Webhook.previous_secret,
            Webhook.previous_secret_expires_at,
            Webhook.is_active,
        )
        .join(Event, Event.id == D.event_id)
        .join(Webhook, Webhook.id == D.webhook_id)
        .where(D.id.in_(claimed))
        .order_by(D.due_at)
    )
    jobs, cancelled = [], []
    for row in rows:
        if not row.is_active:  # disabled after the event was stored: not delivered
            cancelled.append(row.id)
            continue
        jobs.append(
            Job(
                row.id,
                token,
                row.attempts,
                row.webhook_id,
                row.user_id,
                row.event_id,
                row.name,
                row.payload,
                row.url,
                row.secret,
                row.previous_secret,
                row.previous_secret_expires_at,
            )
        )
    if cancelled:
        await conn.execute(
            update(D)
            .where(D.id.in_(cancelled))
            .values(status="cancelled", lease_token=None, lease_expires_at=None, updated_at=now)
        )
    return jobs


async def next_delivery_time(conn: AsyncConnection) -> datetime | None:
    """The earliest moment a pending delivery becomes due or a lease expires (one statement,
    each part answered from the (status, due_at) index)."""
    moments = union_all(
        select(func.min(D.due_at).label("at")).where(D.status == "pending"),
        select(func.min(D.lease_expires_at).label("at")).where(D.status == "processing"),
    ).subquery()
    found: datetime | None = await conn.scalar(select(func.min(moments.c.at)))
    return found


_UPDATE_DELIVERY = (
    update(DELIVERIES)
    .where(DELIVERIES.c.id == bindparam("d_id"), DELIVERIES.c.lease_token == bindparam("d_token"))
    .values(
        status=bindparam("d_status"),
        due_at=bindparam("d_due"),
        last_status_code=bindparam("d_code"),
        last_error=bindparam("d_error"),
        delivered_at=bindparam("d_delivered"),
        lease_token=None,
        lease_expires_at=None,
        updated_at=bindparam("d_now"),
    )
)
_UPDATE_WEBHOOK = (
    update(WEBHOOKS)
    .where(WEBHOOKS.c.id == bindparam("w_id"))
    .values(
        failure_count=bindparam("w_failures"),
        is_active=bindparam("w_active"),
        last_triggered_at=bindparam("w_triggered"),
        updated_at=bindparam("w_triggered"),
    )
)


async def record_attempts(
    conn: AsyncConnection, attempted: Sequence[Attempted], *, retry_seconds: Sequence[float], now: datetime
) -> datetime | None:
    """Write a batch of attempts: delivery states, the attempt log, webhook counters (no commit).

    A failure is retried after `retry_seconds[attempt - 1]`; when none is left the event counts
    as one failure of its webhook, which is disabled after AUTO_DISABLE_AFTER in a row. A
    success resets the count. `lastTriggeredAt` moves on every attempt. Returns when the
    earliest retry written is due.
    """
    if not attempted:
        return None
    is_pg = conn.dialect.name == "postgresql"
    webhook_query = (
        select(Webhook.id, Webhook.failure_count, Webhook.is_active)
        .where(Webhook.id.in_(sorted({a.job.webhook_id for a in attempted})))
        .order_by(Webhook.id)
    )
    hooks = {
        row.id: _Counters(row.failure_count, row.is_active)
        for row in await conn.execute(
            webhook_query.with_for_update(key_share=True) if is_pg else webhook_query
        )
    }
    held_query = select(D.id, D.lease_token).where(D.id.in_(sorted(a.job.delivery_id for a in attempted)))
    held: dict[str, str | None] = {
        row.id: row.lease_token
        for row in await conn.execute(
            held_query.order_by(D.id).with_for_update(key_share=True) if is_pg else held_query
        )
    }
    kept = [
        a for a in attempted if held.get(a.job.delivery_id) == a.job.lease_token and a.job.webhook_id in hooks
    ]
    if not kept:
        return None
    deliveries: list[dict[str, Any]] = []
    attempts: list[dict[str, Any]] = []
    for item in kept:
        job, result = item.job, item.result
        exhausted = not result.ok and job.attempt > len(retry_seconds)
        status = "delivered" if result.ok else "failed" if exhausted else "pending"
        deliveries.append(
            {
                "d_id": job.delivery_id,
                "d_token": job.lease_token,
                "d_status": status,
                "d_due": item.at + timedelta(seconds=retry_seconds[job.attempt - 1])
                if status == "pending"
                else item.at,
                "d_code": result.status_code,
                "d_error": result.error,
                "d_delivered": item.at if result.ok else None,
                "d_now": now,
            }
        )
        attempts.append(
            {
                "id": new_id(),
                "webhook_id": job.webhook_id,
                "user_id": job.user_id,
                "event_id": job.event_id,
                "event": job.event,
                "attempt": job.attempt,
                "status_code": result.status_code,
                "duration_ms": result.duration_ms,
                "error": result.error,
                "created_at": item.at,
            }
        )
        hooks[job.webhook_id].count(result.ok, exhausted, item.at)
    await conn.execute(_UPDATE_DELIVERY, deliveries)
    await conn.execute(insert(ATTEMPTS), attempts)
    await conn.execute(
        _UPDATE_WEBHOOK,
        [
            {
                "w_id": webhook_id,
                "w_failures": state.failures,
                "w_active": state.active,
                "w_triggered": state.triggered,
            }
            for webhook_id, state in sorted(hooks.items())
            if state.triggered is not None
        ],
    )
    retries: list[datetime] = [d["d_due"] for d in deliveries if d["d_status"] == "pending"]
    return min(retries, default=None)
