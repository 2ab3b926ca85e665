"""Webhooks: list, create, update, delete, regenerate-secret, test, deliveries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse

from postpost.api.deps import JsonBody, PrincipalDep, ServicesDep, SessionDep
from postpost.api.errors import failure_message
from postpost.api.paging import clamp_limit
from postpost.api.schemas import ErrorBody, SuccessReply, json_body, responses
from postpost.api.webhook_schemas import (
    CreateWebhookBody,
    CreateWebhookReply,
    DeliveriesReply,
    RegenerateSecretBody,
    RegenerateSecretReply,
    TestWebhookReply,
    UpdateWebhookBody,
    UpdateWebhookReply,
    WebhooksReply,
)
from postpost.services import webhooks

router = APIRouter()
WebhookId = Annotated[str, Path(alias="id", description="The webhook's `_id`.")]
NOT_FOUND = (404, ErrorBody, "`Webhook not found` (also for malformed or foreign ids).")


@router.get("/webhooks", response_model=WebhooksReply, responses=responses())
async def list_webhooks(principal: PrincipalDep, session: SessionDep) -> JSONResponse:
    with failure_message("Failed to list webhooks"):
        found = await webhooks.list_webhooks(session, principal)
    return JSONResponse({"success": True, "webhooks": found})


@router.post(
    "/webhooks",
    status_code=201,
    response_model=CreateWebhookReply,
    responses=responses(),
    openapi_extra=json_body(CreateWebhookBody),
)
async def create_webhook(
    principal: PrincipalDep, session: SessionDep, services: ServicesDep, body: JsonBody
) -> JSONResponse:
    with failure_message("Failed to create webhook"):
        hook = await webhooks.create_webhook(session, principal, services.box, services.url_guard, body)
    return JSONResponse({"success": True, "webhook": hook}, status_code=201)


@router.patch(
    "/webhooks/{id}",
    response_model=UpdateWebhookReply,
    responses=responses(NOT_FOUND),
    openapi_extra=json_body(UpdateWebhookBody),
)
async def update_webhook(
    webhook_id: WebhookId, principal: PrincipalDep, session: SessionDep, services: ServicesDep, body: JsonBody
) -> JSONResponse:
    with failure_message("Failed to update webhook"):
        hook = await webhooks.update_webhook(session, principal, services.url_guard, webhook_id, body)
    return JSONResponse({"success": True, "webhook": hook})


@router.delete("/webhooks/{id}", response_model=SuccessReply, responses=responses(NOT_FOUND))
async def delete_webhook(webhook_id: WebhookId, principal: PrincipalDep, session: SessionDep) -> JSONResponse:
    with failure_message("Failed to delete webhook"):
        await webhooks.delete_webhook(session, principal, webhook_id)
    return JSONResponse({"success": True})


@router.post(
    "/webhooks/{id}/regenerate-secret",
    response_model=RegenerateSecretReply,
    responses=responses(NOT_FOUND),
    openapi_extra=json_body(RegenerateSecretBody),
)
async def regenerate_secret(
    webhook_id: WebhookId, principal: PrincipalDep, session: SessionDep, services: ServicesDep, body: JsonBody
) -> JSONResponse:
    with failure_message("Failed to regenerate secret"):
        reply = await webhooks.regenerate_secret(session, principal, services.box, webhook_id, body)
    return JSONResponse(reply)


@router.post(
    "/webhooks/{id}/test",
    response_model=TestWebhookReply,
    responses=responses(NOT_FOUND),
    summary="Send a signed ping event now and report the receiver's answer",
)
async def test_webhook(
    webhook_id: WebhookId, principal: PrincipalDep, session: SessionDep, services: ServicesDep
) -> JSONResponse:
    with failure_message("Failed to test webhook"):
        reply = await webhooks.test_webhook(
            session, principal, services.box, services.webhook_client, webhook_id
        )
    return JSONResponse(reply)


@router.get(
    "/webhooks/{id}/deliveries",
    response_model=DeliveriesReply,
    responses=responses(NOT_FOUND),
    summary="Recent delivery attempts, newest first",
)
async def list_deliveries(
    webhook_id: WebhookId,
    principal: PrincipalDep,
    session: SessionDep,
    limit: str | None = Query(None, description="How many (default 20, clamped to 1..100)."),
) -> JSONResponse:
    with failure_message("Failed to list deliveries"):
        found = await webhooks.list_attempts(session, principal, webhook_id, clamp_limit(limit, 20, 100))
    return JSONResponse({"success": True, "deliveries": found})
