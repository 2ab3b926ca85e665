"""Leases for background jobs that one process of the installation runs at a time.

A process holds a job's lease while it keeps renewing it; when that process stops (or dies), the
lease runs out and another process takes the job over. Works the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, or_, update
from sqlalchemy.exc import IntegrityError

from postpost.db.models import JobLease
from postpost.db.session import Database
from postpost.ids import utcnow


async def hold_lease(database: Database, name: str, holder: str, ttl: timedelta) -> bool:
    """Take or renew the lease of job `name` for `holder`; False while another holder has it."""
    now = utcnow()
    async with database.session() as session:
        renewed = await session.execute(
            update(JobLease)
            .where(JobLease.name == name, or_(JobLease.holder == holder, JobLease.lease_until <= now))
            .values(holder=holder, lease_until=now + ttl)
            .returning(JobLease.name)
        )
        if renewed.first() is not None:
            await session.commit()
            return True
        if await session.get(JobLease, name) is not None:
            return False
        session.add(JobLease(name=name, holder=holder, lease_until=now + ttl))
        try:
            await session.commit()
        except IntegrityError:  # another process created it first
            return False
        return True


async def release_lease(database: Database, name: str, holder: str) -> None:
    """Give the lease up at once (on a clean stop), if `holder` still has it."""
    async with database.session() as session:
        await session.execute(delete(JobLease).where(JobLease.name == name, JobLease.holder == holder))
        await session.commit()
