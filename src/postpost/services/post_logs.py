"""The publishing timeline of a post group (post-logs endpoint) and the writer used by all steps."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import PostLog
from postpost.ids import iso, new_id
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


def log_view(entry: PostLog) -> dict[str, Any]:
    view: dict[str, Any] = {"_id": entry.id, "postGroupId": entry.group_id}
    optional = {
        "postId": entry.post_id,
        "platform": entry.platform,
        "event": entry.event,
        "error": entry.error,
        "httpStatus": entry.http_status,
        "retryCount": entry.retry_count,
        "metadata": entry.details,
    }
    view.update({k: v for k, v in optional.items() if v is not None})
    view.update(createdAt=iso(entry.created_at), updatedAt=iso(entry.updated_at), __v=0)
    return view


async def get_post_logs(session: AsyncSession, principal: Principal, group_id: str) -> list[dict[str, Any]]:
    """The first MAX_LOGS entries of the caller's group, oldest first."""
    group = await load_group(session, principal, group_id)
    rows = await session.scalars(
        select(PostLog)
        .where(PostLog.group_id == group.id)
        .order_by(PostLog.created_at, PostLog.id)
        .limit(MAX_LOGS)
    )
    return [log_view(row) for row in rows]
