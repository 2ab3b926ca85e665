"""POSTing signed bodies to user-given URLs through the URL guard: no redirects, a total timeout.

Every request re-checks the URL; a new connection resolves the host through the guard, which
refuses blocked addresses and returns only checked ones, so the socket is pinned to them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp

from postpost import __version__
from postpost.errors import InvalidInput
from postpost.net.url_guard import BlockedAddress, UrlGuard

MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = f"postpost-webhooks/{__version__}"


@dataclass(frozen=True)
class PostResult:
    """What one attempt got: an HTTP status, or an error saying why there was none."""

    status_code: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookClient:
    """One pooled aiohttp session (created on first use, inside the event loop) for guarded POSTs."""

    def __init__(self, guard: UrlGuard, *, timeout: float) -> None:
        self.guard = guard
        self.timeout = timeout
        self._http: aiohttp.ClientSession | None = None

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            connector = aiohttp.TCPConnector(limit=0, use_dns_cache=False, resolver=self.guard.resolver())
            self._http = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                headers={"User-Agent": USER_AGENT},
                auto_decompress=False,
            )
        return self._http

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> PostResult:
        """POST `body`; never raises for network trouble (the error is in the result)."""
        started = time.perf_counter()

        def result(status: int | None, error: str | None) -> PostResult:
            return PostResult(status, error, round((time.perf_counter() - started) * 1000))

        try:
            self.guard.check_literal(url)
            async with self._session().post(
                url, data=body, headers=dict(headers), allow_redirects=False
            ) as response:
                await _drain(response)
                status = response.status
        except InvalidInput as refused:
            return result(None, refused.message)
        except TimeoutError:
            return result(None, f"Timed out after {self.timeout:g} s")
        except aiohttp.ClientConnectorError as exc:
            cause = getattr(exc, "os_error", None)
            if isinstance(cause, BlockedAddress):
                return result(None, cause.message)
            return result(None, f"Connection failed: {exc}")
        except (aiohttp.ClientError, OSError) as exc:
            return result(None, f"{type(exc).__name__}: {exc}".rstrip(": "))
        return result(status, None if 200 <= status < 300 else f"HTTP {status}")

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()


async def _drain(response: aiohttp.ClientResponse) -> None:
    """Read (and discard) up to MAX_RESPONSE_BYTES so the connection can be reused."""
    seen = 0
    async for chunk in response.content.iter_any():
        seen += len(chunk)
        if seen > MAX_RESPONSE_BYTES:
            response.close()
            return
