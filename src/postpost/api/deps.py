"""Request dependencies: the database session, the authenticated principal, the JSON body."""

from __future__ import annotations

import json
import math
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Security
from fastapi.security import APIKeyHeader
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.api.errors import failure_message
from postpost.config import Settings
from postpost.db.session import Database
from postpost.errors import InvalidInput
from postpost.net.url_guard import UrlGuard
from postpost.net.webhook_client import WebhookClient
from postpost.platforms.registry import Adapters
from postpost.security import KeyHasher, SecretBox
from postpost.services.auth import Principal, authenticate
from postpost.services.connect_links import LinkSigner
from postpost.services.credentials import CredentialStore
from postpost.storage.base import Storage


@dataclass
class Services:
    """What route handlers need, built once per application."""

    settings: Settings
    database: Database
    hasher: KeyHasher
    box: SecretBox
    adapters: Adapters
    credentials: CredentialStore
    links: LinkSigner
    sandbox_url: str | None
    storage: Storage
    url_guard: UrlGuard
    webhook_client: WebhookClient


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with get_services(request).database.session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
ServicesDep = Annotated[Services, Depends(get_services)]


API_KEY = APIKeyHeader(name="x-api-key", auto_error=False, description="Your PostPost API key (`sk_…`).")


async def get_principal(
    request: Request,
    session: SessionDep,
    api_key: Annotated[str | None, Security(API_KEY)] = None,
    acting_user_id: Annotated[
        str | None,
        Header(
            alias="x-postpost-user-id",
            description="Act as a managed user of your workspace (24-hex user id).",
        ),
    ] = None,
    client: Annotated[
        str | None,
        Header(
            alias="x-postpost-client",
            description="`mcp` for MCP traffic (checks mcpAccess, not apiAccess).",
        ),
    ] = None,
) -> Principal:
    """The one authentication step every /api/v1 route goes through (headers declared for /openapi.json)."""
    with failure_message("Internal server error"):
        principal = await authenticate(
            session,
            get_services(request).hasher,
            api_key=api_key,
            acting_user_id=acting_user_id,
            client=client,
        )
        if session.dirty:
            await session.commit()
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def get_json_body(request: Request) -> Any:
    """The parsed JSON body; an empty body is `{}`; malformed JSON is a 400."""
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw, parse_constant=_reject_constant, parse_float=_finite_float)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise InvalidInput("Invalid JSON body") from None
    if _has_unstorable_text(body):
        raise InvalidInput("Invalid JSON body")
    return body


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def _has_unstorable_text(value: Any) -> bool:
    """True when a string (or key) holds NUL or a lone surrogate: text no database here can store."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


JsonBody = Annotated[Any, Depends(get_json_body)]
