"""LinkedIn's HTTP conventions: bearer token, version headers, and its error answers classified."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from yarl import URL

from postpost.platforms import _http
from postpost.platforms.base import Credentials, ErrorCode, PlatformError

API_VERSION = "202610"  # LinkedIn-Version: LinkedIn sunsets a monthly version about a year after release
UPLOAD_TIMEOUT = 300.0


class Api:
    """Calls LinkedIn for one adapter; every failed answer is raised as a classified PlatformError."""

    def __init__(self, http: aiohttp.ClientSession, timeout: aiohttp.ClientTimeout) -> None:
        self.http = http
        self.timeout = timeout
        self.upload_timeout = aiohttp.ClientTimeout(total=max(timeout.total or 0.0, UPLOAD_TIMEOUT))

    async def rest(
        self,
        creds: Credentials,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json_data: Any = None,
        creating: bool = False,
    ) -> _http.HttpResult:
        """A call of the versioned API (``/rest/…``) with its version headers; `path` is sent as is."""
        headers = {"LinkedIn-Version": API_VERSION, "X-Restli-Protocol-Version": "2.0.0"}
        return await self.call(
            creds,
            method,
            URL(creds.base_url + path, encoded=True),
            headers,
            params=params,
            json_data=json_data,
            creating=creating,
        )

    async def call(
        self,
        creds: Credentials,
        method: str,
        url: str | URL,
        headers: dict[str, str] | None = None,
        *,
        params: dict[str, str] | None = None,
        json_data: Any = None,
        creating: bool = False,
    ) -> _http.HttpResult:
        """One authenticated request."""
        result = await _http.send(
            self.http,
            method,
            url,
            client_timeout=self.timeout,
            platform="LinkedIn",
            maybe_published=creating,
            headers={**bearer(creds), **(headers or {})},
            params=params,
            json_data=json_data,
        )
        if result.status >= 300:
            raise classify(result, creating=creating, refreshable="refresh_token" in creds.secrets)
        return result

    async def upload(self, url: str, data: bytes, headers: dict[str, str]) -> _http.HttpResult:
        """``PUT`` bytes to an upload URL LinkedIn handed out (a longer timeout than API calls)."""
        result = await _http.send(
            self.http,
            "PUT",
            url,
            client_timeout=self.upload_timeout,
            platform="LinkedIn",
            headers=headers,
            data=data,
        )
        if result.status >= 300:
            raise classify(result, creating=False)
        return result


def author_of(creds: Credentials) -> str:
    """The URN the connection acts as: ``secrets["author_urn"]``, else the member's person URN."""
    return creds.secrets.get("author_urn") or f"urn:li:person:{creds.account_id}"


def bearer(creds: Credentials) -> dict[str, str]:
    token = creds.secrets.get("access_token")
    if not token:
        raise PlatformError(
            ErrorCode.PLATFORM_AUTH_EXPIRED, "No LinkedIn access token stored; reconnect the account"
        )
    return {"Authorization": f"Bearer {token}"}


def malformed(result: _http.HttpResult, what: str, *, maybe_published: bool = False) -> PlatformError:
    """An answer that succeeded but lacks what LinkedIn documents."""
    return PlatformError(
        ErrorCode.UNKNOWN_ERROR,
        f"LinkedIn {what}",
        status=result.status,
        platform_error=_http.error_text(result.body),
        maybe_published=maybe_published,
    )


def next_midnight(now: datetime) -> datetime:
    """00:00 UTC after `now`: when LinkedIn's daily quotas start again."""
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day + timedelta(days=1)


def classify(result: _http.HttpResult, *, creating: bool, refreshable: bool = False) -> PlatformError:
    """Map a failed answer (``{"status", "serviceErrorCode", "code", "message"}``) to a PlatformError.

    `platformError` is the error's codes (top level and per input) followed by its message.
    """
    body = _http.json_object(result.body)
    message = str(body.get("message") or "")
    inputs = (body.get("errorDetails") or {}).get("inputErrors") or []
    codes = [str(body.get("code") or "")] + [str(e.get("code") or "") for e in inputs if isinstance(e, dict)]
    named = " ".join(c for c in codes if c)
    platform_error = " ".join(p for p in (named, message) if p) or _http.error_text(result.body)
    detail = message or platform_error or f"HTTP {result.status}"
    status = result.status

    def err(code: ErrorCode, text: str, **kw: Any) -> PlatformError:
        return PlatformError(code, text, status=status, platform_error=platform_error, **kw)

    if status == 401:
        text = f"LinkedIn rejected the access token: {detail}"
        return err(ErrorCode.PLATFORM_AUTH_EXPIRED, text, refreshable=refreshable)
    if status == 403:
        return err(ErrorCode.UNKNOWN_ERROR, f"LinkedIn denied the request (missing permission?): {detail}")
    if status in (400, 422):
        if any(hint in f"{named} {message}".lower() for hint in ("length", "too long", "too_long")):
            return err(ErrorCode.CONTENT_TOO_LARGE, f"LinkedIn rejected the post as too long: {detail}")
        return err(ErrorCode.INVALID_CONTENT, f"LinkedIn rejected the post: {detail}")
    if status == 413:
        return err(ErrorCode.CONTENT_TOO_LARGE, f"LinkedIn rejected the content as too large: {detail}")
    if status == 426:
        return err(ErrorCode.UNKNOWN_ERROR, f"LinkedIn refused API version {API_VERSION}: {detail}")
    if status == 429:
        now = datetime.now(UTC)
        retry_at = _http.retry_after(result.headers.get("Retry-After"), now=now) or next_midnight(now)
        return err(ErrorCode.RATE_LIMITED, f"LinkedIn rate limit reached: {detail}", retry_at=retry_at)
    if status >= 500:
        text = f"LinkedIn server error (HTTP {status}): {detail}"
        return err(ErrorCode.PLATFORM_SERVER_ERROR, text, maybe_published=creating)
    return err(ErrorCode.UNKNOWN_ERROR, f"LinkedIn request failed (HTTP {status}): {detail}")
