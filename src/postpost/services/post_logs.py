"""The publishing timeline of a post group (post-logs endpoint) and the writer used by all steps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import PostLog
from postpost.ids import new_id
from postpost.services.auth import Principal
from postpost.services.scoping import load_group

MAX_LOGS = 100


def log_event(
    session: AsyncSession,
    group_id: str,
    event: str,
    *,
    post_id: str | None = None,
    platform: str | None = None,
    error: str | None = None,
    http_status: int | None = None,
    retry_count: int | None = None,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> PostLog:
    """Add one log entry to the session (committed with the change it describes)."""
    entry = PostLog(
        group_id=group_id,
        post_id=post_id,
        platform=platform,
        event=event,
        error=error,
        http_status=http_status,
        retry_count=retry_count,
        details=details,
    )
    if at is not None:
        entry.created_at = entry.updated_at = at
    session.add(entry)
    return entry


def log_row(
    group_id: str,
    event: str,
    *,
    post_id: str | None = None,
    platform: str | None = None,
    error: str | None = None,
    http_status: int | None = None,
    retry_count: int | None = None,
    details: dict[str, Any] | None = None,
    at: datetime,
) -> dict[str, Any]:
    """One log entry as a row for `insert_logs` (the engine writes logs in batches)."""
    return {
        "id": new_id(),
        "group_id": group_id,
        "post_id": post_id,
        "platform": platform,
        "event": event,
        "error": error,
        "http_status": http_status,
        "retry_count": retry_count,
        "details": details,
        "created_at": at,
        "updated_at": at,
    }


async def insert_logs(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert many log rows with one executemany."""
    if rows:
        await session.execute(insert(cast(Table, PostLog.__table__)), rows)


@dataclass(frozen=True)
class LogEntry:
    """One event of a group's publishing timeline."""

    id: str
    group_id: str
    post_id: str | None
    platform: str | None
    event: str
    error: str | None
    http_status: int | None
    retry_count: int | None
    metadata: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


async def get_post_logs(session: AsyncSession, principal: Principal, group_id: str) -> list[LogEntry]:
    """The first MAX_LOGS entries of the caller's group, oldest first."""
    group = await load_group(session, principal, group_id)
    return await group_logs(session, group.id)


async def group_logs(session: AsyncSession, group_id: str) -> list[LogEntry]:
    """The first MAX_LOGS entries of a group's timeline, oldest first."""
    rows = await session.scalars(
        select(PostLog)
        .where(PostLog.group_id == group_id)
        .order_by(PostLog.created_at, PostLog.id)
        .limit(MAX_LOGS)
    )
    return [
        LogEntry(
            id=row.id,
            group_id=row.group_id,
            post_id=row.post_id,
            platform=row.platform,
            event=row.event,
            error=row.error,
            http_status=row.http_status,
            retry_count=row.retry_count,
            metadata=dict(row.details) if row.details else None,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
        for row in rows
    ]
