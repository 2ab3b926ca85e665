"""Webhooks: create, list, update, delete, rotate the secret, test, and list delivery attempts.

Secrets are 32 random bytes as hex, stored encrypted, returned only by create and
regenerate-secret. URLs pass the SSRF guard (DNS included) on create and on update.
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import User, Webhook, WebhookAttempt
from postpost.errors import InvalidInput, NotFound
from postpost.ids import is_object_id, iso, new_id, utcnow
from postpost.net.url_guard import NOT_HTTP, UrlGuard, parse_target
from postpost.net.webhook_client import WebhookClient
from postpost.security import SecretBox
from postpost.services.auth import Principal
from postpost.services.events import EVENT_NAMES
from postpost.services.webhook_signing import envelope, signed_headers

MAX_WEBHOOKS = 10
MAX_GRACE_SECONDS = 7 * 24 * 3600
REQUIRED = "Name, URL, and at least one event are required"
NOT_FOUND = "Webhook not found"
DASHBOARD_NOT_HTTP = "Only HTTP and HTTPS URLs are allowed"
ACTIVE_VALUES: dict[object, bool] = {
    True: True,
    False: False,
    "true": True,
    "false": False,
}  # 1/0 are True/False


def new_secret() -> str:
    return secrets.token_hex(32)


def signing_secrets(
    box: SecretBox, secret: str, previous: str | None, previous_expires_at: datetime | None, now: datetime
) -> list[str]:
    """The secrets that sign a delivery now: the current one, then the previous one in its grace period."""
    found = [str(box.decrypt(secret)["secret"])]
    if previous and previous_expires_at is not None and previous_expires_at > now:
        found.append(str(box.decrypt(previous)["secret"]))
    return found


def list_view(hook: Webhook) -> dict[str, Any]:
    return {
        "_id": hook.id,
        "name": hook.name,
        "url": hook.url,
        "events": list(hook.events),
        "isActive": hook.is_active,
        "failureCount": hook.failure_count,
        "lastTriggeredAt": iso(hook.last_triggered_at),
        "createdAt": iso(hook.created_at),
        "updatedAt": iso(hook.updated_at),
    }


async def load_webhook(
    session: AsyncSession, principal: Principal, webhook_id: str, *, for_update: bool = False
) -> Webhook:
    """The caller's webhook, or NotFound("Webhook not found") (also for malformed or foreign ids)."""
    if not is_object_id(webhook_id):
        raise NotFound(NOT_FOUND)
    query = select(Webhook).where(Webhook.id == webhook_id.lower(), Webhook.user_id == principal.user_id)
    if for_update:
        query = query.with_for_update(key_share=True)
    hook = await session.scalar(query)
    if hook is None:
        raise NotFound(NOT_FOUND)
    return hook


async def list_webhooks(
    session: AsyncSession, principal: Principal, *, dashboard: bool = False
) -> list[dict[str, Any]]:
    """The API's list; the dashboard's also has `userId` and is sorted newest first."""
    query = select(Webhook).where(Webhook.user_id == principal.user_id)
    if not dashboard:
        return [list_view(hook) for hook in await session.scalars(query)]
    hooks = await session.scalars(query.order_by(Webhook.created_at.desc(), Webhook.id.desc()))
    return [{**list_view(hook), "userId": hook.user_id} for hook in hooks]


def _invalid_events(events: list[Any]) -> list[str]:
    return [str(event) for event in events if event not in EVENT_NAMES]


def _unique(events: list[str]) -> list[str]:
    return list(dict.fromkeys(events))


