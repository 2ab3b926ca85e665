"""Who may use X bookmarks, with which X connection, and the per-user sync state row."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import Connection, User, XBookmarkState
from postpost.db.session import dialect_name
from postpost.platforms._twitter_bookmarks import SCOPE
from postpost.services.auth import Principal
from postpost.services.plans import Entitlements, resolve_entitlements
from postpost.services.x_bookmarks.errors import BookmarkError

PLATFORM = "twitter"


async def require_access(session: AsyncSession, principal: Principal) -> None:
    """The Premium gate (the billing owner's `xBookmarks` entitlement), then the user's own flag."""
    if not principal.entitlements.x_bookmarks:
        raise BookmarkError(403, "PREMIUM_REQUIRED", "X Bookmarks is available on the Premium plan only")
    enabled = await session.scalar(select(User.x_bookmarks_enabled).where(User.id == principal.user_id))
    if not enabled:
        raise BookmarkError(403, "X_BOOKMARKS_NOT_ENABLED", "X Bookmarks is not enabled for this account")


async def entitlements_of(session: AsyncSession, user: User) -> Entitlements:
    """The entitlements that apply to `user` (its workspace owner's when it is a managed user)."""
    owner = await session.get(User, user.parent_user_id) if user.parent_user_id else None
    return await resolve_entitlements(session, owner or user)


async def x_connection(session: AsyncSession, user_id: str) -> Connection | None:
    """The user's X connection (the newest, when there are several)."""
    found = await session.scalars(
        select(Connection)
        .where(Connection.user_id == user_id, Connection.platform == PLATFORM)
        .order_by(Connection.created_at.desc(), Connection.id.desc())
        .limit(1)
    )
    return found.first()


def can_read_bookmarks(connection: Connection) -> bool:
    """False when the connection's granted scopes are known and lack ``bookmark.read``."""
    return not connection.scopes or SCOPE in connection.scopes


async def state_of(session: AsyncSession, user_id: str, *, lock: bool = False) -> XBookmarkState:
    """The user's state row (created with the defaults when missing).

    `lock` serialises the caller with every other locker of this user until the transaction
    ends: a no-op write, a row lock on PostgreSQL and the write lock on SQLite.
    """
    new_row = dialect_insert(session, XBookmarkState).values(user_id=user_id, **DEFAULT_STATE)
    await session.execute(new_row.on_conflict_do_nothing())
    if lock:
        await session.execute(
            update(XBookmarkState)
            .where(XBookmarkState.user_id == user_id)
            .values(updated_at=XBookmarkState.updated_at)
        )
    state = await session.get(XBookmarkState, user_id, populate_existing=True)
    assert state is not None
    return state


async def read_state(session: AsyncSession, user_id: str) -> XBookmarkState:
    """The user's state row, or (without writing anything) one with the defaults."""
    found = await session.get(XBookmarkState, user_id)
    return found if found is not None else XBookmarkState(user_id=user_id, **DEFAULT_STATE)


DEFAULT_STATE: dict[str, Any] = {
    "export_times": [],
    "download_images": True,
    "download_videos": True,
    "fetch_referenced_tweets": True,
}


def dialect_insert(session: AsyncSession, model: type[Any]) -> Any:
    """The engine's own INSERT construct (it offers ``on_conflict_do_nothing/do_update``)."""
    insert = postgresql.insert if dialect_name(session) == "postgresql" else sqlite.insert
    return insert(model)
