"""API keys: the session JSON routes of INVENTORY §1.9 and the `/app/keys` page.

GET    /auth/api-keys              {apiKeys: [...]}
POST   /auth/api-keys              201 {message, apiKey: {..., rawKey}}
PATCH  /auth/api-keys/{keyId}      {message, apiKey}
DELETE /auth/api-keys/{keyId}      {message}
GET    /app/keys                   the page;  POST /app/keys: create (the raw key shown once)
POST   /app/keys/{keyId}/rename    POST /app/keys/{keyId}/revoke
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from postpost.api.deps import JsonBody, ServicesDep, SessionDep
from postpost.errors import PostpostError
from postpost.services import dashboard_keys
from postpost.services.accounts import MAX_ACTIVE_KEYS
from postpost.web.dashboard.session import CsrfDep, Viewer, ViewerDep, ViewerJsonDep
from postpost.web.dashboard.templating import PageRoute, message_of, page

api = APIRouter(include_in_schema=False)
pages = APIRouter(route_class=PageRoute, include_in_schema=False)


@api.get("/auth/api-keys")
async def list_keys(viewer: ViewerJsonDep, session: SessionDep) -> JSONResponse:
    return JSONResponse({"apiKeys": await dashboard_keys.list_keys(session, viewer.user.id)})


@api.post("/auth/api-keys")
async def create_key(
    viewer: ViewerJsonDep, _csrf: CsrfDep, session: SessionDep, services: ServicesDep, body: JsonBody
) -> JSONResponse:
    name = body.get("name") if isinstance(body, dict) else None
    key = await dashboard_keys.create_key(session, services.hasher, viewer.user.id, name)
    return JSONResponse({"message": "API key created successfully", "apiKey": key}, status_code=201)


@api.patch("/auth/api-keys/{key_id}")
async def rename_key(
    key_id: str, viewer: ViewerJsonDep, _csrf: CsrfDep, session: SessionDep, body: JsonBody
) -> JSONResponse:
    name = body.get("name") if isinstance(body, dict) else None
    key = await dashboard_keys.rename_key(session, viewer.user.id, key_id, name)
    return JSONResponse({"message": "API key updated successfully", "apiKey": key})


@api.delete("/auth/api-keys/{key_id}")
async def revoke_key(key_id: str, viewer: ViewerJsonDep, _csrf: CsrfDep, session: SessionDep) -> JSONResponse:
    await dashboard_keys.revoke_key(session, viewer.user.id, key_id)
    return JSONResponse({"message": "API key revoked successfully"})


async def _keys_page(
    request: Request,
    viewer: Viewer,
    session: SessionDep,
    *,
    status_code: int = 200,
    created: dict[str, Any] | None = None,
    notice: str | None = None,
    problem: str | None = None,
) -> Response:
    keys = await dashboard_keys.list_keys(session, viewer.user.id)
    return page(
        request,
        viewer,
        "keys.html",
        status_code=status_code,
        keys=keys,
        created=created,
        notice=notice,
        problem=problem,
        max_keys=MAX_ACTIVE_KEYS,
    )


@pages.get("/app/keys")
async def keys_page(request: Request, viewer: ViewerDep, session: SessionDep, done: str = "") -> Response:
    notices = {"renamed": "API key renamed.", "revoked": "API key revoked. It stops working at once."}
    return await _keys_page(request, viewer, session, notice=notices.get(done))


@pages.post("/app/keys")
async def create_from_page(
    request: Request, viewer: ViewerDep, _csrf: CsrfDep, session: SessionDep, services: ServicesDep
) -> Response:
    name = str((await request.form()).get("name") or "")
    try:
        created = await dashboard_keys.create_key(session, services.hasher, viewer.user.id, name)
    except PostpostError as exc:
        return await _keys_page(
            request, viewer, session, status_code=exc.status_code, problem=message_of(exc)
        )
    return await _keys_page(request, viewer, session, status_code=201, created=created)


@pages.post("/app/keys/{key_id}/rename")
async def rename_from_page(
    key_id: str, request: Request, viewer: ViewerDep, _csrf: CsrfDep, session: SessionDep
) -> Response:
    name = str((await request.form()).get("name") or "")
    try:
        await dashboard_keys.rename_key(session, viewer.user.id, key_id, name)
    except PostpostError as exc:
        return await _keys_page(
            request, viewer, session, status_code=exc.status_code, problem=message_of(exc)
        )
    return RedirectResponse("/app/keys?done=renamed", 303)


@pages.post("/app/keys/{key_id}/revoke")
async def revoke_from_page(key_id: str, viewer: ViewerDep, _csrf: CsrfDep, session: SessionDep) -> Response:
    await dashboard_keys.revoke_key(session, viewer.user.id, key_id)
    return RedirectResponse("/app/keys?done=revoked", 303)