async def create_webhook(
    session: AsyncSession,
    principal: Principal,
    box: SecretBox,
    guard: UrlGuard,
    body: Any,
    *,
    dashboard: bool = False,
) -> dict[str, Any]:
    """Validate in the contract's order (required, URL format, events, URL target, limit); store.

    The dashboard's variant names no valid events in its error and has its own scheme message.
    """
    body = body if isinstance(body, dict) else {}
    name, url, events = body.get("name"), body.get("url"), body.get("events")
    if not (name and isinstance(name, str) and url and isinstance(url, str)):
        raise InvalidInput(REQUIRED)
    if not isinstance(events, list) or not events:
        raise InvalidInput(REQUIRED)
    _check_name(name)
    parse_target(url)
    invalid = _invalid_events(events)
    if invalid and dashboard:
        raise InvalidInput(f"Invalid events: {', '.join(invalid)}")
    if invalid:
        raise InvalidInput(f"Invalid events: {', '.join(invalid)}. Valid events: {', '.join(EVENT_NAMES)}")
    await _check_url(guard, url, dashboard=dashboard)
    # Lock the owner so two concurrent creates cannot both pass the limit.
    await session.execute(select(User.id).where(User.id == principal.user_id).with_for_update(key_share=True))
    count = await session.scalar(
        select(func.count()).select_from(Webhook).where(Webhook.user_id == principal.user_id)
    )
    if (count or 0) >= MAX_WEBHOOKS:
        raise InvalidInput(f"Maximum of {MAX_WEBHOOKS} webhooks per user")
    secret = new_secret()
    now = utcnow()
    hook = Webhook(
        id=new_id(),
        user_id=principal.user_id,
        name=name,
        url=url,
        events=_unique(events),
        secret=box.encrypt({"secret": secret}),
        is_active=True,
        failure_count=0,
        created_at=now,
        updated_at=now,
    )
    session.add(hook)
    await session.commit()
    return {
        "_id": hook.id,
        "name": hook.name,
        "url": hook.url,
        "events": list(hook.events),
        "secret": secret,
        "isActive": hook.is_active,
        "createdAt": iso(hook.created_at),
    }


async def _check_url(guard: UrlGuard, url: str, *, dashboard: bool) -> None:
    """The SSRF guard's verdict; the dashboard words the scheme refusal its own way."""
    try:
        await guard.check(url)
    except InvalidInput as exc:
        if dashboard and exc.message == NOT_HTTP:
            raise InvalidInput(DASHBOARD_NOT_HTTP) from None
        raise


def _check_name(name: str) -> None:
    if len(name) > 200:
        raise InvalidInput("Name must be at most 200 characters")


async def update_webhook(
    session: AsyncSession, principal: Principal, guard: UrlGuard, webhook_id: str, body: Any
) -> dict[str, Any]:
    """Apply `name`/`url`/`events` when truthy and `isActive` when a real boolean (the API's rules)."""
    body = body if isinstance(body, dict) else {}
    hook = await load_webhook(session, principal, webhook_id, for_update=True)
    name, url, events, active = (body.get(k) for k in ("name", "url", "events", "isActive"))
    if name and isinstance(name, str):
        _check_name(name)
        hook.name = name
    if url:
        if not isinstance(url, str):
            raise InvalidInput("Invalid URL format")
        await guard.check(url)
        hook.url = url
    if events:
        if not isinstance(events, list):
            raise InvalidInput(f"Invalid events: {events}")
        invalid = _invalid_events(events)
        if invalid:
            raise InvalidInput(f"Invalid events: {', '.join(invalid)}")
        hook.events = _unique(events)
    if isinstance(active, bool):
        hook.is_active = active
    hook.updated_at = utcnow()
    await session.commit()
    return _updated(hook)


def _updated(hook: Webhook, **extra: Any) -> dict[str, Any]:
    """An update's answer: the webhook's editable fields (and `extra`, in the dashboard's)."""
    answer = {"_id": hook.id, "name": hook.name, "url": hook.url, "events": list(hook.events)}
    return answer | {"isActive": hook.is_active, **extra, "updatedAt": iso(hook.updated_at)}


async def update_webhook_dashboard(
    session: AsyncSession, principal: Principal, guard: UrlGuard, webhook_id: str, body: Any
) -> dict[str, Any]:
    """The dashboard's update: every field given is applied (an empty string is a value),
    `isActive` accepts booleans, "true"/"false" and 1/0, and re-enabling resets `failureCount`."""
    body = body if isinstance(body, dict) else {}
    hook = await load_webhook(session, principal, webhook_id, for_update=True)
    if "name" in body:
        name = body["name"]
        if not isinstance(name, str):
            raise InvalidInput("Name must be a string")
        _check_name(name)
        hook.name = name
    if "url" in body:
        url = body["url"]
        if not isinstance(url, str):
            raise InvalidInput("Invalid URL format")
        parse_target(url)
        await _check_url(guard, url, dashboard=True)
        hook.url = url
    if "events" in body:
        events = body["events"]
        if not isinstance(events, list) or not events:
            raise InvalidInput(REQUIRED)
        invalid = _invalid_events(events)
        if invalid:
            raise InvalidInput(f"Invalid events: {', '.join(invalid)}")
        hook.events = _unique(events)
    if "isActive" in body:
        active = body["isActive"]
        if not isinstance(active, bool | str | int) or active not in ACTIVE_VALUES:
            raise InvalidInput("isActive must be true or false")
        enable = ACTIVE_VALUES[active]
        if enable and not hook.is_active:
            hook.failure_count = 0
        hook.is_active = enable
    hook.updated_at = utcnow()
    await session.commit()
    return _updated(hook, failureCount=hook.failure_count, lastTriggeredAt=iso(hook.last_triggered_at))


