"""What a connect page shows: the ten platforms and how each connects, and the user's accounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.config import Settings
from postpost.db.models import Connection, User
from postpost.platforms.descriptor import CredentialKind
from postpost.platforms.registry import PLATFORM_NAMES, descriptor
from postpost.services.connect_store import billing_owner
from postpost.services.connections import ConnectionInfo, list_connections
from postpost.services.plans import resolve_entitlements

HOW = {
    CredentialKind.OAUTH2: "oauth",
    CredentialKind.INSTANCE_APP: "instance",
    CredentialKind.APP_PASSWORD: "password",
    CredentialKind.BOT_TOKEN: "bot",
}


@dataclass(frozen=True)
class PlatformEntry:
    """One platform on the page: how it connects, and whether this server can connect it now.

    `how` is ``oauth``, ``instance`` (ask for the server first), ``password``, ``bot`` or
    ``unavailable``; `note` says why a platform cannot be connected.
    """

    name: str
    title: str
    how: str
    ready: bool
    pages: bool = False
    note: str | None = None


@dataclass(frozen=True)
class ConnectPage:
    """A user's connect page."""

    token: str
    user_name: str
    link_expires_at: datetime | None
    platforms: list[PlatformEntry]
    connections: list[ConnectionInfo]
    sandbox: bool
    limit: int | None
    used: int
    plan_name: str


def platform_entries(settings: Settings) -> list[PlatformEntry]:
    """Every platform of the contract, in its order."""
    entries = []
    for name in PLATFORM_NAMES:
        described = descriptor(name)
        flow = described.oauth if described else None
        if described is None or (described.credential is CredentialKind.OAUTH2 and flow is None):
            title = described.title if described else name.title()
            entries.append(PlatformEntry(name, title, "unavailable", False, note="not available yet"))
            continue
        how = HOW[described.credential]
        ready, note = True, None
        if how == "oauth" and flow is not None and not flow.per_instance:
            app = settings.platform_app(name)
            ready = bool(app.get("client_id") and app.get("client_secret"))
            note = None if ready else f"not configured (POSTPOST_{name.upper()}_CLIENT_ID and _SECRET)"
        pages = bool(flow and flow.pages_scopes and not flow.pages_only)  # pages_only: Connect is for pages
        entries.append(PlatformEntry(name, described.title, how, ready, pages, note))
    return entries


async def connect_page(
    session: AsyncSession, settings: Settings, user: User, token: str, *, sandbox: bool
) -> ConnectPage:
    """The page of `user` (reached with `token`)."""
    owner = await billing_owner(session, user)
    entitlements = await resolve_entitlements(session, owner)
    pool = select(User.id).where((User.id == owner.id) | (User.parent_user_id == owner.id))
    used = await session.scalar(
        select(func.count()).select_from(Connection).where(Connection.user_id.in_(pool.scalar_subquery()))
    )
    return ConnectPage(
        token=token,
        user_name=user.display_name or user.email,
        link_expires_at=user.connect_expires_at,
        platforms=platform_entries(settings),
        connections=await list_connections(session, user.id),
        sandbox=sandbox,
        limit=entitlements.connections,
        used=used or 0,
        plan_name=entitlements.plan_name,
    )
