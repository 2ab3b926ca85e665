"""list-posts: filtering, sorting and the contract's silent clamping of page and limit."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, asc, desc, exists, false, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from postpost.db.models import Post, PostGroup, PostGroupCount
from postpost.errors import InvalidInput
from postpost.services import media
from postpost.services.timefmt import parse_lenient_date

GROUP_STATUSES = ("draft", "scheduled", "published", "failed", "partially_published")
SORT_FIELDS = {
    "createdAt": PostGroup.created_at,
    "updatedAt": PostGroup.updated_at,
    "scheduledTime": PostGroup.scheduled_time,
}
_LEADING_INT = re.compile(r"^\s*([+-]?\d+)")
_MAX_OFFSET = 2**62  # beyond any real row count; keeps huge pages inside a signed 64-bit OFFSET


@dataclass(frozen=True)
class ListedPlatform:
    platform: str
    account_id: str
    status: str

    @property
    def platform_id(self) -> str:
        return f"{self.platform}-{self.account_id}"


@dataclass(frozen=True)
class GroupSummary:
    """One list-posts entry."""

    id: str
    content: str
    status: str
    scheduled_time: datetime | None
    created_at: datetime
    updated_at: datetime
    platforms: list[ListedPlatform]
    media_urls: list[str]


@dataclass(frozen=True)
class GroupPage:
    """A page of the caller's groups, with the clamped paging values."""

    groups: list[GroupSummary]
    page: int
    limit: int
    total: int

    @property
    def total_pages(self) -> int:
        return math.ceil(self.total / self.limit)


def _parse_int(value: str | None) -> int | None:
    """JavaScript parseInt: the leading integer of the string, else None (saturates at ±10**18)."""
    match = _LEADING_INT.match(value or "")
    if not match:
        return None
    sign = -1 if match.group(1).startswith("-") else 1
    digits = match.group(1).lstrip("+-").lstrip("0")
    return sign * (int(digits or "0") if len(digits) <= 18 else 10**18)


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def list_posts(session: AsyncSession, user_id: str, params: Mapping[str, str]) -> GroupPage:
    """A page of `user_id`'s groups, filtered and sorted by the list-posts query parameters."""
    page = max(_parse_int(params.get("page")) or 1, 1)
    limit = min(max(_parse_int(params.get("limit")) or 20, 1), 100)
    conditions = [PostGroup.user_id == user_id]
    status = params.get("status") or None
    if status is not None:
        if status not in GROUP_STATUSES:
            raise InvalidInput(f"Invalid status. Must be one of: {', '.join(GROUP_STATUSES)}")
        conditions.append(PostGroup.status == status)
    sort_by = params.get("sortBy") or "createdAt"
    if sort_by not in SORT_FIELDS:
        raise InvalidInput("Invalid sortBy. Must be one of: createdAt, updatedAt, scheduledTime")
    order = asc if params.get("sortOrder") == "asc" else desc
    for name, op in (("fromDate", "ge"), ("toDate", "le")):
        raw = params.get(name)
        if not raw:
            continue
        moment = parse_lenient_date(raw)
        if moment is None:
            raise InvalidInput(f"Invalid {name} format")
        column = PostGroup.scheduled_time
        conditions.append(column >= moment if op == "ge" else column <= moment)
    platform = params.get("platform")
    if platform and "\x00" in platform:  # PostgreSQL rejects NUL in text; no stored id contains one
        conditions.append(false())
    elif platform:
        pattern = _like_escape(platform.lower()) + "-%"
        compound = func.lower(Post.platform + literal("-") + Post.account_id)
        conditions.append(exists().where(Post.group_id == PostGroup.id, compound.like(pattern, escape="\\")))
    where = and_(*conditions)
    only_by_status = len(conditions) == 1 + (status is not None)
    total = await (_stored_count(session, user_id, status) if only_by_status else _count(session, where))
    groups = list(
        await session.scalars(
            select(PostGroup)
            .where(where)
            .order_by(order(SORT_FIELDS[sort_by]), order(PostGroup.id))
            .offset(min((page - 1) * limit, _MAX_OFFSET))
            .limit(limit)
        )
    )
    return GroupPage(await _items(session, groups), page, limit, total)


async def _count(session: AsyncSession, where: ColumnElement[bool]) -> int:
    return await session.scalar(select(func.count()).select_from(PostGroup).where(where)) or 0


async def _stored_count(session: AsyncSession, user_id: str, status: str | None) -> int:
    """The user's group count (in one status) from the trigger-maintained counters."""
    query = select(func.coalesce(func.sum(PostGroupCount.n), 0)).where(PostGroupCount.user_id == user_id)
    if status is not None:
        query = query.where(PostGroupCount.status == status)
    return int(await session.scalar(query) or 0)


async def _items(session: AsyncSession, groups: list[PostGroup]) -> list[GroupSummary]:
    ids = [g.id for g in groups]
    platforms: dict[str, list[ListedPlatform]] = {gid: [] for gid in ids}
    media_urls = await media.urls_by_group(session, ids)
    if ids:
        rows = await session.execute(
            select(Post.group_id, Post.platform, Post.account_id, Post.status).where(
                Post.group_id.in_(ids), Post.thread_index == 0
            )
        )
        for group_id, platform, account_id, status in rows:
            platforms[group_id].append(ListedPlatform(platform, account_id, status))
    return [
        GroupSummary(
            id=g.id,
            content=g.content,
            status=g.status,
            scheduled_time=g.scheduled_time,
            created_at=g.created_at,
            updated_at=g.updated_at,
            platforms=_in_group_order(g, platforms[g.id]),
            media_urls=media_urls[g.id],
        )
        for g in groups
    ]


def _in_group_order(group: PostGroup, entries: list[ListedPlatform]) -> list[ListedPlatform]:
    order = {pid: i for i, pid in enumerate(group.platforms)}
    return sorted(entries, key=lambda e: order.get(e.platform_id, len(order)))
