"""test-connection: validate a connection's credentials live against its platform."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postpost.errors import InvalidInput
from postpost.ids import iso, utcnow
from postpost.platforms.base import PlatformAdapter, PlatformError
from postpost.security import SecretBox
from postpost.services.auth import Principal
from postpost.services.connections import (
    PLATFORMS,
    credentials_for,
    get_connection,
    last_error_view,
    split_platform_id,
    token_expires_in,
)

AdapterLookup = Callable[[str], PlatformAdapter | None]


async def test_connection(
    session: AsyncSession,
    principal: Principal,
    box: SecretBox,
    adapters: AdapterLookup,
    platform_id: str,
    *,
    sandbox_url: str | None,
) -> dict[str, Any]:
    """Always 200 for a found connection: the outcome is in `status` (`ok` or `error`)."""
    if "-" not in platform_id:
        raise InvalidInput("Invalid platformId format")
    platform, _raw = split_platform_id(platform_id)
    if platform.lower() not in PLATFORMS:
        return {
            "platform": platform,
            "platformId": platform_id,
            "username": "unknown",
            "status": "error",
            "message": f"Unknown platform: {platform}",
            "permissions": [],
            "tokenExpiresIn": None,
            "lastSuccessfulPost": None,
            "lastError": None,
        }
    connection = await get_connection(session, principal.user_id, platform_id)
    adapter = adapters(connection.platform)
    now = utcnow()
    if adapter is None:
        ok, message, username, permissions = (
            False,
            f"Live check is not available for {platform} yet",
            None,
            [],
        )
    else:
        try:
            check = await adapter.check_connection(credentials_for(connection, box, sandbox_url))
            ok, message, username, permissions = (
                check.ok,
                check.message,
                check.username,
                list(check.permissions),
            )
        except PlatformError as error:
            ok, message, username, permissions = False, error.message, None, []
    if not ok:
        connection.last_error = {"message": message, "occurredAt": iso(now)}
    await session.commit()
    return {
        "platform": connection.platform,
        "platformId": connection.compound_id,
        "username": username or connection.username,
        "status": "ok" if ok else "error",
        "message": message,
        "permissions": permissions,
        "tokenExpiresIn": token_expires_in(connection.access_token_expires_at, now),
        "lastSuccessfulPost": iso(connection.last_successful_post_at),
        "lastError": last_error_view(connection),
    }
