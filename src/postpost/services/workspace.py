"""The workspace API: a key owner's managed users, their per-user API keys and connect links.

Managed users are isolated users whose `parent_user_id` is the workspace owner; the owner acts
for them with `x-postpost-user-id` on every other route. Limits are the owner's (the billing owner).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import ApiKey, User
from postpost.errors import Conflict, Forbidden, InvalidInput, NotFound
from postpost.ids import is_object_id, utcnow
from postpost.security import KeyHasher
from postpost.services import accounts
from postpost.services.auth import Principal
from postpost.services.connect_links import DEFAULT_DAYS, ConnectLink, LinkSigner


@dataclass(frozen=True)
class ManagedUser:
    id: str
    username: str
    display_name: str
    role: str
    daily_posts_left: int
    connections_page_url: str | None
    connections_page_expires_at: datetime | None


def managed_user(user: User, links: LinkSigner) -> ManagedUser:
    url = links.url(user)
    return ManagedUser(
        id=user.id,
        username=user.email,
        display_name=user.display_name or user.email,
        role=user.role,
        daily_posts_left=user.daily_posts_left,
        connections_page_url=url,
        connections_page_expires_at=user.connect_expires_at if url else None,
    )


async def _owner(session: AsyncSession, principal: Principal) -> User:
    """The key's owner, who must be allowed workspaces (admins are)."""
    owner = await session.get(User, principal.actor_id)
    if owner is None or not (owner.workspaces_enabled or owner.is_admin):
        raise Forbidden("Workspace access is not enabled for this key")
    return owner


async def _managed(session: AsyncSession, owner: User, user_id: str) -> User:
    if not is_object_id(user_id):
        raise InvalidInput("Invalid userId")
    user = await session.get(User, user_id.lower())
    if user is None or user.parent_user_id != owner.id:
        raise NotFound("User not found or not managed by this key")
    return user


async def list_users(session: AsyncSession, principal: Principal, links: LinkSigner) -> list[ManagedUser]:
    owner = await _owner(session, principal)
    return await managed_users(session, owner.id, links)


async def managed_users(session: AsyncSession, owner_id: str, links: LinkSigner) -> list[ManagedUser]:
    """The users `owner_id` manages, oldest first."""
    rows = await session.scalars(
        select(User).where(User.parent_user_id == owner_id).order_by(User.created_at, User.id)
    )
    return [managed_user(user, links) for user in rows]


async def create_user(
    session: AsyncSession, principal: Principal, links: LinkSigner, body: Any
) -> ManagedUser:
    owner = await _owner(session, principal)
    body = body if isinstance(body, dict) else {}
    username = body.get("username")
    if not isinstance(username, str) or not username.strip():
        raise InvalidInput("Email is required")
    display_name = body.get("displayName")
    if display_name is not None and not isinstance(display_name, str):
        raise InvalidInput("displayName must be a string")
    try:
        user = await accounts.create_user(
            session,
            username,
            plan=owner.plan_key,
            parent_user_id=owner.id,
            display_name=(display_name or "").strip() or None,
        )
    except Conflict:
        raise Conflict("User with this email already exists") from None
    await session.commit()
    return managed_user(user, links)


async def detach_user(session: AsyncSession, principal: Principal, user_id: str) -> None:
    """Remove the workspace link; the user, its posts and connections stay."""
    owner = await _owner(session, principal)
    user = await _managed(session, owner, user_id)
    user.parent_user_id = None
    user.role = "user"
    await session.commit()


@dataclass(frozen=True)
class UserKey:
    user_id: str
    raw: str


async def issue_key(session: AsyncSession, principal: Principal, hasher: KeyHasher, user_id: str) -> UserKey:
    """A new per-user key; the previous one the workspace issued for this user stops working."""
    owner = await _owner(session, principal)
    user = await _managed(session, owner, user_id)
    if not principal.entitlements.api_access:
        raise Forbidden("API access is not enabled for this workspace owner")
    await session.execute(
        update(ApiKey)
        .where(ApiKey.user_id == user.id, ApiKey.workspace_issued.is_(True), ApiKey.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    key = await accounts.create_key(session, hasher, user.id, "Workspace", workspace_issued=True)
    await session.commit()
    return UserKey(user.id, key.raw)


async def connection_url(
    session: AsyncSession, principal: Principal, links: LinkSigner, user_id: str, body: Any
) -> ConnectLink:
    owner = await _owner(session, principal)
    body = body if isinstance(body, dict) else {}
    days = body.get("expiresInDays", DEFAULT_DAYS)
    if days is None:
        days = DEFAULT_DAYS
    if isinstance(days, bool) or not isinstance(days, int | float) or not math.isfinite(days) or days <= 0:
        raise InvalidInput("expiresInDays must be a positive number")
    user = await _managed(session, owner, user_id)
    link = await links.issue(session, user, days=min(float(days), 36500.0), rotate=body.get("rotate") is True)
    await session.commit()
    return link
