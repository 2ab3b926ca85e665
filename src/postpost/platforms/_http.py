"""Small HTTP helpers shared by the adapters.

`send` performs one request and turns transport failures into `PlatformError`; the status code
is left to the adapter's own classification. `json_body`, `retry_after` and `parse_time` read
responses without ever raising.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from postpost.platforms.base import ErrorCode, PlatformError


class HttpResult(NamedTuple):
    """A finished HTTP exchange: status, headers (case-insensitive) and the raw body."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes


async def send(
    http: aiohttp.ClientSession,
    method: str,
    url: str | URL,
    *,
    client_timeout: aiohttp.ClientTimeout,
    platform: str,
    maybe_published: bool = False,
    headers: Mapping[str, str] | None = None,
    json_data: Any = None,
    params: Mapping[str, str] | None = None,
    data: Any = None,
) -> HttpResult:
    """Perform one request and read the whole body.

    `data` is passed to aiohttp as is: a dict (form-encoded), `aiohttp.FormData` (multipart),
    bytes, or an async iterator of bytes (streamed, for uploads that must not sit in memory).
    `url` may be a `yarl.URL` made with ``encoded=True`` to send a path exactly as written (e.g.
    percent-encoded URNs). Redirects are not followed. Raises TIMEOUT_ERROR or NETWORK_ERROR;
    `maybe_published` is what the caller says about a request that may have reached the platform
    (a refused connection never did).
    """
    try:
        async with http.request(
            method,
            url,
            headers=headers,
            json=json_data,
            params=params,
            data=data,
            timeout=client_timeout,
            allow_redirects=False,
        ) as resp:
            body = await resp.read()
            return HttpResult(resp.status, resp.headers, body)
    except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
        raise PlatformError(
            ErrorCode.TIMEOUT_ERROR,
            f"{platform} did not answer in time",
            platform_error=str(exc) or None,
            maybe_published=maybe_published,
        ) from exc
    except aiohttp.ClientConnectorError as exc:
        raise PlatformError(
            ErrorCode.NETWORK_ERROR, f"Could not connect to {platform}", platform_error=str(exc)
        ) from exc
    except aiohttp.InvalidURL as exc:
        raise PlatformError(
            ErrorCode.UNKNOWN_ERROR, f"Invalid {platform} URL: {url}", platform_error=str(exc)
        ) from exc
    except aiohttp.ClientError as exc:  # dropped connection, disconnect, broken payload
        raise PlatformError(
            ErrorCode.NETWORK_ERROR,
            f"Connection to {platform} failed",
            platform_error=str(exc) or type(exc).__name__,
            maybe_published=maybe_published,
        ) from exc


def json_body(body: bytes) -> Any:
    """Decode a JSON body; None when it is empty or not JSON."""
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def json_object(body: bytes) -> dict[str, Any]:
    """Decode a JSON object body; an empty dict for anything else."""
    data = json_body(body)
    return data if isinstance(data, dict) else {}


def retry_after(value: str | None, *, now: datetime | None = None) -> datetime | None:
    """Parse a ``Retry-After`` value: delta seconds or an HTTP date. None if absent or invalid."""
    if not value or not value.strip():
        return None
    value = value.strip()
    now = now or datetime.now(UTC)
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return now + timedelta(seconds=max(seconds, 0.0)) if seconds == seconds else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def parse_time(value: str | None) -> datetime | None:
    """Parse an ISO-8601 timestamp (``Z`` allowed) to an aware datetime; None if invalid."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def epoch_time(value: str | None) -> datetime | None:
    """Parse epoch seconds to an aware datetime; None if invalid."""
    if not value:
        return None
    try:
        return datetime.fromtimestamp(float(value.strip()), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def error_text(body: bytes, limit: int = 500) -> str | None:
    """The body as text for error reports, shortened; None when empty."""
    text = body.decode("utf-8", "replace").strip()
    return text[:limit] or None
