"""The API key of an MCP request, and the principal it acts as.

HTTP clients send `Authorization: Bearer sk_…` (recommended) or `x-api-key: sk_…`; `postpost mcp`
(stdio) is given the key on its command line. Authentication is the REST API's
(`services.auth.authenticate`) with the client gate set to MCP: the plan's `mcpAccess` decides,
not `apiAccess`. `asUserId` is checked exactly like the `x-postpost-user-id` header.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from postpost.errors import Unauthenticated
from postpost.security import KeyHasher
from postpost.services.auth import Principal, authenticate

KEY_REQUIRED = (
    "API key required: send 'Authorization: Bearer sk_…' (or 'x-api-key: sk_…') with your PostPost API key"
)
_BEARER = re.compile(r"Bearer (sk_\S+)", re.IGNORECASE)
_KEY = re.compile(r"sk_\S+")


def api_key_from_headers(headers: Mapping[str, str]) -> str | None:
    """The well-formed key of `Authorization: Bearer sk_…` or else `x-api-key: sk_…`; None if neither."""
    bearer = _BEARER.fullmatch(headers.get("authorization", ""))
    if bearer:
        return bearer.group(1)
    key = headers.get("x-api-key", "").strip()
    return key if _KEY.fullmatch(key) else None


async def principal_for(
    session: AsyncSession, hasher: KeyHasher, api_key: str | None, *, as_user_id: str | None = None
) -> Principal:
    """Authenticate as an MCP client (mcpAccess), acting for `as_user_id` when given."""
    if not api_key:
        raise Unauthenticated(KEY_REQUIRED)
    principal = await authenticate(session, hasher, api_key=api_key, acting_user_id=as_user_id, client="mcp")
    if session.dirty:  # the key's last-used time
        await session.commit()
    return principal
