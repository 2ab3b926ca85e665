"""Webhooks: the dashboard's session JSON variant (INVENTORY §1.5) and the `/app/webhooks` page.

GET    /webhooks            {success, webhooks}: newest first, with userId, without secrets
POST   /webhooks            201 {success, webhook: {..., secret}}
PATCH  /webhooks/{id}       {success, webhook} (re-enabling resets failureCount)
DELETE /webhooks/{id}       {success: true}
GET    /app/webhooks        the page: webhooks, their recent deliveries
POST   /app/webhooks        create (the secret shown once)
POST   /app/webhooks/{id}/test | enable | disable | delete
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.api.deps import JsonBody, ServicesDep, SessionDep
from postpost.api.errors import failure_message
from postpost.errors import PostpostError
from postpost.services import webhooks
from postpost.services.auth import Principal
from postpost.services.events import EVENT_NAMES
from postpost.web.dashboard.acting import principal_for
from postpost.web.dashboard.session import CsrfDep, Viewer, ViewerDep, ViewerJsonDep
from postpost.web.dashboard.templating import PageRoute, message_of, page

RECENT_DELIVERIES = 5

api = APIRouter(include_in_schema=False)
pages = APIRouter(route_class=PageRoute, include_in_schema=False)


async def _principal(session: AsyncSession, viewer: Viewer) -> Principal:
    return await principal_for(session, viewer)


@api.get("/webhooks")
async def list_webhooks(viewer: ViewerJsonDep, session: SessionDep) -> JSONResponse:
    with failure_message("Failed to list webhooks"):
        found = await webhooks.list_webhooks(session, await _principal(session, viewer), dashboard=True)
    return JSONResponse({"success": True, "webhooks": found})


@api.post("/webhooks")
async def create_webhook(
    viewer: ViewerJsonDep, _csrf: CsrfDep, session: SessionDep, services: ServicesDep, body: JsonBody
) -> JSONResponse:
    with failure_message("Failed to create webhook"):
        principal = await _principal(session, viewer)
        hook = await webhooks.create_webhook(
            session, principal, services.box, services.url_guard, body, dashboard=True
        )
    return JSONResponse({"success": True, "webhook": hook}, status_code=201)


@api.patch("/webhooks/{webhook_id}")
async def update_webhook(
    webhook_id: str,
    viewer: ViewerJsonDep,
    _csrf: CsrfDep,
    session: SessionDep,
    services: ServicesDep,
    body: JsonBody,
) -> JSONResponse:
    with failure_message("Failed to update webhook"):
        principal = await _principal(session, viewer)
        hook = await webhooks.update_webhook_dashboard(
            session, principal, services.url_guard, webhook_id, body
        )
    return JSONResponse({"success": True, "webhook": hook})


@api.delete("/webhooks/{webhook_id}")
async def delete_webhook(
    webhook_id: str, viewer: ViewerJsonDep, _csrf: CsrfDep, session: SessionDep
) -> JSONResponse:
    with failure_message("Failed to delete webhook"):
        await webhooks.delete_webhook(session, await _principal(session, viewer), webhook_id)
    return JSONResponse({"success": True})


async def _webhooks_page(
    request: Request, viewer: Viewer, session: AsyncSession, *, status_code: int = 200, **context: Any
) -> Response:
    principal = await _principal(session, viewer)
    hooks = await webhooks.list_webhooks(session, principal, dashboard=True)
    deliveries = {
        hook["_id"]: await webhooks.list_attempts(session, principal, hook["_id"], RECENT_DELIVERIES)
        for hook in hooks
    }
    values: dict[str, Any] = {"created": None, "tested": None, "notice": None, "problem": None, "form": {}}
    values.update(context)
    return page(
        request,
        viewer,
        "webhooks.html",
        status_code=status_code,
        hooks=hooks,
        deliveries=deliveries,
        events=EVENT_NAMES,
        max_webhooks=webhooks.MAX_WEBHOOKS,
        **values,
    )


@pages.get("/app/webhooks")
async def webhooks_page(request: Request, viewer: ViewerDep, session: SessionDep, done: str = "") -> Response:
    notices = {
        "enabled": "Webhook enabled; its failure count starts again from 0.",
        "disabled": "Webhook disabled: no events are delivered to it.",
        "deleted": "Webhook deleted.",
    }
    return await _webhooks_page(request, viewer, session, notice=notices.get(done))


@pages.post("/app/webhooks")
async def create_from_page(
    request: Request, viewer: ViewerDep, _csrf: CsrfDep, session: SessionDep, services: ServicesDep
) -> Response:
    form = await request.form()
    body = {
        "name": str(form.get("name") or "").strip(),
        "url": str(form.get("url") or "").strip(),
        "events": [str(event) for event in form.getlist("events")],
    }
    try:
        principal = await _principal(session, viewer)
        hook = await webhooks.create_webhook(
            session, principal, services.box, services.url_guard, body, dashboard=True
        )
    except PostpostError as exc:
        await session.rollback()
        return await _webhooks_page(
            request, viewer, session, status_code=exc.status_code, problem=message_of(exc), form=body
        )
    return await _webhooks_page(request, viewer, session, status_code=201, created=hook)


@pages.post("/app/webhooks/{webhook_id}/test")
async def test_from_page(
    webhook_id: str,
    request: Request,
    viewer: ViewerDep,
    _csrf: CsrfDep,
    session: SessionDep,
    services: ServicesDep,
) -> Response:
    principal = await _principal(session, viewer)
    result = await webhooks.test_webhook(
        session, principal, services.box, services.webhook_client, webhook_id
    )
    return await _webhooks_page(request, viewer, session, tested={**result, "webhookId": webhook_id})


async def _set_active(
    session: AsyncSession, viewer: Viewer, services: Any, webhook_id: str, on: bool
) -> None:
    principal = await _principal(session, viewer)
    await webhooks.update_webhook_dashboard(
        session, principal, services.url_guard, webhook_id, {"isActive": on}
    )


@pages.post("/app/webhooks/{webhook_id}/enable")
async def enable_from_page(
    webhook_id: str, viewer: ViewerDep, _csrf: CsrfDep, session: SessionDep, services: ServicesDep
) -> Response:
    await _set_active(session, viewer, services, webhook_id, True)
    return RedirectResponse("/app/webhooks?done=enabled", 303)


@pages.post("/app/webhooks/{webhook_id}/disable")
async def disable_from_page(
    webhook_id: str, viewer: ViewerDep, _csrf: CsrfDep, session: SessionDep, services: ServicesDep
) -> Response:
    await _set_active(session, viewer, services, webhook_id, False)
    return RedirectResponse("/app/webhooks?done=disabled", 303)


@pages.post("/app/webhooks/{webhook_id}/delete")
async def delete_from_page(
    webhook_id: str, viewer: ViewerDep, _csrf: CsrfDep, session: SessionDep
) -> Response:
    await webhooks.delete_webhook(session, await _principal(session, viewer), webhook_id)
    return RedirectResponse("/app/webhooks?done=deleted", 303)
