"""Posts as the operator sees them (the CLI): any user's groups, with their timelines."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import PostGroup
from postpost.errors import NotFound
from postpost.ids import is_object_id
from postpost.services.accounts import get_user
from postpost.services.listing import GroupPage, list_posts
from postpost.services.post_logs import LogEntry, group_logs
from postpost.services.posts import GroupDetail, group_detail


@dataclass(frozen=True)
class GroupReport:
    """One group: whose it is, its platform posts and errors, and its publishing timeline."""

    user_id: str
    detail: GroupDetail
    logs: list[LogEntry]


async def user_posts(session: AsyncSession, user_id: str, *, status: str | None, limit: int) -> GroupPage:
    """A user's newest groups (optionally in one status)."""
    await get_user(session, user_id)
    params = {"limit": str(limit), "sortBy": "createdAt", "sortOrder": "desc"}
    if status:
        params["status"] = status
    return await list_posts(session, user_id, params)


async def group_report(session: AsyncSession, group_id: str) -> GroupReport:
    group = await session.get(PostGroup, group_id.lower()) if is_object_id(group_id) else None
    if group is None:
        raise NotFound(f"Post group not found: {group_id}")
    return GroupReport(group.user_id, await group_detail(session, group), await group_logs(session, group.id))
