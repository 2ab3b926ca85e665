"""platform-connections (and, with the engine, test-connection)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from postpost import wire
from postpost.api.deps import PrincipalDep, SessionDep
from postpost.api.errors import failure_message
from postpost.api.schemas import ConnectionsReply, responses
from postpost.services import connections

router = APIRouter()


@router.get("/platform-connections", response_model=ConnectionsReply, responses=responses())
async def platform_connections(principal: PrincipalDep, session: SessionDep) -> JSONResponse:
    with failure_message("Failed to fetch platform connections"):
        found = await connections.list_connections(session, principal.user_id)
    return JSONResponse(wire.connections(found))
