"""test-connection: live validation of a connection's credentials."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from postpost import wire
from postpost.api.deps import PrincipalDep, ServicesDep, SessionDep
from postpost.api.errors import failure_message
from postpost.api.schemas import ErrorBody, TestConnectionReply, responses
from postpost.services import connection_checks

router = APIRouter()


@router.post(
    "/test-connection/{platformId}",
    response_model=TestConnectionReply,
    responses=responses((404, ErrorBody, "`Connection not found`.")),
)
async def test_connection(
    platformId: str, principal: PrincipalDep, session: SessionDep, services: ServicesDep
) -> JSONResponse:
    with failure_message("Failed to test connection"):
        result = await connection_checks.test_connection(
            session, principal, services.credentials, services.adapters.get, platformId
        )
    return JSONResponse(wire.connection_test(result))
