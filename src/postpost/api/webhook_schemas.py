"""Pydantic models describing the webhook and event routes in /openapi.json (services validate bodies)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

EventName = Literal["post.scheduled", "post.published", "post.failed", "token.expiring"]


class WebhookEntry(BaseModel):
    id_: str = Field(alias="_id")
    name: str
    url: str
    events: list[EventName]
    isActive: bool
    failureCount: int
    lastTriggeredAt: str | None
    createdAt: str
    updatedAt: str


class WebhooksReply(BaseModel):
    success: Literal[True]
    webhooks: list[WebhookEntry]


class CreateWebhookBody(BaseModel):
    name: str
    url: str = Field(description="http(s) URL on a public address.")
    events: list[EventName] = Field(min_length=1)


class CreatedWebhook(BaseModel):
    id_: str = Field(alias="_id")
    name: str
    url: str
    events: list[EventName]
    secret: str = Field(description="64 hex digits; shown only here and by regenerate-secret.")
    isActive: bool
    createdAt: str


class CreateWebhookReply(BaseModel):
    success: Literal[True]
    webhook: CreatedWebhook


class UpdateWebhookBody(BaseModel):
    name: str | None = None
    url: str | None = None
    events: list[EventName] | None = None
    isActive: bool | None = None


class UpdatedWebhook(BaseModel):
    id_: str = Field(alias="_id")
    name: str
    url: str
    events: list[EventName]
    isActive: bool
    updatedAt: str


class UpdateWebhookReply(BaseModel):
    success: Literal[True]
    webhook: UpdatedWebhook


class RegenerateSecretBody(BaseModel):
    graceSeconds: int | None = Field(
        None, ge=0, le=604800, description="Keep signing with the old secret too for this long."
    )


class RegenerateSecretReply(BaseModel):
    success: Literal[True]
    secret: str
    previousSecretExpiresAt: str | None = None


class TestWebhookReply(BaseModel):
    success: Literal[True]
    delivered: bool
    eventId: str
    statusCode: int | None
    durationMs: int
    error: str | None


class DeliveryAttempt(BaseModel):
    id_: str = Field(alias="_id")
    eventId: str
    event: str
    attempt: int
    success: bool
    statusCode: int | None
    durationMs: int
    error: str | None
    createdAt: str


class DeliveriesReply(BaseModel):
    success: Literal[True]
    deliveries: list[DeliveryAttempt]


class EventEntry(BaseModel):
    id_: str = Field(alias="_id")
    event: EventName
    timestamp: str
    data: dict[str, Any]


class EventsReply(BaseModel):
    success: Literal[True]
    events: list[EventEntry]
    hasMore: bool
