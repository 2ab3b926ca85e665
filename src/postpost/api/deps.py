"""Request dependencies: the database session, the authenticated principal, the JSON body."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.api.errors import failure_message
from postpost.config import Settings
from postpost.db.session import Database
from postpost.errors import InvalidInput
from postpost.security import KeyHasher, SecretBox
from postpost.services.auth import Principal, authenticate


@dataclass
class Services:
    """What route handlers need, built once per application."""

    settings: Settings
    database: Database
    hasher: KeyHasher
    box: SecretBox


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
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("Invalid JSON body") from None


JsonBody = Annotated[Any, Depends(get_json_body)]
