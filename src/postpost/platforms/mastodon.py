"""Mastodon adapter: the REST API of one instance (``POST /api/v1/statuses``).

Credentials: `base_url` is the instance origin, ``secrets["access_token"]`` an OAuth bearer token
(Mastodon tokens never expire and have no refresh grant), optional ``secrets["scopes"]``.

Reconciling an uncertain create: Mastodon honours an ``Idempotency-Key`` header for one hour; a
second ``POST /api/v1/statuses`` with the same key returns the status created by the first one
instead of creating another. Re-publishing with the same key is therefore the reconcile step, and
the adapter says so with ``idempotent_publish = True``. `find_published` cannot look a status up by
key without creating one (nothing in the API indexes statuses by key), so it always answers None;
callers must reconcile by calling `publish` again with the same key. Beyond the one-hour window a
retry can duplicate; the engine's retry schedule stays well inside it.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import aiohttp

from postpost.platforms import _http
from postpost.platforms.base import (
    ConnectionCheck,
    Credentials,
    ErrorCode,
    PlatformAdapter,
    PlatformError,
    PostPart,
    Published,
    ReplyTo,
)

URL_LENGTH = 23  # characters_reserved_per_url
DEFAULT_SCOPES = "read write push"

_URL = re.compile(r"https?://[^\s<>\"]*[^\s<>\".,;:!?'()\[\]]", re.IGNORECASE)
_REMOTE_MENTION = re.compile(r"(?<![\w@])(@[A-Za-z0-9_]+)@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", re.ASCII)


class MastodonAdapter(PlatformAdapter):
    """Publishes statuses to a Mastodon instance."""

    name: ClassVar[str] = "mastodon"
    max_text_length: ClassVar[int] = 500
    idempotent_publish: ClassVar[bool] = True

    def __init__(self, http: aiohttp.ClientSession, *, timeout: float = 10.0) -> None:
        super().__init__(http, timeout=timeout)
        self._limits: dict[str, int] = {}

    def text_length(self, text: str) -> int:
        """Code points, where every URL counts 23 and a remote mention only its ``@user`` part."""
        counted = _URL.sub("x" * URL_LENGTH, text)
        counted = _REMOTE_MENTION.sub(r"\1", counted)
        return len(counted)

    async def text_limit(self, creds: Credentials) -> int:
        """The instance's `max_characters` (GET /api/v2/instance), read once per instance; 500 if unknown."""
        if creds.base_url not in self._limits:
            limit = self.max_text_length
            try:
                result = await _http.send(
                    self.http,
                    "GET",
                    self._url(creds, "/api/v2/instance"),
                    client_timeout=self.timeout,
                    platform=self.name,
                    maybe_published=False,
                )
                if result.status == 200:
                    found = _http.json_object(result.body).get("configuration", {}).get("statuses", {})
                    limit = int(found.get("max_characters") or limit)
            except (PlatformError, TypeError, ValueError, AttributeError):
                return limit  # not cached: ask again next time
            self._limits[creds.base_url] = limit
        return self._limits[creds.base_url]

    async def prepare(self, creds: Credentials) -> Credentials:
        """Nothing to do: the bearer token is used as is."""
        return creds

    async def refresh(self, creds: Credentials) -> Credentials:
        """Mastodon tokens cannot be refreshed; the user has to reconnect."""
        raise PlatformError(
            ErrorCode.PLATFORM_AUTH_EXPIRED,
            "Mastodon access token was rejected; reconnect the account",
            refreshable=False,
        )

    async def publish(
        self, part: PostPart, creds: Credentials, *, idempotency_key: str, reply_to: ReplyTo | None = None
    ) -> Published:
        """Create one status (a reply when `reply_to` is given); keyed by `idempotency_key`."""
        payload: dict[str, Any] = {"status": part.text, "visibility": "public"}
        if reply_to is not None:
            payload["in_reply_to_id"] = reply_to.parent.remote_id
        headers = {**self._auth(creds), "Idempotency-Key": idempotency_key}
        result = await _http.send(
            self.http,
            "POST",
            self._url(creds, "/api/v1/statuses"),
            client_timeout=self.timeout,
            platform="Mastodon",
            maybe_published=True,
            headers=headers,
            json_data=payload,
        )
        if result.status >= 300:
            raise classify(result, creating=True)
        status = _http.json_object(result.body)
        status_id = status.get("id")
        if status_id is None:
            raise PlatformError(
                ErrorCode.UNKNOWN_ERROR,
                "Mastodon accepted the status but its answer has no id",
                status=result.status,
                platform_error=_http.error_text(result.body),
                maybe_published=True,
            )
        url = status.get("url") or status.get("uri")
        return Published(remote_id=str(status_id), url=str(url) if url else None)

    async def find_published(self, creds: Credentials, *, idempotency_key: str) -> Published | None:
        """Always None: reconcile by re-publishing with the same key (see the module docstring)."""
        return None

    async def check_connection(self, creds: Credentials) -> ConnectionCheck:
        """Verify the token with ``GET /api/v1/accounts/verify_credentials``."""
        try:
            result = await _http.send(
                self.http,
                "GET",
                self._url(creds, "/api/v1/accounts/verify_credentials"),
                client_timeout=self.timeout,
                platform="Mastodon",
                headers=self._auth(creds),
            )
            if result.status >= 300:
                raise classify(result, creating=False)
        except PlatformError as exc:
            return ConnectionCheck(False, exc.platform_error or exc.message)
        account = _http.json_object(result.body)
        username = account.get("username") or account.get("acct") or creds.username
        scopes = (creds.secrets.get("scopes") or DEFAULT_SCOPES).split()
        return ConnectionCheck(True, f"Connected as {username}", username, scopes)

    # ----- helpers -----------------------------------------------------------------------

    @staticmethod
    def _url(creds: Credentials, path: str) -> str:
        return creds.base_url.rstrip("/") + path

    @staticmethod
    def _auth(creds: Credentials) -> dict[str, str]:
        token = creds.secrets.get("access_token")
        if not token:
            raise PlatformError(
                ErrorCode.PLATFORM_AUTH_EXPIRED, "No Mastodon access token stored; reconnect the account"
            )
        return {"Authorization": f"Bearer {token}"}


