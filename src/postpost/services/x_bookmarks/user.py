"""A user's X bookmarks settings, balance, media download stats and sync history."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import XBookmarkMedia, XBookmarkSyncLog
from postpost.ids import utcnow
from postpost.services.auth import Principal
from postpost.services.x_bookmarks.access import read_state, require_access, state_of, x_connection
from postpost.services.x_bookmarks.errors import invalid, not_connected
from postpost.services.x_bookmarks.query import clamp
from postpost.services.x_bookmarks.quota import Balance, balance_of

SETTINGS = {
    "downloadImages": "download_images",
    "downloadVideos": "download_videos",
    "fetchReferencedTweets": "fetch_referenced_tweets",
}
MEDIA_STATES = ("pending", "downloading", "completed", "failed", "skipped")
HISTORY_PAGE_MAX = 100
HISTORY_LIMIT = (20, 50)  # default, maximum


@dataclass(frozen=True)
class ConnectionSummary:
    username: str | None
    display_name: str | None
    profile_image_url: str | None
    last_sync_at: datetime | None
    last_sync_status: str | None


@dataclass(frozen=True)
class BalanceReport:
    balance: Balance
    connection: ConnectionSummary | None


@dataclass(frozen=True)
class SyncHistory:
    logs: list[XBookmarkSyncLog]
    page: int
    limit: int
    total: int

    @property
    def total_pages(self) -> int:
        return math.ceil(self.total / self.limit) if self.total else 0


async def balance_report(session: AsyncSession, principal: Principal, now: datetime) -> BalanceReport:
    """`GET /x-bookmarks/balance`: this month's quota and the X connection (null when none)."""
    await require_access(session, principal)
    balance = await balance_of(session, principal.user_id, principal.entitlements, now)
    connection = await x_connection(session, principal.user_id)
    if connection is None:
        return BalanceReport(balance, None)
    state = await read_state(session, principal.user_id)
    summary = ConnectionSummary(
        connection.username,
        connection.display_name,
        connection.profile_image_url,
        state.last_sync_at,
        state.last_sync_status,
    )
    return BalanceReport(balance, summary)


async def get_settings(session: AsyncSession, principal: Principal) -> dict[str, bool]:
    """`GET /x-bookmarks/user/settings` (404 `NOT_CONNECTED` without an X connection)."""
    await require_access(session, principal)
    if await x_connection(session, principal.user_id) is None:
        raise not_connected(404)
    state = await read_state(session, principal.user_id)
    return {name: bool(getattr(state, column)) for name, column in SETTINGS.items()}


async def put_settings(session: AsyncSession, principal: Principal, raw: bytes) -> dict[str, bool]:
    """`PUT /x-bookmarks/user/settings`: change any of the three booleans.

    Media not downloaded yet follow the change: a type switched off has its pending items
    skipped, a type switched on has its skipped items queued again.
    """
    await require_access(session, principal)
    if await x_connection(session, principal.user_id) is None:
        raise not_connected(404)
    changes = _settings_body(raw)
    state = await state_of(session, principal.user_id, lock=True)
    for name, value in changes.items():
        setattr(state, SETTINGS[name], value)
    for name, types in (("downloadImages", ("photo",)), ("downloadVideos", ("video", "animated_gif"))):
        if name in changes:
            await _follow(session, principal.user_id, types, download=changes[name])
    await session.commit()
    return {name: bool(getattr(state, column)) for name, column in SETTINGS.items()}


def _settings_body(raw: bytes) -> dict[str, bool]:
    try:
        body = json.loads(raw) if raw.strip() else None
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise invalid("INVALID_BODY", "The request body must be a JSON object")
    unknown = sorted(set(body) - set(SETTINGS))
    if unknown:
        raise invalid(
            "UNKNOWN_FIELDS",
            f"Unknown settings: {', '.join(unknown)} (allowed: {', '.join(SETTINGS)})",
            fields=unknown,
        )
    for name, value in body.items():
        if not isinstance(value, bool):
            raise invalid("INVALID_FIELD_TYPE", f"{name} must be true or false", field=name)
    return body


async def _follow(session: AsyncSession, user_id: str, types: tuple[str, ...], *, download: bool) -> None:
    was, now = ("skipped", "pending") if download else ("pending", "skipped")
    await session.execute(
        update(XBookmarkMedia)
        .where(
            XBookmarkMedia.user_id == user_id,
            XBookmarkMedia.type.in_(types),
            XBookmarkMedia.status == was,
            XBookmarkMedia.source_url.is_not(None),
        )
        .values(status=now, due_at=utcnow() if download else None, attempts=0, error=None)
    )


async def media_stats(session: AsyncSession, principal: Principal) -> dict[str, int]:
    """`GET /x-bookmarks/user/media-stats`: the user's media by download state, and the total."""
    await require_access(session, principal)
    rows = await session.execute(
        select(XBookmarkMedia.status, func.count())
        .where(XBookmarkMedia.user_id == principal.user_id)
        .group_by(XBookmarkMedia.status)
    )
    counts: dict[str, Any] = {status: count for status, count in rows}
    stats = {state: int(counts.get(state, 0)) for state in MEDIA_STATES}
    stats["total"] = sum(stats.values())
    return stats


async def sync_history(session: AsyncSession, principal: Principal, params: dict[str, str]) -> SyncHistory:
    """`GET /x-bookmarks/sync/history`: the user's sync runs, newest first."""
    await require_access(session, principal)
    page = clamp(params.get("page"), 1, 1, HISTORY_PAGE_MAX)
    limit = clamp(params.get("limit"), HISTORY_LIMIT[0], 1, HISTORY_LIMIT[1])
    mine = XBookmarkSyncLog.user_id == principal.user_id
    logs = await session.scalars(
        select(XBookmarkSyncLog)
        .where(mine)
        .order_by(XBookmarkSyncLog.synced_at.desc(), XBookmarkSyncLog.id.desc())
        .limit(limit)
        .offset((page - 1) * limit)
    )
    total = await session.scalar(select(func.count()).select_from(XBookmarkSyncLog).where(mine)) or 0
    return SyncHistory(list(logs), page, limit, total)
