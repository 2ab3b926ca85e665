"""LinkedIn adapter: the versioned REST Posts API (``POST /rest/posts``) with the Images and Videos APIs.

Credentials: `account_id` is the LinkedIn id the connection posts as: a member's profile id (the
``sub`` of ``/v2/userinfo``) or an organisation's numeric id. ``secrets["author_urn"]`` is the full
author URN (``urn:li:person:…`` or ``urn:li:organization:…``; a person URN is assumed when absent),
``secrets["access_token"]`` the member's 60-day OAuth token, and ``secrets["refresh_token"]`` a
refresh token where LinkedIn grants them (only to apps approved for programmatic refresh).

Media goes up before the post, as multi-step publish state: images (``initializeUpload`` + ``PUT``),
a video in byte ranges (each part's ``ETag`` kept, then ``finalizeUpload``), then the video's
processing is polled until ``AVAILABLE``. A refused create re-checks the media: anything still
processing sends the post back to waiting.

Reconciliation: LinkedIn has no idempotency key, but it refuses a repeated post with a 422
``DUPLICATE_POST`` naming the post it duplicates. When an earlier attempt may have gone through,
that answer is the earlier attempt's post; so publishing again is the reconcile step.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import aiohttp

from postpost.platforms import _http
from postpost.platforms._linkedin_text import commentary
from postpost.platforms.base import (
    ConnectionCheck,
    Credentials,
    ErrorCode,
    InProgress,
    MediaFile,
    PlatformAdapter,
    PlatformError,
    Published,
    PublishJob,
)
from postpost.platforms.descriptor import (
    MB,
    CredentialKind,
    MediaRules,
    Pacing,
    PlatformDescriptor,
    RateWindow,
    Reconciliation,
    SandboxAccount,
    TextRules,
)
from postpost.platforms.text import CodePoints

API_VERSION = "202610"  # LinkedIn-Version: LinkedIn sunsets a monthly version about a year after release
TOKEN_DAYS = 60
REFRESH_MARGIN = timedelta(hours=1)
UPLOAD_TIMEOUT = 300.0
FIRST_POLL, MAX_POLL = 1.0, 30.0
PROCESSING_DEADLINE = 3600.0  # seconds a video may take to process before we give up
DUPLICATE_SKEW_MS = 5 * 60 * 1000
SCOPES = ("openid", "profile", "w_member_social", "r_basicprofile")

_POST_URN = re.compile(r"urn:li:(?:share|ugcPost):\d+")
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_EPOCH_2015_MS = 1_420_070_400_000


def _sandbox_account() -> SandboxAccount:
    member = "".join(secrets.choice(_ID_ALPHABET) for _ in range(10))
    name = f"Sandbox Member {member}"
    return SandboxAccount(
        account_id=member,
        username=name,
        display_name=name,
        secrets={
            "access_token": f"sandbox.{member}.{secrets.token_hex(12)}",
            "author_urn": f"urn:li:person:{member}",
        },
        expires_at=datetime.now(UTC) + timedelta(days=TOKEN_DAYS),
    )


DESCRIPTOR = PlatformDescriptor(
    name="linkedin",
    title="LinkedIn",
    text=TextRules(limit=3000, counter=CodePoints(), threads=False),
    media=MediaRules(
        max_images=20,
        max_videos=1,
        image_types=frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"}),
        video_types=frozenset({"video/mp4"}),
        image_max_bytes=5 * MB,
        video_max_bytes=500 * MB,
        video_min_seconds=3,
        video_max_seconds=30 * 60,
        alt_text_max=4086,
        convert={"image/webp": "image/jpeg"},
    ),
    credential=CredentialKind.OAUTH2,
    endpoints={"api": "https://api.linkedin.com", "auth": "https://www.linkedin.com"},
    reconciliation=Reconciliation.IDEMPOTENCY_KEY,
    pacing=Pacing(per_account=(RateWindow(25, 3600), RateWindow(100, 86400))),
    scopes=SCOPES,
    sandbox_account=_sandbox_account,
)


def author_of(creds: Credentials) -> str:
    """The URN the connection posts as."""
    return creds.secrets.get("author_urn") or f"urn:li:person:{creds.account_id}"


def post_url(urn: str) -> str:
    return f"https://www.linkedin.com/feed/update/{urn}/"


class LinkedInAdapter(PlatformAdapter):
    """Publishes posts for a member or an organisation.

    `upload_step_bytes` bounds how much of a video one publish step uploads before handing the
    remaining parts back to the engine as state (so a long upload resumes where it stopped).
    """

    descriptor = DESCRIPTOR

    def __init__(
        self,
        http: aiohttp.ClientSession,
        *,
        timeout: float = 10.0,
        app: dict[str, str] | None = None,
        upload_step_bytes: int = 32 * MB,
    ) -> None:
        super().__init__(http, timeout=timeout, app=app)
        self.upload_step_bytes = upload_step_bytes
        self.upload_timeout = aiohttp.ClientTimeout(total=max(timeout, UPLOAD_TIMEOUT))

    # ----- tokens ------------------------------------------------------------------------

    def needs_refresh(self, creds: Credentials, now: datetime) -> bool:
        """An expiring token with a refresh token to renew it (most apps get none: reconnect)."""
        return (
            "refresh_token" in creds.secrets
            and creds.expires_at is not None
            and creds.expires_at - now < REFRESH_MARGIN
        )

    async def refresh(self, creds: Credentials) -> Credentials:
        """A new access token from the refresh-token grant (the refresh token itself is kept)."""
        refresh_token = creds.secrets.get("refresh_token")
        if not refresh_token:
            raise PlatformError(
                ErrorCode.PLATFORM_AUTH_EXPIRED,
                "The LinkedIn access token has expired and LinkedIn gave this app no refresh token; "
                "reconnect the account",
            )
        client_id, client_secret = self.app.get("client_id"), self.app.get("client_secret")
        if not client_id or not client_secret:
            raise PlatformError(
                ErrorCode.PLATFORM_AUTH_EXPIRED,
                "Cannot refresh the LinkedIn token: POSTPOST_LINKEDIN_CLIENT_ID and "
                "POSTPOST_LINKEDIN_CLIENT_SECRET are not set",
            )
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": client_id,
            "client_secret": client_secret,
        }
        result = await _http.send(
            self.http,
            "POST",
            creds.endpoint("auth") + "/oauth/v2/accessToken",
            client_timeout=self.timeout,
            platform="LinkedIn",
            data=form,
        )
        body = _http.json_object(result.body)
        token = body.get("access_token")
        if result.status >= 300 or not token:
            raise _token_error(result, body)
        lifetime = float(body.get("expires_in") or TOKEN_DAYS * 86400)
        return dataclasses.replace(
            creds,
            secrets=creds.secrets.merged(
                access_token=str(token), refresh_token=str(body.get("refresh_token") or refresh_token)
            ),
            expires_at=datetime.now(UTC) + timedelta(seconds=lifetime),
        )

    # ----- publishing --------------------------------------------------------------------

    async def publish(self, job: PublishJob) -> Published | InProgress:
        """Upload the media (steps), wait for processing, then create the post."""
        state: dict[str, Any] = dict(job.state or {})
        if not state:
            if not job.part.media:
                return await self._create(job, state)
            state = await self._start(job)
        if state.get("step") == "upload":
            state = await self._upload_parts(job, state)
            if state["step"] == "upload":
                return InProgress(state, check_after=timedelta(0))
            return InProgress(state, check_after=timedelta(seconds=FIRST_POLL))
        if state.get("pending"):
            return await self._wait(job, state)
        return await self._create(job, state)

    async def _start(self, job: PublishJob) -> dict[str, Any]:
        """Upload the images, or open the video upload; the state that carries the rest."""
        images = [m for m in job.part.media if m.kind == "image"]
        videos = [m for m in job.part.media if m.kind == "video"]
        if videos and (images or len(videos) > 1):
            raise PlatformError(
                ErrorCode.INVALID_CONTENT, "A LinkedIn post carries one video, or images, not both"
            )
        author = author_of(job.creds)
        if images:
            urns = [await self._upload_image(job.creds, author, m) for m in images]
            return {"step": "create", "images": urns, "pending": []}
        return await self._open_video(job.creds, author, videos[0])

    async def _upload_image(self, creds: Credentials, author: str, media: MediaFile) -> str:
        result = await self._rest(
            creds,
            "POST",
            "/rest/images",
            params={"action": "initializeUpload"},
            json_data={"initializeUploadRequest": {"owner": author}},
        )
        value = _http.json_object(result.body).get("value") or {}
        url, urn = value.get("uploadUrl"), value.get("image")
        if not url or not urn:
            raise _malformed(result, "image upload answer has no uploadUrl/image")
        upload = await _http.send(
            self.http,
            "PUT",
            str(url),
            client_timeout=self.upload_timeout,
            platform="LinkedIn",
            headers={**self._auth(creds), "Content-Type": media.mime_type},
            data=await media.source.read(),
        )
        if upload.status >= 300:
            raise classify(upload, creating=False)
        return str(urn)

    async def _open_video(self, creds: Credentials, author: str, media: MediaFile) -> dict[str, Any]:
        request = {
            "owner": author,
            "fileSizeBytes": media.size,
            "uploadCaptions": False,
            "uploadThumbnail": False,
        }
        result = await self._rest(
            creds,
            "POST",
            "/rest/videos",
            params={"action": "initializeUpload"},
            json_data={"initializeUploadRequest": request},
        )
        value = _http.json_object(result.body).get("value") or {}
        instructions = value.get("uploadInstructions")
        if not value.get("video") or not isinstance(instructions, list) or not instructions:
            raise _malformed(result, "video upload answer has no video/uploadInstructions")
        parts = [[str(i["uploadUrl"]), int(i["firstByte"]), int(i["lastByte"])] for i in instructions]
        return {
            "step": "upload",
            "video": str(value["video"]),
            "token": str(value.get("uploadToken") or ""),
            "parts": parts,
            "etags": [],
        }

    async def _upload_parts(self, job: PublishJob, state: dict[str, Any]) -> dict[str, Any]:
        """PUT parts until this step's byte budget is spent; finalize after the last one."""
        video = next(m for m in job.part.media if m.kind == "video")
        parts, etags = list(state["parts"]), list(state["etags"])
        sent = 0
        while parts and sent < self.upload_step_bytes:
            url, first, last = parts[0]
            data = await _read_range(video, first, last)
            result = await _http.send(
                self.http,
                "PUT",
                url,
                client_timeout=self.upload_timeout,
                platform="LinkedIn",
                headers={"Content-Type": "application/octet-stream"},
                data=data,
            )
            if result.status >= 300:
                raise classify(result, creating=False)
            etag = result.headers.get("ETag")
            if not etag:
                raise _malformed(result, "video part upload answer has no ETag")
            etags.append(etag)
            parts.pop(0)
            sent += len(data)
        if parts:
            return {**state, "parts": parts, "etags": etags}
        finalize = {"video": state["video"], "uploadToken": state["token"], "uploadedPartIds": etags}
        await self._rest(
            job.creds,
            "POST",
            "/rest/videos",
            params={"action": "finalizeUpload"},
            json_data={"finalizeUploadRequest": finalize},
        )
        return {"step": "create", "video": state["video"], "pending": [state["video"]]}

    async def _wait(self, job: PublishJob, state: dict[str, Any]) -> Published | InProgress:
        """Poll the media still processing; create the post once all of it is available."""
        pending = await self._still_processing(job.creds, state["pending"])
        if not pending:
            return await self._create(job, {**state, "pending": []})
        return _waiting(state, pending)

    async def _still_processing(self, creds: Credentials, urns: list[str]) -> list[str]:
        """The URNs not yet AVAILABLE; INVALID_CONTENT when LinkedIn failed to process one."""
        waiting = []
        for urn in urns:
            kind = "videos" if urn.startswith("urn:li:video:") else "images"
            result = await self._rest(creds, "GET", f"/rest/{kind}/{quote(urn, safe='')}")
            media = _http.json_object(result.body)
            status = media.get("status")
            if status == "PROCESSING_FAILED":
                reason = str(media.get("processingFailureReason") or "PROCESSING_FAILED")
                raise PlatformError(
                    ErrorCode.INVALID_CONTENT,
                    f"LinkedIn could not process the {kind[:-1]}: {reason}",
                    status=result.status,
                    platform_error=reason,
                )
            if status != "AVAILABLE":
                waiting.append(urn)
        return waiting

    async def _create(self, job: PublishJob, state: dict[str, Any]) -> Published | InProgress:
        body: dict[str, Any] = {
            "author": author_of(job.creds),
            "commentary": commentary(job.part.text),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        content = _content(job, state)
        if content:
            body["content"] = content
        try:
            result = await self._rest(job.creds, "POST", "/rest/posts", json_data=body, creating=True)
        except PlatformError as exc:
            if exc.status != 422:
                raise
            found = _duplicate_of(job, exc)
            if found is not None:
                return found
            media = state.get("images") or ([state["video"]] if state.get("video") else [])
            pending = await self._still_processing(job.creds, media) if media else []
            if pending:
                return _waiting(state, pending)
            raise
        urn = result.headers.get("x-restli-id")
        if not urn:
            raise _malformed(result, "post answer has no x-restli-id", maybe_published=True)
        return Published(remote_id=urn, url=post_url(urn))

    # ----- connection check --------------------------------------------------------------

    async def check_connection(self, creds: Credentials) -> ConnectionCheck:
        """``GET /v2/userinfo``: the member's name (auth failures raise, refreshable when possible)."""
        try:
            result = await self._send(creds, "GET", creds.base_url + "/v2/userinfo")
        except PlatformError as exc:
            if exc.refreshable:
                raise
            return ConnectionCheck(False, exc.platform_error or exc.message)
        name = str(_http.json_object(result.body).get("name") or creds.username or creds.account_id)
        author = author_of(creds)
        message = f"Connected as {name}"
        username = name
        if author.startswith("urn:li:organization:"):
            message += f", posting as {author}"
            username = creds.username or name
        scopes = list(creds.scopes) or (creds.secrets.get("scopes") or " ".join(SCOPES)).split()
        return ConnectionCheck(True, message, username, scopes)

    # ----- transport ---------------------------------------------------------------------

    def _auth(self, creds: Credentials) -> dict[str, str]:
        token = creds.secrets.get("access_token")
        if not token:
            raise PlatformError(
                ErrorCode.PLATFORM_AUTH_EXPIRED, "No LinkedIn access token stored; reconnect the account"
            )
        return {"Authorization": f"Bearer {token}"}

    async def _rest(
        self,
        creds: Credentials,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json_data: Any = None,
        creating: bool = False,
    ) -> _http.HttpResult:
        """A call of the versioned API (``/rest/…``) with its version headers."""
        headers = {"LinkedIn-Version": API_VERSION, "X-Restli-Protocol-Version": "2.0.0"}
        return await self._send(
            creds,
            method,
            creds.base_url + path,
            headers,
            params=params,
            json_data=json_data,
            creating=creating,
        )

    async def _send(
        self,
        creds: Credentials,
        method: str,
        url: str,
        headers: dict[str, str] | None = None,
        *,
        params: dict[str, str] | None = None,
        json_data: Any = None,
        creating: bool = False,
    ) -> _http.HttpResult:
        result = await _http.send(
            self.http,
            method,
            url,
            client_timeout=self.timeout,
            platform="LinkedIn",
            maybe_published=creating,
            headers={**self._auth(creds), **(headers or {})},
            params=params,
            json_data=json_data,
        )
        if result.status >= 300:
            raise classify(result, creating=creating, refreshable="refresh_token" in creds.secrets)
        return result


ADAPTER = LinkedInAdapter


def _content(job: PublishJob, state: dict[str, Any]) -> dict[str, Any] | None:
    """The post's ``content``: one image or video as ``media``, several images as ``multiImage``."""
    if state.get("video"):
        return {"media": {"id": state["video"]}}
    urns: list[str] = state.get("images") or []
    if not urns:
        return None
    alts = [m.alt_text for m in job.part.media if m.kind == "image"]
    images = [{"id": urn, **({"altText": alt} if alt else {})} for urn, alt in zip(urns, alts, strict=False)]
    return {"media": images[0]} if len(images) == 1 else {"multiImage": {"images": images}}


def _waiting(state: dict[str, Any], pending: list[str]) -> InProgress:
    """Check `pending` media again later, backing off; give up after the processing deadline."""
    now = datetime.now(UTC).timestamp()
    since = float(state.get("since") or now)
    if now - since > PROCESSING_DEADLINE:
        raise PlatformError(
            ErrorCode.PLATFORM_SERVER_ERROR,
            "LinkedIn did not finish processing the media within an hour",
            retryable=False,
        )
    polls = int(state.get("polls") or 0)
    delay = min(FIRST_POLL * 1.5**polls, MAX_POLL)
    return InProgress(
        {**state, "pending": pending, "polls": polls + 1, "since": since}, timedelta(seconds=delay)
    )


def _duplicate_of(job: PublishJob, error: PlatformError) -> Published | None:
    """The earlier attempt's post, when LinkedIn refused this one as its duplicate.

    Only an attempt that may have reached LinkedIn before can have a duplicate of its own; a
    duplicate created well before the first attempt (the id carries its creation time) is an
    older post with the same content, not ours.
    """
    text = error.platform_error or ""
    found = _POST_URN.search(text)
    if found is None or "DUPLICATE_POST" not in text or not job.unsure:
        return None
    urn = found.group()
    created_ms = int(urn.rsplit(":", 1)[1]) >> 22
    earliest = job.since.timestamp() * 1000 - DUPLICATE_SKEW_MS if job.since else 0
    if _EPOCH_2015_MS < created_ms < earliest:
        return None
    return Published(remote_id=urn, url=post_url(urn))


async def _read_range(media: MediaFile, first: int, last: int) -> bytes:
    """Bytes `first`..`last` (inclusive) of the file, read from its source."""
    size = last - first + 1
    data = bytearray()
    chunks = media.source.chunks(offset=first, chunk_size=size)
    try:
        async for chunk in chunks:
            data += chunk
            if len(data) >= size:
                break
    finally:
        close = getattr(chunks, "aclose", None)
        if close is not None:
            await close()
    return bytes(data[:size])


def _malformed(result: _http.HttpResult, what: str, *, maybe_published: bool = False) -> PlatformError:
    return PlatformError(
        ErrorCode.UNKNOWN_ERROR,
        f"LinkedIn {what}",
        status=result.status,
        platform_error=_http.error_text(result.body),
        maybe_published=maybe_published,
    )


def _token_error(result: _http.HttpResult, body: dict[str, Any]) -> PlatformError:
    detail = str(body.get("error_description") or body.get("error") or _http.error_text(result.body) or "")
    if result.status == 429 or result.status >= 500:
        return classify(result, creating=False)
    return PlatformError(
        ErrorCode.PLATFORM_AUTH_EXPIRED,
        f"LinkedIn refused to refresh the access token: {detail or f'HTTP {result.status}'}",
        status=result.status,
        platform_error=detail or None,
    )


def next_midnight(now: datetime) -> datetime:
    """00:00 UTC after `now`: when LinkedIn's daily quotas start again."""
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day + timedelta(days=1)


def classify(result: _http.HttpResult, *, creating: bool, refreshable: bool = False) -> PlatformError:
    """Map a failed LinkedIn answer (``{"status", "serviceErrorCode", "code", "message"}``) to an error."""
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
        return err(
            ErrorCode.PLATFORM_AUTH_EXPIRED,
            f"LinkedIn rejected the access token: {detail}",
            refreshable=refreshable,
        )
    if status == 403:
        return err(ErrorCode.UNKNOWN_ERROR, f"LinkedIn denied the request (missing permission?): {detail}")
    if status == 422 or status == 400:
        if any(hint in (named + " " + message).lower() for hint in ("length", "too long", "too_long")):
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
        return err(
            ErrorCode.PLATFORM_SERVER_ERROR,
            f"LinkedIn server error (HTTP {status}): {detail}",
            maybe_published=creating,
        )
    return err(ErrorCode.UNKNOWN_ERROR, f"LinkedIn request failed (HTTP {status}): {detail}")
