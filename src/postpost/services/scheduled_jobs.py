"""Periodic jobs shared by every worker process (table `scheduled_jobs`, one row per job).

Whoever takes a due job's lease runs it; the others find it leased or not yet due. A job that
outlives its lease renews it; one whose process died is taken again once the lease ends. Runs
are aligned on fixed slots (every `interval` since the Unix epoch, in UTC), so restarts do not
shift them. A job never run before is due at once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from postpost.db.models import ScheduledJob
from postpost.db.session import Database, dialect_name


@dataclass(frozen=True)
class JobLease:
    """A job this process is running."""

    name: str
    token: str


async def take(database: Database, name: str, *, now: datetime, lease: timedelta) -> JobLease | None:
    """The job's lease when the job is due and nobody holds it, else None."""
    async with database.session() as session:
        due = await session.scalar(select(ScheduledJob.next_run_at).where(ScheduledJob.name == name))
        if due is not None and due > now:
            return None
        insert = postgresql.insert if dialect_name(session) == "postgresql" else sqlite.insert
        await session.execute(
            insert(ScheduledJob).values(name=name, next_run_at=now).on_conflict_do_nothing()
        )
        token = secrets.token_hex(8)
        taken = await session.execute(
            update(ScheduledJob)
            .where(
                ScheduledJob.name == name,
                ScheduledJob.next_run_at <= now,
                or_(ScheduledJob.lease_until.is_(None), ScheduledJob.lease_until <= now),
            )
            .values(lease_token=token, lease_until=now + lease, last_started_at=now)
            .returning(ScheduledJob.name)
        )
        found = taken.first() is not None
        await session.commit()
    return JobLease(name, token) if found else None


async def renew(database: Database, job: JobLease, *, now: datetime, lease: timedelta) -> bool:
    """Extend the lease; False when it was lost (another process took the job over)."""
    async with database.session() as session:
        renewed = await session.execute(
            update(ScheduledJob)
            .where(ScheduledJob.name == job.name, ScheduledJob.lease_token == job.token)
            .values(lease_until=now + lease)
            .returning(ScheduledJob.name)
        )
        kept = renewed.first() is not None
        await session.commit()
    return kept


async def finish(
    database: Database, job: JobLease, *, now: datetime, next_run_at: datetime, error: str | None = None
) -> None:
    """Release the lease and set the next run."""
    async with database.session() as session:
        await session.execute(
            update(ScheduledJob)
            .where(ScheduledJob.name == job.name, ScheduledJob.lease_token == job.token)
            .values(
                lease_token=None,
                lease_until=None,
                next_run_at=next_run_at,
                last_finished_at=now,
                last_error=error,
            )
        )
        await session.commit()


def next_slot(now: datetime, interval: timedelta) -> datetime:
    """The first slot boundary after `now` (slots: multiples of `interval` since the epoch)."""
    seconds = interval.total_seconds()
    slot = (now.timestamp() // seconds + 1) * seconds
    return datetime.fromtimestamp(slot, UTC)
