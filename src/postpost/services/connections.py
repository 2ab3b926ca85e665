"""Connected social accounts: listing (with token health), adding, removing, resolving platform IDs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import Connection, Post
from postpost.errors import Conflict, InvalidInput, NotFound
from postpost.ids import iso, utcnow
from postpost.platforms.base import Credentials, ErrorCode, PlatformError, Secrets
from postpost.platforms.registry import PLATFORM_NAMES, adapter_classes, descriptor
from postpost.security import SecretBox

EXPIRING_SOON = timedelta(days=7)
UNPUBLISHED = ("scheduled", "pending", "draft")


def split_platform_id(compound: str) -> tuple[str, str]:
    """`telegram--100123` → (`telegram`, `-100123`): split on the first dash."""
    platform, _, raw = compound.partition("-")
    return platform, raw


def token_status(expires_at: datetime | None, now: datetime) -> str:
    if expires_at is None:
        return "unknown"
    left = expires_at - now
    if left <= timedelta(0):
        return "expired"
    return "expiring_soon" if left < EXPIRING_SOON else "valid"


def token_expires_in(expires_at: datetime | None, now: datetime) -> str | None:
    """`7d 3h`, `5h`, `< 1h`, `expired`, or None when the token never expires."""
    if expires_at is None:
        return None
    seconds = int((expires_at - now).total_seconds())
    if seconds <= 0:
        return "expired"
    days, rest = divmod(seconds, 86400)
    hours = rest // 3600
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h" if hours else "< 1h"


def expired_connection(title: str, expires_at: datetime | None, now: datetime) -> PlatformError | None:
    """The failure of a post due on a connection that stopped working (None while it works)."""
    if expires_at is None or expires_at > now:
        return None
    return PlatformError(
        ErrorCode.PLATFORM_AUTH_EXPIRED,
        f"The {title} connection expired at {iso(expires_at)}. Reconnect the account on its connect "
        "page (`postpost connections link --user <user id>` prints the link; a workspace owner gets it "
        "from POST /api/v1/workspace/users/<user id>/connection-url), then schedule the post again.",
        retryable=False,
    )


@dataclass(frozen=True)
class ConnectionInfo:
    """A connected account as users see it: never any secret."""

    platform: str
    account_id: str
    username: str | None
    display_name: str | None
    profile_image_url: str | None
    profile_url: str | None
    access_token_expires_at: datetime | None
    token_status: str
    token_expires_in: str | None
    last_successful_post: datetime | None
    last_error: dict[str, Any] | None
    is_sandbox: bool

    @property
    def platform_id(self) -> str:
        return f"{self.platform}-{self.account_id}"


def connection_info(connection: Connection, now: datetime) -> ConnectionInfo:
    return ConnectionInfo(
        platform=connection.platform,
        account_id=connection.account_id,
        username=connection.username,
        display_name=connection.display_name,
        profile_image_url=connection.profile_image_url,
        profile_url=connection.profile_url,
        access_token_expires_at=connection.access_token_expires_at,
        token_status=token_status(connection.access_token_expires_at, now),
        token_expires_in=token_expires_in(connection.access_token_expires_at, now),
        last_successful_post=connection.last_successful_post_at,
        last_error=dict(connection.last_error) if connection.last_error else None,
        is_sandbox=connection.is_sandbox,
    )


async def list_connections(session: AsyncSession, user_id: str) -> list[ConnectionInfo]:
    rows = await session.scalars(
        select(Connection).where(Connection.user_id == user_id).order_by(Connection.created_at, Connection.id)
    )
    now = utcnow()
    return [connection_info(row, now) for row in rows]


async def connections_by_compound_id(
    session: AsyncSession, user_id: str, compound_ids: Sequence[str]
) -> dict[str, Connection]:
    """The user's connections among `compound_ids`, keyed by compound id (missing ones absent)."""
    wanted = {split_platform_id(c) for c in compound_ids}
    platforms = {p for p, _ in wanted}
    rows = await session.scalars(
        select(Connection).where(Connection.user_id == user_id, Connection.platform.in_(platforms))
    )
    return {row.compound_id: row for row in rows if (row.platform, row.account_id) in wanted}


