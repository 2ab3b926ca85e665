"""API-key authentication and workspace impersonation, in the documented order.

1. `x-api-key` present, 2. key known and not revoked, 3. its owner exists, 4. billing owner and
entitlements resolved, 5. client gate (`mcp` → mcpAccess, else apiAccess), 6. `x-postpost-user-id`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import ApiKey, Plan, User
from postpost.errors import Forbidden, InvalidInput, Unauthenticated
from postpost.ids import is_object_id, utcnow
from postpost.security import KeyHasher, key_prefix
from postpost.services.plans import Entitlements, resolve_entitlements

LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    """Who a request acts as. Every tenant-owned query is scoped by `user_id`."""

    user_id: str
    actor_id: str
    billing_owner_id: str
    entitlements: Entitlements
    client: str
    is_workspace: bool


async def authenticate(
    session: AsyncSession,
    hasher: KeyHasher,
    *,
    api_key: str | None,
    acting_user_id: str | None = None,
    client: str | None = None,
) -> Principal:
    """Resolve the request's principal or raise the contract's AUTH error."""
    if not api_key:
        raise Unauthenticated("API key is required")
    found = await _find_key(session, hasher, api_key)
    if found is None:
        raise Unauthenticated("Invalid API key")
    key, actor, plan = found
    if actor is None:
        raise Unauthenticated("Invalid API key owner")
    billing_owner = await _billing_owner(session, actor)
    entitlements = await resolve_entitlements(
        session, billing_owner, plan if billing_owner is actor else None
    )
    client_name = "mcp" if (client or "").strip().lower() == "mcp" else "api"
    if client_name == "mcp" and not entitlements.mcp_access:
        raise Forbidden("MCP access is not enabled for this account")
    if client_name == "api" and not entitlements.api_access:
        raise Forbidden("API access is not enabled for this account")
    _touch(key)
    effective = await _effective_user(session, actor, acting_user_id)
    return Principal(
        user_id=effective.id,
        actor_id=actor.id,
        billing_owner_id=billing_owner.id,
        entitlements=entitlements,
        client=client_name,
        is_workspace=effective.id != actor.id,
    )


async def _find_key(
    session: AsyncSession, hasher: KeyHasher, raw: str
) -> tuple[ApiKey, User | None, Plan | None] | None:
    """The active key matching `raw`, with its owner and the owner's plan, in one query."""
    candidates = await session.execute(
        select(ApiKey, User, Plan)
        .outerjoin(User, User.id == ApiKey.user_id)
        .outerjoin(Plan, Plan.key == User.plan_key)
        .where(ApiKey.key_prefix == key_prefix(raw), ApiKey.revoked_at.is_(None))
        .limit(20)
    )
    for key, user, plan in candidates.tuples():
        if hasher.verify(raw, key.key_hash):
            return key, user, plan
    return None


async def _billing_owner(session: AsyncSession, user: User) -> User:
    if user.parent_user_id:
        parent = await session.get(User, user.parent_user_id)
        if parent is not None:
            return parent
    return user


def _touch(key: ApiKey) -> None:
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        key.last_used_at = now


async def _effective_user(session: AsyncSession, actor: User, acting_user_id: str | None) -> User:
    if acting_user_id is None:
        return actor
    acting_user_id = acting_user_id.strip()
    if not is_object_id(acting_user_id):
        raise InvalidInput("Invalid x-postpost-user-id")
    acting_user_id = acting_user_id.lower()
    if acting_user_id == actor.id:
        return actor
    if not (actor.workspaces_enabled or actor.is_admin):
        raise Forbidden("Workspace access is not enabled for this key")
    target = await session.get(User, acting_user_id)
    if target is None or target.parent_user_id != actor.id:
        raise Forbidden("User is not managed by key")
    return target
