"""Request dependencies: the database session, the authenticated principal, the JSON body."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.api.errors import failure_message
from postpost.config import Settings
from postpost.db.session import Database
from postpost.errors import InvalidInput
from postpost.platforms.registry import AdapterPool
from postpost.security import KeyHasher, SecretBox
from postpost.services.auth import Principal, authenticate


@dataclass
class Services:
    """What route handlers need, built once per application."""

    settings: Settings
    database: Database
    hasher: KeyHasher
    box: SecretBox
    adapters: AdapterPool
    sandbox_url: str | None


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with get_services(request).database.session() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
ServicesDep = Annotated[Services, Depends(get_services)]


async def get_principal(request: Request, session: SessionDep) -> Principal:
    """The one authentication step every /api/v1 route goes through."""
    with failure_message("Internal server error"):
        principal = await authenticate(
            session,
            get_services(request).hasher,
            api_key=request.headers.get("x-api-key"),
            acting_user_id=request.headers.get("x-postpost-user-id"),
            client=request.headers.get("x-postpost-client"),
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
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise InvalidInput("Invalid JSON body") from None
    if _has_lone_surrogate(body):
        raise InvalidInput("Invalid JSON body")
    return body


_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_lone_surrogate(value: Any) -> bool:
    """True when a string anywhere in `value` holds a `\\udXXX` escape that is not valid UTF-8 (unstorable)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


JsonBody = Annotated[Any, Depends(get_json_body)]