async def delete_webhook(session: AsyncSession, principal: Principal, webhook_id: str) -> None:
    """Delete the webhook with its pending deliveries and attempt log."""
    hook = await load_webhook(session, principal, webhook_id)
    await session.delete(hook)
    await session.commit()


async def regenerate_secret(
    session: AsyncSession, principal: Principal, box: SecretBox, webhook_id: str, body: Any
) -> dict[str, Any]:
    """A new secret. The old one stops at once, or signs alongside for `graceSeconds` when given."""
    grace = (body if isinstance(body, dict) else {}).get("graceSeconds")
    if grace is not None and (
        not isinstance(grace, int) or isinstance(grace, bool) or not 0 <= grace <= MAX_GRACE_SECONDS
    ):
        raise InvalidInput(f"graceSeconds must be an integer from 0 to {MAX_GRACE_SECONDS}")
    hook = await load_webhook(session, principal, webhook_id, for_update=True)
    secret = new_secret()
    now = utcnow()
    reply: dict[str, Any] = {"success": True, "secret": secret}
    if grace:
        hook.previous_secret = hook.secret
        hook.previous_secret_expires_at = now + timedelta(seconds=grace)
        reply["previousSecretExpiresAt"] = iso(hook.previous_secret_expires_at)
    else:
        hook.previous_secret = None
        hook.previous_secret_expires_at = None
    hook.secret = box.encrypt({"secret": secret})
    hook.updated_at = now
    await session.commit()
    return reply


async def test_webhook(
    session: AsyncSession, principal: Principal, box: SecretBox, client: WebhookClient, webhook_id: str
) -> dict[str, Any]:
    """Send a signed `ping` now (active or not) and report what the receiver answered."""
    hook = await load_webhook(session, principal, webhook_id)
    now = utcnow()
    keys = signing_secrets(box, hook.secret, hook.previous_secret, hook.previous_secret_expires_at, now)
    await session.commit()  # no transaction stays open across the request
    event_id = new_id()
    body = envelope("ping", iso(now) or "", {"webhookId": hook.id}).encode()
    headers = signed_headers(
        event="ping", event_id=event_id, body=body, secrets=keys, timestamp=int(time.time())
    )
    result = await client.post(hook.url, body, headers)
    session.add(
        WebhookAttempt(
            webhook_id=hook.id,
            user_id=hook.user_id,
            event_id=event_id,
            event="ping",
            attempt=1,
            status_code=result.status_code,
            duration_ms=result.duration_ms,
            error=result.error,
            created_at=utcnow(),
        )
    )
    await session.commit()
    return {
        "success": True,
        "delivered": result.ok,
        "eventId": event_id,
        "statusCode": result.status_code,
        "durationMs": result.duration_ms,
        "error": result.error,
    }


async def list_attempts(
    session: AsyncSession, principal: Principal, webhook_id: str, limit: int
) -> list[dict[str, Any]]:
    """The webhook's most recent delivery attempts, newest first."""
    hook = await load_webhook(session, principal, webhook_id)
    rows = await session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.webhook_id == hook.id)
        .order_by(WebhookAttempt.created_at.desc(), WebhookAttempt.id.desc())
        .limit(limit)
    )
    return [
        {
            "_id": row.id,
            "eventId": row.event_id,
            "event": row.event,
            "attempt": row.attempt,
            "success": row.status_code is not None and 200 <= row.status_code < 300,
            "statusCode": row.status_code,
            "durationMs": row.duration_ms,
            "error": row.error,
            "createdAt": iso(row.created_at),
        }
        for row in rows
    ]
