"""LinkedIn answers kept in the database for a while, and LinkedIn's rate-limit holds.

Every process reads and writes the same `linkedin_metrics` rows, so an answer fetched by one API
process serves the others until it expires. A hold (key ``hold:<family>``) records that LinkedIn
answered 429 for one family of its APIs (post analytics, followers, reactions, comments) and when
it may be asked again; until then nothing of that family is requested for the connection.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import LinkedInMetric
from postpost.db.session import dialect_name

TOTAL_TTL = timedelta(minutes=30)
DAILY_TTL = timedelta(minutes=15)
FOLLOWERS_TTL = timedelta(minutes=30)
MAX_KEY = 200


def cache_key(*parts: str) -> str:
    """A row key from its parts; a long one (an odd postedId) is replaced by its digest."""
    key = ":".join(parts)
    return key if len(key) <= MAX_KEY else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def hold_key(family: str) -> str:
    return f"hold:{family}"


async def read(
    session: AsyncSession, connection_id: str, keys: Iterable[str], now: datetime
) -> dict[str, dict[str, Any]]:
    """The unexpired values among `keys` (holds are read the same way)."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    rows = await session.execute(
        select(LinkedInMetric.key, LinkedInMetric.value).where(
            LinkedInMetric.connection_id == connection_id,
            LinkedInMetric.key.in_(wanted),
            LinkedInMetric.expires_at > now,
        )
    )
    return {key: dict(value) for key, value in rows.tuples()}


async def write(
    session: AsyncSession,
    connection_id: str,
    entries: Mapping[str, tuple[dict[str, Any], datetime]],
    now: datetime,
) -> None:
    """Store `entries` (key → value, expiry) and drop the connection's expired rows; no commit."""
    await session.execute(
        delete(LinkedInMetric).where(
            LinkedInMetric.connection_id == connection_id, LinkedInMetric.expires_at <= now
        )
    )
    if not entries:
        return
    rows = [
        {"connection_id": connection_id, "key": key, "value": value, "expires_at": expires}
        for key, (value, expires) in sorted(entries.items())
    ]
    insert = pg_insert if dialect_name(session) == "postgresql" else sqlite_insert
    statement = insert(LinkedInMetric).values(rows)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[LinkedInMetric.connection_id, LinkedInMetric.key],
            set_={"value": statement.excluded.value, "expires_at": statement.excluded.expires_at},
        )
    )
