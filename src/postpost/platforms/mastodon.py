"""Mastodon adapter: the REST API of one instance (``POST /api/v1/statuses``).

Credentials: `base_url` is the instance origin, ``secrets["access_token"]`` an OAuth bearer token
(Mastodon tokens never expire and have no refresh grant), optional ``secrets["scopes"]``.

Reconciling an uncertain create: Mastodon honours an ``Idempotency-Key`` header for one hour; a
second ``POST /api/v1/statuses`` with the same key returns the status created by the first one
instead of creating another. Re-publishing with the same key is therefore the reconcile step
(reconciliation mode IDEMPOTENCY_KEY). Beyond the one-hour window a retry could duplicate; the
engine's retry schedule stays well inside it.

Media: each file goes to ``POST /api/v2/media`` (multipart ``file`` with its own MIME type, alt
text as ``description``). A still image is usually processed at once (200); a video or a GIF
is processed after the upload (202): the media ids are then kept as the step's state and
``GET /api/v1/media/:id`` is read on later steps (206 processing, 200 done, 422 failed) until
the status can be created with ``media_ids[]``. A status refused because its media is still
processing sends the post back to that wait. State: ``{"media": [ids], "started": epoch s,
"polls": n}``.
"""

from __future__ import annotations

import mimetypes
import secrets
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import aiohttp

from postpost.platforms import _http
from postpost.platforms._chunked import byte_range, upload_timeout
from postpost.platforms.base import (
    ConnectionCheck,
    Credentials,
    ErrorCode,
    InProgress,
    MediaFile,
    PlatformAdapter,
    PlatformError,
    Profile,
    Published,
    PublishJob,
)
from postpost.platforms.descriptor import (
    MB,
    CredentialKind,
    MediaRules,
    OAuthFlow,
    Pacing,
    PlatformDescriptor,
    RateWindow,
    Reconciliation,
    SandboxAccount,
    TextRules,
)
from postpost.platforms.text import MastodonLength

DEFAULT_SCOPES = "read write push"
PROCESSING_LIMIT_SECONDS = 30 * 60  # give up on media the instance has not processed by then
NOT_PROCESSED = "finished processing"  # in the 422 of a status naming media still being processed


def _sandbox_account() -> SandboxAccount:
    account_id = str(secrets.randbelow(9 * 10**14) + 10**14)
    return SandboxAccount(
        account_id=account_id,
        username=f"@user{account_id}",
        secrets={"access_token": f"sandbox.{account_id}.{secrets.token_hex(12)}", "scopes": DEFAULT_SCOPES},
    )


DESCRIPTOR = PlatformDescriptor(
    name="mastodon",
    title="Mastodon",
    text=TextRules(limit=500, counter=MastodonLength(), threads=True),
    media=MediaRules(
        max_images=4,
        max_videos=1,
        image_types=frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"}),
        video_types=frozenset({"video/mp4", "video/webm", "video/quicktime"}),
        image_max_bytes=16 * MB,
        video_max_bytes=103_809_024,
        alt_text_max=1500,
    ),
    credential=CredentialKind.INSTANCE_APP,
    endpoints={"api": "https://mastodon.social"},
    reconciliation=Reconciliation.IDEMPOTENCY_KEY,
    pacing=Pacing(per_account=(RateWindow(300, 3 * 3600),)),
    scopes=tuple(DEFAULT_SCOPES.split()),
    sandbox_account=_sandbox_account,
    oauth=OAuthFlow(
        authorize=("api", "/oauth/authorize"),
        token=("api", "/oauth/token"),
        scopes=tuple(DEFAULT_SCOPES.split()),
        per_instance=True,
    ),
)


