"""Publishing budgets: each platform's documented rate limits, per account and per app.

A budget is a token bucket stored in `rate_buckets` and shared by every worker: it holds up to
`count` tokens and refills at `count / seconds` per second, so bursts pass and nothing is spaced
out artificially. A claimed post takes one token from each of its buckets in the claim's own
transaction; a post whose bucket is empty goes back to the queue, due when a token will be there.
Sandbox accounts have no budget (a 429 asked for by a marker still holds them back).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import RateBucket
from postpost.db.session import dialect_name
from postpost.platforms.descriptor import Pacing, RateWindow


@dataclass(frozen=True)
class Candidate:
    """A claimed post asking for budget: its platform's pacing and its connection."""

    key: str  # the post id
    platform: str
    connection_id: str
    pacing: Pacing


@dataclass
class _Bucket:
    window: RateWindow
    tokens: float
    updated_at: datetime

    def refill(self, now: datetime) -> None:
        elapsed = max((now - self.updated_at).total_seconds(), 0.0)
        self.tokens = min(float(self.window.count), self.tokens + elapsed * self.rate)
        self.updated_at = now

    @property
    def rate(self) -> float:
        return self.window.count / self.window.seconds

    def wait(self) -> float:
        """Seconds until one whole token is there."""
        return max(1.0 - self.tokens, 0.0) / self.rate


def bucket_keys(candidate: Candidate) -> list[tuple[str, RateWindow]]:
    account = [(f"acct:{candidate.connection_id}:{int(w.seconds)}", w) for w in candidate.pacing.per_account]
    app = [(f"app:{candidate.platform}:{int(w.seconds)}", w) for w in candidate.pacing.per_app]
    return account + app


async def admit(session: AsyncSession, candidates: Sequence[Candidate], now: datetime) -> dict[str, datetime]:
    """Take a token per candidate from each of its buckets, in order; does not commit.

    Returns the candidates that must wait, with the moment their budget allows them.
    """
    wanted = {key: window for c in candidates for key, window in bucket_keys(c)}
    if not wanted:
        return {}
    query = select(RateBucket).where(RateBucket.key.in_(sorted(wanted))).order_by(RateBucket.key)
    if dialect_name(session) == "postgresql":
        query = query.with_for_update()
    stored = {row.key: row for row in await session.scalars(query)}
    buckets = {
        key: _Bucket(window, stored[key].tokens, stored[key].updated_at)
        if key in stored
        else _Bucket(window, float(window.count), now)
        for key, window in wanted.items()
    }
    for bucket in buckets.values():
        bucket.refill(now)
    waiting: dict[str, datetime] = {}
    for candidate in candidates:
        mine = [buckets[key] for key, _ in bucket_keys(candidate)]
        if all(b.tokens >= 1.0 for b in mine):
            for b in mine:
                b.tokens -= 1.0
        else:
            waiting[candidate.key] = now + timedelta(seconds=max(b.wait() for b in mine))
    await _save(session, buckets, now)
    return waiting


async def _save(session: AsyncSession, buckets: dict[str, _Bucket], now: datetime) -> None:
    rows = [{"key": key, "tokens": b.tokens, "updated_at": now} for key, b in sorted(buckets.items())]
    insert = pg_insert if dialect_name(session) == "postgresql" else sqlite_insert
    statement = insert(RateBucket).values(rows)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[RateBucket.key],
            set_={"tokens": statement.excluded.tokens, "updated_at": statement.excluded.updated_at},
        )
    )