async def get_connection(session: AsyncSession, user_id: str, compound_id: str) -> Connection:
    platform, raw = split_platform_id(compound_id)
    row = await session.scalar(
        select(Connection).where(
            Connection.user_id == user_id, Connection.platform == platform, Connection.account_id == raw
        )
    )
    if row is None:
        raise NotFound("Connection not found")
    return row


def publishable_platform(name: str) -> str:
    """`name` normalised, if postpost can publish to it; InvalidInput with the reason otherwise."""
    platform = name.strip().lower()
    if platform not in PLATFORM_NAMES:
        raise InvalidInput(f"Unknown platform: {platform}. Must be one of: {', '.join(PLATFORM_NAMES)}")
    if platform not in adapter_classes():
        ready = ", ".join(adapter_classes())
        raise InvalidInput(f"Publishing to {platform} is not supported yet (supported: {ready})")
    return platform


async def add_connection(
    session: AsyncSession,
    box: SecretBox,
    *,
    user_id: str,
    platform: str,
    account_id: str,
    username: str | None = None,
    display_name: str | None = None,
    secrets: dict[str, str] | None = None,
    base_url: str | None = None,
    is_sandbox: bool = False,
    expires_at: datetime | None = None,
    scopes: list[str] | None = None,
) -> Connection:
    """Store a connection for a platform postpost can publish to; secrets are encrypted first."""
    platform = publishable_platform(platform)
    account_id = account_id.strip()
    if not account_id or any(ch.isspace() for ch in account_id):
        raise InvalidInput("Account id must be non-empty and contain no whitespace")
    exists = await session.scalar(
        select(Connection.id).where(
            Connection.user_id == user_id,
            Connection.platform == platform,
            Connection.account_id == account_id,
        )
    )
    if exists:
        raise Conflict(f"Connection {platform}-{account_id} already exists for this user")
    connection = Connection(
        user_id=user_id,
        platform=platform,
        account_id=account_id,
        username=username,
        display_name=display_name or username,
        secrets=box.encrypt(secrets) if secrets else None,
        base_url=base_url,
        is_sandbox=is_sandbox,
        access_token_expires_at=expires_at,
        scopes=scopes,
    )
    session.add(connection)
    await session.flush()
    return connection


@dataclass(frozen=True)
class Removal:
    """A removed connection and its platform posts that had not been published yet.

    Those posts stay; when their time comes they fail with "Connection not found".
    """

    platform_id: str
    queued_posts: int
    draft_posts: int


async def remove_connection(session: AsyncSession, user_id: str, platform_id: str) -> Removal:
    """Delete the user's connection `platform_id` (another user's is not found)."""
    connection = await get_connection(session, user_id, platform_id)
    rows = await session.execute(
        select(Post.status, func.count())
        .where(Post.connection_id == connection.id, Post.status.in_(UNPUBLISHED))
        .group_by(Post.status)
    )
    counts: dict[str, int] = {status: n for status, n in rows.tuples()}
    await session.execute(delete(Connection).where(Connection.id == connection.id))
    await session.commit()
    return Removal(
        platform_id=connection.compound_id,
        queued_posts=counts.get("scheduled", 0) + counts.get("pending", 0),
        draft_posts=counts.get("draft", 0),
    )


def endpoints_for(connection: Connection, sandbox_url: str | None) -> dict[str, str]:
    """The platform origins this connection talks to, by role.

    Sandbox connections send every role to the simulator; a connection's own `base_url` (a
    Mastodon instance, a Bluesky PDS) replaces the API origin.
    """
    described = descriptor(connection.platform)
    roles = dict(described.endpoints) if described else {"api": ""}
    if connection.is_sandbox and sandbox_url:
        origin = f"{sandbox_url.rstrip('/')}/{connection.platform}"
        return {role: origin for role in roles}
    if connection.base_url:
        roles["api"] = connection.base_url.rstrip("/")
    return roles


def credentials_for(connection: Connection, box: SecretBox, sandbox_url: str | None) -> Credentials:
    """Decrypted credentials and origins. Raises `security.SecretsUnreadable` for a changed key."""
    return Credentials(
        account_id=connection.account_id,
        endpoints=endpoints_for(connection, sandbox_url),
        secrets=Secrets(box.decrypt(connection.secrets)),
        username=connection.username,
        expires_at=connection.access_token_expires_at,
        scopes=tuple(connection.scopes or ()),
    )
