"""Tenant-scoped lookups: another tenant's object is indistinguishable from a missing one."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import PostGroup
from postpost.errors import NotFound
from postpost.ids import is_object_id
from postpost.services.auth import Principal


async def load_group(
    session: AsyncSession, principal: Principal, group_id: str, *, for_update: bool = False
) -> PostGroup:
    """The caller's post group, or NotFound("Post group not found") (also for malformed ids)."""
    if not is_object_id(group_id):
        raise NotFound("Post group not found")
    query = select(PostGroup).where(PostGroup.id == group_id.lower(), PostGroup.user_id == principal.user_id)
    if for_update:
        query = query.with_for_update(key_share=True)
    group = await session.scalar(query)
    if group is None:
        raise NotFound("Post group not found")
    return group
