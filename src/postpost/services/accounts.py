"""Users and API keys (created by the operator CLI; keys are shown once, stored hashed)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import ApiKey, Plan, User
from postpost.errors import Conflict, InvalidInput, NotFound
from postpost.ids import is_object_id, utcnow
from postpost.security import KeyHasher, generate_api_key, key_prefix

MAX_ACTIVE_KEYS = 10


@dataclass(frozen=True)
class IssuedKey:
    """A freshly created key: `raw` is shown once and never stored."""

    id: str
    user_id: str
    name: str
    raw: str


async def create_user(
    session: AsyncSession,
    email: str,
    *,
    plan: str = "starter",
    workspace: bool = False,
    parent_user_id: str | None = None,
    display_name: str | None = None,
) -> User:
    """Create a user on `plan`; `workspace` enables acting for managed users."""
    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise InvalidInput(f"Invalid email: {email}")
    if await session.get(Plan, plan) is None:
        raise InvalidInput(f"Unknown plan: {plan}")
    if await session.scalar(select(User.id).where(User.email == email)):
        raise Conflict(f"A user with email {email} already exists")
    user = User(
        email=email,
        display_name=display_name or email,
        plan_key=plan,
        workspaces_enabled=workspace,
        parent_user_id=parent_user_id,
        role="managed" if parent_user_id else "user",
    )
    session.add(user)
    await session.flush()
    return user


async def get_user(session: AsyncSession, user_id: str) -> User:
    user = await session.get(User, user_id) if is_object_id(user_id) else None
    if user is None:
        raise NotFound(f"User not found: {user_id}")
    return user


async def update_user(
    session: AsyncSession,
    user_id: str,
    *,
    plan: str | None = None,
    workspace: bool | None = None,
    x_bookmarks: bool | None = None,
) -> User:
    """Change a user's plan, workspace permission and X bookmarks flag (None leaves one as is)."""
    user = await get_user(session, user_id)
    if plan is not None:
        if await session.get(Plan, plan) is None:
            raise InvalidInput(f"Unknown plan: {plan}")
        user.plan_key = plan
    if workspace is not None:
        user.workspaces_enabled = workspace
    if x_bookmarks is not None:
        user.x_bookmarks_enabled = x_bookmarks
    await session.flush()
    return user


async def list_users(session: AsyncSession) -> list[User]:
    """Every user, oldest first."""
    return list(await session.scalars(select(User).order_by(User.created_at, User.id)))


async def create_key(
    session: AsyncSession,
    hasher: KeyHasher,
    user_id: str,
    name: str = "Default",
    *,
    workspace_issued: bool = False,
) -> IssuedKey:
    """Issue a key for `user_id`; at most MAX_ACTIVE_KEYS active keys per user."""
    await get_user(session, user_id)
    active = await session.scalar(
        select(func.count()).select_from(ApiKey).where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
    )
    if (active or 0) >= MAX_ACTIVE_KEYS:
        raise Conflict(f"Maximum of {MAX_ACTIVE_KEYS} active API keys per user")
    raw = generate_api_key()
    key = ApiKey(
        user_id=user_id,
        name=(name.strip() or "Default")[:100],
        key_prefix=key_prefix(raw),
        key_hash=hasher.hash(raw),
        workspace_issued=workspace_issued,
    )
    session.add(key)
    await session.flush()
    return IssuedKey(id=key.id, user_id=user_id, name=key.name, raw=raw)


async def list_keys(session: AsyncSession, user_id: str) -> list[ApiKey]:
    await get_user(session, user_id)
    rows = await session.scalars(select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.created_at))
    return list(rows)


async def revoke_key(session: AsyncSession, key_id: str) -> ApiKey:
    """Revoke a key at once; it stays stored for audit."""
    key = await session.get(ApiKey, key_id) if is_object_id(key_id) else None
    if key is None:
        raise NotFound(f"API key not found: {key_id}")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return key
