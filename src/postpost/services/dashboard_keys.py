"""The dashboard's API-key management (`/auth/api-keys`, INVENTORY §1.9): list, create, rename
and revoke the effective user's keys, with the dashboard's own messages."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import ApiKey, User
from postpost.errors import Forbidden, InvalidInput, NotFound
from postpost.ids import is_object_id, iso, utcnow
from postpost.security import KeyHasher
from postpost.services import accounts
from postpost.services.accounts import MAX_ACTIVE_KEYS
from postpost.services.plans import resolve_entitlements

MAX_NAME = 100
NOT_FOUND = "API key not found"
_TAG = re.compile(r"<[^>]*>")


def key_view(key: ApiKey) -> dict[str, Any]:
    return {
        "_id": key.id,
        "name": key.name,
        "keyPrefix": key.key_prefix,
        "createdAt": iso(key.created_at),
        "lastUsedAt": iso(key.last_used_at),
    }


def sanitise_name(name: str) -> str:
    """The name without HTML tags or surrounding blanks."""
    return _TAG.sub("", name).strip()


async def list_keys(session: AsyncSession, user_id: str) -> list[dict[str, Any]]:
    """The user's active keys, oldest first."""
    rows = await session.scalars(
        select(ApiKey)
        .where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
        .order_by(ApiKey.created_at, ApiKey.id)
    )
    return [key_view(row) for row in rows]


async def create_key(session: AsyncSession, hasher: KeyHasher, user_id: str, name: Any) -> dict[str, Any]:
    """A new key named `name` (empty: "Default"); the view includes `rawKey`, shown only now."""
    if name is not None and (not isinstance(name, str) or len(name) > MAX_NAME):
        raise InvalidInput(f"Name must be a string with maximum {MAX_NAME} characters")
    user = await session.get(User, user_id) if is_object_id(user_id) else None
    if user is None:
        raise NotFound("User not found")
    billing = user
    if user.parent_user_id:
        billing = await session.get(User, user.parent_user_id) or user
    if not (await resolve_entitlements(session, billing)).api_access:
        raise Forbidden("Your current plan does not include API access")
    await session.execute(select(User.id).where(User.id == user_id).with_for_update(key_share=True))
    active = await session.scalar(
        select(func.count()).select_from(ApiKey).where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
    )
    if (active or 0) >= MAX_ACTIVE_KEYS:
        raise InvalidInput(f"Maximum of {MAX_ACTIVE_KEYS} active API keys allowed")
    issued = await accounts.create_key(session, hasher, user_id, sanitise_name(name or "") or "Default")
    key = await session.get(ApiKey, issued.id)
    assert key is not None
    await session.commit()
    return {**key_view(key), "rawKey": issued.raw}


async def _active_key(session: AsyncSession, user_id: str, key_id: str) -> ApiKey:
    if not is_object_id(key_id):
        raise InvalidInput("Invalid key ID format")
    key = await session.scalar(
        select(ApiKey).where(
            ApiKey.id == key_id.lower(), ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None)
        )
    )
    if key is None:
        raise NotFound(NOT_FOUND)
    return key


async def rename_key(session: AsyncSession, user_id: str, key_id: str, name: Any) -> dict[str, Any]:
    """Rename one of the user's active keys."""
    if not isinstance(name, str) or not sanitise_name(name):
        raise InvalidInput("Name is required")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"Name must be maximum {MAX_NAME} characters")
    key = await _active_key(session, user_id, key_id)
    key.name = sanitise_name(name)
    await session.commit()
    return key_view(key)


async def revoke_key(session: AsyncSession, user_id: str, key_id: str) -> None:
    """Revoke one of the user's active keys at once (kept for audit)."""
    key = await _active_key(session, user_id, key_id)
    key.revoked_at = utcnow()
    await session.commit()