class MastodonAdapter(PlatformAdapter):
    """Publishes statuses to a Mastodon instance."""

    descriptor = DESCRIPTOR

    def __init__(
        self,
        http: aiohttp.ClientSession,
        *,
        timeout: float = 10.0,
        app: dict[str, str] | None = None,
    ) -> None:
        super().__init__(http, timeout=timeout, app=app)
        self._limits: dict[str, int] = {}

    async def text_limit(self, creds: Credentials) -> int:
        """The instance's `max_characters` (GET /api/v2/instance), read once per instance; 500 if unknown."""
        origin = creds.base_url
        if origin not in self._limits:
            limit = self.descriptor.text.limit
            try:
                result = await _http.send(
                    self.http,
                    "GET",
                    origin + "/api/v2/instance",
                    client_timeout=self.timeout,
                    platform="Mastodon",
                )
                if result.status == 200:
                    found = _http.json_object(result.body).get("configuration", {}).get("statuses", {})
                    limit = int(found.get("max_characters") or limit)
            except (PlatformError, TypeError, ValueError, AttributeError):
                return limit  # not cached: ask again next time
            self._limits[origin] = limit
        return self._limits[origin]

    async def publish(self, job: PublishJob) -> Published | InProgress:
        """Upload the part's media and wait for its processing (in steps), then create the status."""
        media_ids: list[str] = []
        if job.part.media:
            step = await self._media(job)
            if isinstance(step, InProgress):
                return step
            media_ids = step
        try:
            return await self._status(job, media_ids)
        except PlatformError as exc:
            if exc.status == 422 and NOT_PROCESSED in (exc.platform_error or ""):
                return _waiting(media_ids, job.state)
            raise

    async def _media(self, job: PublishJob) -> list[str] | InProgress:
        """The ids of the part's processed media, or the state to wait with."""
        if job.state is None:
            uploads = [await self._upload(job.creds, item) for item in job.part.media]
            media_ids = [media_id for media_id, _ in uploads]
            return media_ids if all(done for _, done in uploads) else _waiting(media_ids, None)
        media_ids = [str(m) for m in job.state["media"]]
        if time.time() - float(job.state["started"]) > PROCESSING_LIMIT_SECONDS:
            raise PlatformError(
                ErrorCode.TIMEOUT_ERROR,
                f"Mastodon did not finish processing the media in {PROCESSING_LIMIT_SECONDS // 60} minutes",
                retryable=False,
            )
        for media_id in media_ids:
            result = await self._call(job.creds, "GET", f"/api/v1/media/{media_id}", ok=(200, 206, 404, 422))
            if result.status == 206:
                return _waiting(media_ids, job.state)
            if result.status == 422:
                failed = classify(result, creating=False)
                raise PlatformError(
                    ErrorCode.INVALID_CONTENT,
                    f"Mastodon could not process the media: {failed.platform_error}",
                    status=failed.status,
                    platform_error=failed.platform_error,
                )
            # 404: a status holds it already (an earlier attempt went through): the key decides
        return media_ids

    async def _upload(self, creds: Credentials, item: MediaFile) -> tuple[str, bool]:
        """``POST /api/v2/media``: the new media id, and whether it is processed already."""
        form = aiohttp.FormData()
        name = item.id + (mimetypes.guess_extension(item.mime_type) or "")
        form.add_field(
            "file", byte_range(item.source, 0, item.size), filename=name, content_type=item.mime_type
        )
        if item.alt_text:
            form.add_field("description", item.alt_text)
        timeout = upload_timeout(self.timeout, item.size)
        result = await self._call(creds, "POST", "/api/v2/media", data=form, client_timeout=timeout)
        media_id = _http.json_object(result.body).get("id")
        if media_id is None:
            raise PlatformError(
                ErrorCode.UNKNOWN_ERROR,
                "Mastodon accepted the media but its answer has no id",
                status=result.status,
                platform_error=_http.error_text(result.body),
            )
        return str(media_id), result.status == 200

    async def _call(
        self, creds: Credentials, method: str, path: str, *, ok: tuple[int, ...] = (200, 202), **kw: Any
    ) -> _http.HttpResult:
        kw.setdefault("client_timeout", self.timeout)
        result = await _http.send(
            self.http, method, creds.base_url + path, platform="Mastodon", headers=self._auth(creds), **kw
        )
        if result.status not in ok:
            raise classify(result, creating=False)
        return result

    async def _status(self, job: PublishJob, media_ids: list[str]) -> Published:
        """Create one status (a reply when the job says so); keyed by the job's idempotency key."""
        payload: dict[str, Any] = {"status": job.part.text, "visibility": "public"}
        if media_ids:
            payload["media_ids"] = media_ids
        if job.reply_to is not None:
            payload["in_reply_to_id"] = job.reply_to.parent.remote_id
        headers = {**self._auth(job.creds), "Idempotency-Key": job.idempotency_key}
        result = await _http.send(
            self.http,
            "POST",
            job.creds.base_url + "/api/v1/statuses",
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

    async def check_connection(self, creds: Credentials) -> ConnectionCheck:
        """Verify the token with ``GET /api/v1/accounts/verify_credentials``."""
        try:
            result = await _http.send(
                self.http,
                "GET",
                creds.base_url + "/api/v1/accounts/verify_credentials",
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
        scopes = list(creds.scopes) or (creds.secrets.get("scopes") or DEFAULT_SCOPES).split()
        return ConnectionCheck(True, f"Connected as {username}", username, scopes)

    async def read_profile(self, creds: Credentials) -> Profile:
        """The account of the token (``GET /api/v1/accounts/verify_credentials``)."""
        result = await _http.send(
            self.http,
            "GET",
            creds.base_url + "/api/v1/accounts/verify_credentials",
            client_timeout=self.timeout,
            platform="Mastodon",
            headers=self._auth(creds),
        )
        if result.status >= 300:
            raise classify(result, creating=False)
        account = _http.json_object(result.body)
        if not account.get("id"):
            raise PlatformError(ErrorCode.UNKNOWN_ERROR, "Mastodon answered verify_credentials without an id")
        acct = account.get("acct") or account.get("username")
        return Profile(
            account_id=str(account["id"]),
            username=f"@{acct}" if acct else None,
            display_name=str(account.get("display_name") or acct or "") or None,
            avatar_url=str(account["avatar"]) if account.get("avatar") else None,
            profile_url=str(account["url"]) if account.get("url") else None,
        )

    async def register_app(
        self, instance: str, *, name: str, redirect_uri: str, website: str
    ) -> dict[str, str]:
        """Register this server as an app on `instance` (``POST /api/v1/apps``): its client id and secret."""
        form = {
            "client_name": name,
            "redirect_uris": redirect_uri,
            "scopes": DEFAULT_SCOPES,
            "website": website,
        }
        result = await _http.send(
            self.http,
            "POST",
            instance + "/api/v1/apps",
            client_timeout=self.timeout,
            platform="Mastodon",
            data=form,
        )
        app = _http.json_object(result.body)
        if result.status >= 300 or not app.get("client_id") or not app.get("client_secret"):
            raise PlatformError(
                ErrorCode.UNKNOWN_ERROR,
                f"{instance} did not register postpost as an app (HTTP {result.status}): "
                f"{app.get('error') or _http.error_text(result.body) or 'no client id'}",
                status=result.status,
            )
        return {"client_id": str(app["client_id"]), "client_secret": str(app["client_secret"])}

    @staticmethod
    def _auth(creds: Credentials) -> dict[str, str]:
        token = creds.secrets.get("access_token")
        if not token:
            raise PlatformError(
                ErrorCode.PLATFORM_AUTH_EXPIRED, "No Mastodon access token stored; reconnect the account"
            )
        return {"Authorization": f"Bearer {token}"}


ADAPTER = MastodonAdapter


def _waiting(media_ids: list[str], state: Mapping[str, Any] | None) -> InProgress:
    """Wait for the media's processing: 1 s after the upload, then a second longer each time, up to 10 s."""
    polls = int(state.get("polls", 0)) + 1 if state else 0
    started = float(state["started"]) if state else time.time()
    return InProgress(
        {"media": media_ids, "started": started, "polls": polls}, timedelta(seconds=min(1 + polls, 10))
    )


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
        if any(hint in detail.lower() for hint in ("file size", "too long")):
            return err(ErrorCode.CONTENT_TOO_LARGE, f"Mastodon rejected the media as too large: {detail}")
        return err(
            ErrorCode.INVALID_CONTENT, f"Mastodon rejected the {'status' if creating else 'media'}: {detail}"
        )
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