def classify(result: _http.HttpResult, *, creating: bool) -> PlatformError:
    """Map a failed Mastodon response to a PlatformError (see the error table of the API)."""
    body = _http.json_object(result.body)
    raw = body.get("error")
    platform_error = str(raw) if raw else _http.error_text(result.body)
    detail = platform_error or f"HTTP {result.status}"
    status = result.status

    def err(code: ErrorCode, message: str, **kw: Any) -> PlatformError:
        return PlatformError(code, message, status=status, platform_error=platform_error, **kw)

    if status == 401:
        return err(ErrorCode.PLATFORM_AUTH_EXPIRED, f"Mastodon rejected the access token: {detail}")
    if status == 413:
        return err(ErrorCode.CONTENT_TOO_LARGE, f"Mastodon rejected the content as too large: {detail}")
    if status == 422:
        if "character limit" in detail.lower():
            return err(ErrorCode.CONTENT_TOO_LARGE, f"Mastodon rejected the status as too long: {detail}")
        return err(ErrorCode.INVALID_CONTENT, f"Mastodon rejected the status: {detail}")
    if status == 429:
        retry_at = _http.parse_time(result.headers.get("X-RateLimit-Reset")) or _http.retry_after(
            result.headers.get("Retry-After")
        )
        return err(ErrorCode.RATE_LIMITED, f"Mastodon rate limit exceeded: {detail}", retry_at=retry_at)
    if status >= 500:
        return err(
            ErrorCode.PLATFORM_SERVER_ERROR,
            f"Mastodon server error (HTTP {status}): {detail}",
            maybe_published=creating,
        )
    return err(ErrorCode.UNKNOWN_ERROR, f"Mastodon request failed (HTTP {status}): {detail}")
