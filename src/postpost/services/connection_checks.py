"""test-connection: validate a connection's credentials live against its platform.

Credentials go through the credential store: a session that must be refreshed first is
refreshed (one at a time per connection) and stored, never thrown away after the check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postpost.errors import InvalidInput
from postpost.ids import iso, utcnow
from postpost.platforms.base import ConnectionCheck, PlatformAdapter, PlatformError
from postpost.platforms.registry import PLATFORM_NAMES
from postpost.services.auth import Principal
from postpost.services.connections import get_connection, split_platform_id, token_expires_in
from postpost.services.credentials import CredentialStore

AdapterLookup = Callable[[str], PlatformAdapter | None]


@dataclass(frozen=True)
class ConnectionTest:
    """The outcome of test-connection (`ok` False for a connection that does not work)."""

    platform: str
    platform_id: str
    username: str | None
    ok: bool
    message: str
    permissions: list[str]
    token_expires_in: str | None
    last_successful_post: datetime | None
    last_error: dict[str, Any] | None


async def test_connection(
    session: AsyncSession,
    principal: Principal,
    store: CredentialStore,
    adapters: AdapterLookup,
    platform_id: str,
) -> ConnectionTest:
    """A found connection always yields a result: the outcome is in `ok` and `message`."""
    if "-" not in platform_id:
        raise InvalidInput("Invalid platformId format")
    platform, _raw = split_platform_id(platform_id)
    if platform.lower() not in PLATFORM_NAMES:
        return ConnectionTest(
            platform, platform_id, "unknown", False, f"Unknown platform: {platform}", [], None, None, None
        )
    connection = await get_connection(session, principal.user_id, platform_id)
    adapter = adapters(connection.platform)
    if adapter is None:
        check = ConnectionCheck(False, f"Live check is not available for {platform} yet")
    else:
        check = await _check(store, adapter, connection.id)
    now = utcnow()
    await session.refresh(connection)  # a refresh may have stored new tokens or an error
    if not check.ok:
        connection.last_error = {"message": check.message, "occurredAt": iso(now)}
    await session.commit()
    return ConnectionTest(
        platform=connection.platform,
        platform_id=connection.compound_id,
        username=check.username or connection.username,
        ok=check.ok,
        message=check.message,
        permissions=list(check.permissions) if check.ok else [],
        token_expires_in=token_expires_in(connection.access_token_expires_at, now),
        last_successful_post=connection.last_successful_post_at,
        last_error=dict(connection.last_error) if connection.last_error else None,
    )


async def _check(store: CredentialStore, adapter: PlatformAdapter, connection_id: str) -> ConnectionCheck:
    try:
        creds = await store.usable(connection_id, await store.load(connection_id), adapter)
        try:
            return await adapter.check_connection(creds.creds)
        except PlatformError as error:
            if not error.refreshable:
                raise
            creds = await store.refresh(connection_id, creds, adapter)
            return await adapter.check_connection(creds.creds)
    except PlatformError as error:
        return ConnectionCheck(False, error.platform_error or error.message)
