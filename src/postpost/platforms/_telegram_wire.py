"""The Bot API on the wire, for the Telegram adapter: calls, multipart uploads, error classification.

Every call is ``POST <origin>/bot<token>/<method>`` answered ``{"ok": true, "result": …}`` or
``{"ok": false, "error_code", "description", "parameters"}``. The token is part of the URL, so
errors are masked before they leave this module.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from postpost.platforms import _http
from postpost.platforms.base import Credentials, ErrorCode, MediaFile, PlatformError

_TOO_LARGE_HINTS = ("too long", "too big", "media_caption_too_long", "entity too large")
_CHAT_HINTS = ("chat not found", "need administrator rights", "not enough rights", "chat_write_forbidden")


async def call(
    http: aiohttp.ClientSession,
    client_timeout: aiohttp.ClientTimeout,
    creds: Credentials,
    method: str,
    *,
    json_data: Mapping[str, Any] | None = None,
    form: Form | None = None,
    creating: bool = False,
) -> Any:
    """One Bot API call; its `result`. The token never appears in an error."""
    token = creds.secrets.get("bot_token") or creds.secrets.get(
        "access_token"
    )  # as `connections add` stores it
    if not token:
        raise PlatformError(
            ErrorCode.PLATFORM_AUTH_EXPIRED, "No Telegram bot token stored; reconnect the account"
        )
    url = f"{creds.base_url}/bot{token}/{method}"
    if (
        form is not None
    ):  # an upload may take long: no cap on the whole call, only on connecting and each read
        client_timeout = aiohttp.ClientTimeout(
            sock_connect=client_timeout.total, sock_read=client_timeout.total
        )
    try:
        result = await _http.send(
            http,
            "POST",
            url,
            client_timeout=client_timeout,
            platform="Telegram",
            maybe_published=creating,
            json_data=json_data if json_data is not None else ({} if form is None else None),
            data=form.writer if form is not None else None,
        )
    except PlatformError as exc:
        raise masked(exc, token, sent=form is None or form.sent) from None
    if result.status != 200:
        raise classify(result, creating=creating)
    body = _http.json_object(result.body)
    if body.get("ok") is not True or "result" not in body:
        raise no_result(body, result.status, creating)
    return body["result"]


class Upload(aiohttp.payload.AsyncIterablePayload):
    """A media file streamed from its source, with its size known (so the body has a length)."""

    def __init__(self, item: MediaFile) -> None:
        self.item = item
        self.sent = False
        super().__init__(self._chunks(), content_type=item.mime_type)

    async def _chunks(self) -> AsyncIterator[bytes]:
        async for chunk in self.item.source.chunks():
            yield chunk
        self.sent = True

    @property
    def size(self) -> int:
        return self.item.size


@dataclass(frozen=True)
class Form:
    """A multipart body and the files streamed in it."""

    writer: aiohttp.MultipartWriter
    uploads: tuple[Upload, ...]

    @property
    def sent(self) -> bool:
        """Whether every file went out (a call cut off before then cannot have posted anything)."""
        return all(upload.sent for upload in self.uploads)


def multipart(fields: Mapping[str, str], files: list[tuple[str, MediaFile]]) -> Form:
    writer = aiohttp.MultipartWriter("form-data")
    for name, value in fields.items():
        writer.append(value).set_content_disposition("form-data", name=name)
    uploads = []
    for name, item in files:
        extension = mimetypes.guess_extension(item.mime_type) or ""
        upload = Upload(item)
        writer.append_payload(upload).set_content_disposition(
            "form-data", name=name, filename=f"{item.id}{extension}"
        )
        uploads.append(upload)
    return Form(writer, tuple(uploads))


def masked(exc: PlatformError, token: str, *, sent: bool) -> PlatformError:
    """`exc` with the token masked, and not maybe-published when the upload never finished."""

    def mask(text: str | None) -> str | None:
        return text.replace(token, "<token>") if text else text

    return PlatformError(
        exc.code,
        mask(exc.message) or exc.message,
        status=exc.status,
        platform_error=mask(exc.platform_error),
        retry_at=exc.retry_at,
        maybe_published=exc.maybe_published and sent,
    )


def message(result: Any) -> dict[str, Any]:
    if not isinstance(result, dict) or not isinstance(result.get("message_id"), int):
        raise no_result(result)
    return result


def no_result(body: Any, status: int = 200, creating: bool = True) -> PlatformError:
    return PlatformError(
        ErrorCode.UNKNOWN_ERROR,
        "Telegram answered without the message it sent",
        status=status,
        platform_error=json.dumps(body)[:500],
        maybe_published=creating,
    )


def classify(result: _http.HttpResult, *, creating: bool) -> PlatformError:
    """Map a failed Bot API answer (``{"ok": false, "error_code", "description", "parameters"}``)."""
    body = _http.json_object(result.body)
    description = str(body.get("description") or "")
    platform_error = description or _http.error_text(result.body)
    detail = platform_error or f"HTTP {result.status}"
    raw_parameters = body.get("parameters")
    parameters: dict[str, Any] = raw_parameters if isinstance(raw_parameters, dict) else {}
    status = result.status
    lowered = description.lower()

    def err(code: ErrorCode, message: str, **kw: Any) -> PlatformError:
        return PlatformError(code, message, status=status, platform_error=platform_error, **kw)

    if status == 401:
        return err(
            ErrorCode.PLATFORM_AUTH_EXPIRED,
            f"Telegram rejected the bot token ({detail}); reconnect the account",
        )
    if status == 429:
        retry_at = _http.retry_after(str(parameters.get("retry_after") or "")) or _http.retry_after(
            result.headers.get("Retry-After")
        )
        return err(ErrorCode.RATE_LIMITED, f"Telegram rate limit exceeded: {detail}", retry_at=retry_at)
    if status == 413 or any(hint in lowered for hint in _TOO_LARGE_HINTS):
        return err(ErrorCode.CONTENT_TOO_LARGE, f"Telegram rejected the content as too large: {detail}")
    if status == 403:
        return err(ErrorCode.UNKNOWN_ERROR, f"The bot may not post in this chat: {detail}")
    if status == 400 and parameters.get("migrate_to_chat_id"):
        new_id = parameters["migrate_to_chat_id"]
        return err(
            ErrorCode.UNKNOWN_ERROR,
            f"The group became a supergroup with the id {new_id}: connect that chat instead ({detail})",
        )
    if status == 400 and any(hint in lowered for hint in _CHAT_HINTS):
        return err(ErrorCode.UNKNOWN_ERROR, f"The bot cannot post in this chat: {detail}")
    if status == 400:
        return err(ErrorCode.INVALID_CONTENT, f"Telegram rejected the message: {detail}")
    if status == 408:  # the front end gave up receiving the request: nothing was sent
        return err(ErrorCode.NETWORK_ERROR, f"The upload to Telegram was cut off: {detail}")
    if status >= 500:
        # the Bot API's own JSON error is a decided failure; a gateway page may hide a sent message
        return err(
            ErrorCode.PLATFORM_SERVER_ERROR,
            f"Telegram server error (HTTP {status}): {detail}",
            maybe_published=creating and body.get("ok") is not False,
        )
    return err(ErrorCode.UNKNOWN_ERROR, f"Telegram request failed (HTTP {status}): {detail}")
