"""The workspace API: managed users, per-user API keys, connect-page links (INVENTORY §1.6)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from postpost import wire
from postpost.api.deps import JsonBody, PrincipalDep, ServicesDep, SessionDep
from postpost.api.errors import failure_message
from postpost.api.schemas import (
    ConnectionUrlBody,
    ConnectionUrlReply,
    CreateManagedUserBody,
    ErrorBody,
    ManagedUserReply,
    ManagedUsersReply,
    SuccessReply,
    UserKeyReply,
    json_body,
    responses,
)
from postpost.ids import iso
from postpost.services import workspace

router = APIRouter(prefix="/workspace")
NOT_MANAGED = (404, ErrorBody, "`User not found or not managed by this key`.")
INVALID_ID = (400, ErrorBody, "`Invalid userId`.")


@router.get("/users", response_model=ManagedUsersReply, responses=responses())
async def list_users(principal: PrincipalDep, session: SessionDep, services: ServicesDep) -> JSONResponse:
    with failure_message("Failed to list workspace users"):
        users = await workspace.list_users(session, principal, services.links)
    return JSONResponse({"users": [wire.managed_user(u) for u in users]})


@router.post(
    "/users",
    status_code=201,
    response_model=ManagedUserReply,
    responses=responses((409, ErrorBody, "`User with this email already exists`.")),
    openapi_extra=json_body(CreateManagedUserBody),
)
async def create_user(
    principal: PrincipalDep, session: SessionDep, services: ServicesDep, body: JsonBody
) -> JSONResponse:
    with failure_message("Failed to create workspace user"):
        user = await workspace.create_user(session, principal, services.links, body)
    return JSONResponse({"user": wire.managed_user(user)}, status_code=201)


@router.delete("/users/{userId}", response_model=SuccessReply, responses=responses(INVALID_ID, NOT_MANAGED))
async def detach_user(userId: str, principal: PrincipalDep, session: SessionDep) -> JSONResponse:
    with failure_message("Failed to detach workspace user"):
        await workspace.detach_user(session, principal, userId)
    return JSONResponse({"success": True})


@router.post(
    "/users/{userId}/api-key", response_model=UserKeyReply, responses=responses(INVALID_ID, NOT_MANAGED)
)
async def issue_key(
    userId: str, principal: PrincipalDep, session: SessionDep, services: ServicesDep
) -> JSONResponse:
    with failure_message("Failed to generate API key"):
        key = await workspace.issue_key(session, principal, services.hasher, userId)
    return JSONResponse(
        {"message": "API key generated successfully", "apiKey": key.raw, "userId": key.user_id}
    )


@router.post(
    "/users/{userId}/connection-url",
    response_model=ConnectionUrlReply,
    responses=responses(INVALID_ID, NOT_MANAGED),
    openapi_extra=json_body(ConnectionUrlBody),
)
async def connection_url(
    userId: str, principal: PrincipalDep, session: SessionDep, services: ServicesDep, body: JsonBody
) -> JSONResponse:
    with failure_message("Failed to generate connection URL"):
        link = await workspace.connection_url(session, principal, services.links, userId, body)
    return JSONResponse({"url": link.url, "tokenExpiresAt": iso(link.expires_at)})
