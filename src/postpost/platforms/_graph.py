"""What the Meta Graph platforms (Threads, Facebook Pages, Instagram) share.

- `classify`: the Graph error envelope (``{"error": {"message", "code", "error_subcode",
  "is_transient", …}}``) as a PlatformError. The subcode is read before the code; rate limits
  take their reset from ``X-Business-Use-Case-Usage`` or ``X-App-Usage``.
- `GraphAdapter`: bearer-token calls, long-lived token refresh, lookup of recent posts.
- `ContainerAdapter`: the container flow of Threads and Instagram as multi-step state: create
  the item containers (uploading bytes where the platform takes them), wait until they are
  ``FINISHED``, create the carousel container, check the publishing quota, publish. Expired or
  broken containers are made again a bounded number of times.
"""

from __future__ import annotations

import abc
import copy
import dataclasses
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from postpost.platforms import _http
from postpost.platforms.base import (
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

AUTH_CODES = frozenset({102, 190})
RATE_CODES = frozenset({4, 9, 17, 32, 613, *range(80001, 80015)})
PERMISSION_CODES = frozenset({10, *range(200, 300)})
SERVER_CODES = frozenset({1, 2})
INVALID_CODES = frozenset({100, 324, 352, 506, 1609005})  # 324 bad image, 352 video format
POLICY_CODES = frozenset({368})
_TOO_LONG_HINTS = ("too long", "at most", "exceeds the maximum", "maximum length")

APP_USAGE_WAIT = timedelta(minutes=5)  # X-App-Usage tells how full, not when it empties
REFRESH_BEFORE = timedelta(days=30)  # refresh 60-day tokens once they are half way through
LOOKUP_SLACK = timedelta(minutes=5)  # clock skew allowed when matching a post to an attempt

# container states (Threads `status`, Instagram `status_code`)
FINISHED, IN_PROGRESS, PUBLISHED, ERROR, EXPIRED = "FINISHED", "IN_PROGRESS", "PUBLISHED", "ERROR", "EXPIRED"
POLL_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)  # seconds, by how often we asked already
MAX_PROCESSING_SECONDS = 3600.0
MAX_RECREATES = 2


def usage_retry_at(headers: Mapping[str, str], now: datetime) -> datetime | None:
    """When Meta's usage headers say the throttle lifts (None when they say nothing)."""
    waits: list[timedelta] = []
    business = _http.json_body((headers.get("X-Business-Use-Case-Usage") or "").encode())
    if isinstance(business, dict):
        for entries in business.values():
            for entry in entries if isinstance(entries, list) else []:
                minutes = entry.get("estimated_time_to_regain_access") if isinstance(entry, dict) else None
                if isinstance(minutes, int | float) and minutes > 0:
                    waits.append(timedelta(minutes=minutes))
    app = _http.json_body((headers.get("X-App-Usage") or "").encode())
    if isinstance(app, dict):
        used = [v for v in app.values() if isinstance(v, int | float)]
        if used and max(used) >= 100:
            waits.append(APP_USAGE_WAIT)
    return now + max(waits) if waits else None


def classify(
    result: _http.HttpResult,
    *,
    title: str,
    creating: bool,
    subcodes: Mapping[int, ErrorCode] | None = None,
    now: datetime | None = None,
) -> PlatformError:
    """Map a failed Graph response to a PlatformError; `subcodes` adds a platform's own."""
    error = _http.json_object(result.body).get("error")
    error = error if isinstance(error, dict) else {}
    code, subcode = _int(error.get("code")), _int(error.get("error_subcode"))
    raw = error.get("message")
    platform_error = str(raw) if raw else _http.error_text(result.body)
    detail = str(error.get("error_user_msg") or platform_error or f"HTTP {result.status}")
    ids = "/".join(str(n) for n in (code, subcode) if n is not None)
    where = f" (code {ids})" if ids else ""
    status = result.status

    def err(kind: ErrorCode, message: str, **kw: Any) -> PlatformError:
        return PlatformError(
            kind, f"{message}{where}: {detail}", status=status, platform_error=platform_error, **kw
        )

    kind = (subcodes or {}).get(subcode) if subcode is not None else None
    if kind is None and subcode is not None and 458 <= subcode <= 467:
        kind = ErrorCode.PLATFORM_AUTH_EXPIRED
    if kind is None and code is not None:
        kind = _by_code(code, detail)
    if kind is None and error.get("is_transient") is True:
        kind = ErrorCode.PLATFORM_SERVER_ERROR
    if kind is None:
        kind = _by_status(status)
    if kind is ErrorCode.PLATFORM_AUTH_EXPIRED:
        return err(kind, f"{title} rejected the access token")
    if kind is ErrorCode.RATE_LIMITED:
        retry_at = usage_retry_at(result.headers, now or datetime.now(UTC))
        return err(kind, f"{title} rate limit reached", retry_at=retry_at)
    if kind is ErrorCode.CONTENT_TOO_LARGE:
        return err(kind, f"{title} rejected the content as too large")
    if kind is ErrorCode.INVALID_CONTENT:
        return err(kind, f"{title} rejected the post")
    if kind is ErrorCode.PLATFORM_SERVER_ERROR:
        return err(kind, f"{title} server error (HTTP {status})", maybe_published=creating)
    return err(ErrorCode.UNKNOWN_ERROR, f"{title} refused the request (HTTP {status})")


def _by_code(code: int, detail: str) -> ErrorCode | None:
    if code in AUTH_CODES:
        return ErrorCode.PLATFORM_AUTH_EXPIRED
    if code in RATE_CODES:
        return ErrorCode.RATE_LIMITED
    if code in SERVER_CODES:
        return ErrorCode.PLATFORM_SERVER_ERROR
    if code in INVALID_CODES:
        too_long = any(hint in detail.lower() for hint in _TOO_LONG_HINTS)
        return ErrorCode.CONTENT_TOO_LARGE if too_long else ErrorCode.INVALID_CONTENT
    if code in PERMISSION_CODES or code in POLICY_CODES:
        return ErrorCode.UNKNOWN_ERROR
    return None


def _by_status(status: int) -> ErrorCode:
    if status == 401:
        return ErrorCode.PLATFORM_AUTH_EXPIRED
    if status == 429:
        return ErrorCode.RATE_LIMITED
    if status == 413:
        return ErrorCode.CONTENT_TOO_LARGE
    if status >= 500:
        return ErrorCode.PLATFORM_SERVER_ERROR
    return ErrorCode.UNKNOWN_ERROR


def as_dict(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


async def read_range(media: MediaFile, offset: int, size: int) -> bytes:
    """Up to `size` bytes of a media file from `offset` (the first chunk its source yields)."""
    stream = media.source.chunks(offset=offset, chunk_size=size)
    try:
        return await anext(stream, b"")
    finally:
        close = getattr(stream, "aclose", None)
        if close is not None:
            await close()


def match_recent(
    items: Iterable[Mapping[str, Any]], *, text: str, text_field: str, time_field: str, since: datetime | None
) -> Mapping[str, Any] | None:
    """The earliest listed post with exactly this text created since the attempt began."""
    wanted = text.strip()
    earliest = since - LOOKUP_SLACK if since is not None else None
    found: list[tuple[datetime, Mapping[str, Any]]] = []
    for item in items:
        if str(item.get(text_field) or "").strip() != wanted or not item.get("id"):
            continue
        when = _http.parse_time(str(item.get(time_field) or "")) or datetime.now(UTC)
        if earliest is None or when >= earliest:
            found.append((when, item))
    return min(found, key=lambda pair: pair[0])[1] if found else None


class GraphAdapter(PlatformAdapter):
    """Calls to one Meta Graph host with the connection's bearer token."""

    title = "Meta"
    version = "v23.0"
    subcodes: Mapping[int, ErrorCode] = {}

    @property
    def upload_timeout(self) -> aiohttp.ClientTimeout:
        """For requests carrying a file: no total limit, the usual one per read and connect."""
        return aiohttp.ClientTimeout(
            total=None, sock_connect=self.timeout.total, sock_read=self.timeout.total
        )

    def url(self, creds: Credentials, path: str, role: str = "api") -> str:
        return f"{creds.endpoint(role)}/{self.version}/{path.lstrip('/')}"

    def token(self, creds: Credentials) -> str:
        token = creds.secrets.get("access_token")
        if not token:
            raise PlatformError(
                ErrorCode.PLATFORM_AUTH_EXPIRED, f"No {self.title} access token stored; reconnect the account"
            )
        return token

    async def call(
        self,
        creds: Credentials,
        method: str,
        url: str,
        *,
        creating: bool = False,
        params: Mapping[str, str] | None = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        uploading: bool = False,
    ) -> dict[str, Any]:
        """One Graph request (`uploading`: it carries a file); a failure raises the classified error."""
        result = await _http.send(
            self.http,
            method,
            url,
            client_timeout=self.upload_timeout if uploading else self.timeout,
            platform=self.title,
            maybe_published=creating,
            headers={"Authorization": f"Bearer {self.token(creds)}", **(headers or {})},
            params=params,
            data=data,
        )
        if result.status >= 300:
            raise classify(result, title=self.title, creating=creating, subcodes=self.subcodes)
        return _http.json_object(result.body)

    def needs_refresh(self, creds: Credentials, now: datetime) -> bool:
        """A 60-day token is refreshed once it is half way through its life."""
        return creds.expires_at is not None and creds.expires_at - now < REFRESH_BEFORE

    async def refresh_long_lived(self, creds: Credentials, grant_type: str) -> Credentials:
        """Exchange a live long-lived token for a fresh one (``GET /refresh_access_token``)."""
        url = f"{creds.endpoint()}/refresh_access_token"
        body = await self.call(creds, "GET", url, params={"grant_type": grant_type})
        token, expires_in = body.get("access_token"), _int(body.get("expires_in"))
        if not token:
            raise PlatformError(
                ErrorCode.UNKNOWN_ERROR, f"{self.title} refreshed the token but sent none back", status=200
            )
        expires_at = datetime.now(UTC) + timedelta(seconds=expires_in) if expires_in else None
        return dataclasses.replace(
            creds, secrets=creds.secrets.merged(access_token=str(token)), expires_at=expires_at
        )

    async def permalink(self, creds: Credentials, media_id: str) -> str | None:
        """The public URL of a published post, when the platform tells it (never fails the publish)."""
        try:
            body = await self.call(creds, "GET", self.url(creds, media_id), params={"fields": "permalink"})
        except PlatformError:
            return None  # the post is out: a missing link must not turn it into a failure
        link = body.get("permalink")
        return str(link) if link else None


class Broken(Exception):
    """A container that failed: its status and the platform's detail."""

    def __init__(self, status: str, detail: str | None) -> None:
        super().__init__(status)
        self.status = status
        self.detail = detail


class ContainerAdapter(GraphAdapter):
    """Publishing through containers (Threads, Instagram), one step per call.

    State: ``started`` (epoch), ``items`` (the item containers: ``{"id", "upload", "uploaded"}``),
    ``container`` (the one to publish), ``polls``, ``recreated``.

    `profile_fields` and `picture_field` name what ``GET /me`` reads; `profile_page` is the
    public page of a username.
    """

    profile_fields = "id,username,name"
    picture_field = ""
    profile_page = ""

    async def read_profile(self, creds: Credentials) -> Profile:
        """The account the token acts for (``GET /me``)."""
        me = await self.call(creds, "GET", self.url(creds, "me"), params={"fields": self.profile_fields})
        account = str(me.get("user_id") or me.get("id") or creds.account_id)
        username = str(me.get("username") or "") or None
        picture = me.get(self.picture_field)
        return Profile(
            account,
            username=username,
            display_name=str(me.get("name") or username or account),
            avatar_url=str(picture) if picture else None,
            profile_url=self.profile_page.format(username=username) if username else None,
        )

    async def publish(self, job: PublishJob) -> Published | InProgress:
        state: dict[str, Any] = copy.deepcopy(dict(job.state or {}))
        state.setdefault("started", time.time())
        if time.time() - float(state["started"]) > MAX_PROCESSING_SECONDS:
            raise PlatformError(
                ErrorCode.TIMEOUT_ERROR,
                f"{self.title} did not finish processing the post within an hour",
                retryable=False,
            )
        looked = False
        while True:
            if "container" not in state and job.unsure and not looked:
                looked = True  # an earlier attempt may have published through another container
                found = await self.find_published(job)
                if found is not None:
                    return found
            try:
                if "container" not in state:
                    waiting = await self._prepare(job, state)
                    if waiting is not None:
                        return waiting
                status, detail = await self.container_status(job.creds, state["container"])
                if status == FINISHED:
                    await self.check_quota(job)
                    return await self.publish_container(job, state["container"])
                if status == PUBLISHED:
                    return await self._already_published(job)
                if status == IN_PROGRESS or not status:
                    return self._wait(state)
                raise Broken(status, detail)
            except Broken as broken:
                failure = self.container_failure(broken.status, broken.detail)
                recreated = int(state.get("recreated", 0))
                if failure is not None:
                    raise failure from None
                if recreated >= MAX_RECREATES:
                    raise PlatformError(
                        ErrorCode.PLATFORM_SERVER_ERROR,
                        f"{self.title} could not process the post (container {broken.status}: "
                        f"{broken.detail or 'no detail'}), also after making it again",
                        platform_error=broken.detail,
                        retryable=False,
                    ) from None
                state = {"started": state["started"], "recreated": recreated + 1}

    async def _prepare(self, job: PublishJob, state: dict[str, Any]) -> InProgress | None:
        """Create (and upload) the item containers, then the carousel: until there is one to publish."""
        media: list[MediaFile | None] = list(job.part.media) or [None]
        carousel = len(media) > 1
        if "items" not in state:
            self.check_media(job.part.media)
            state["items"] = [await self.create_item(job, item, carousel=carousel) for item in media]
            if any(entry.get("upload") for entry in state["items"]):
                return InProgress(state, timedelta(0))  # keep the containers before sending bytes
        for entry, item in zip(state["items"], media, strict=True):
            if entry.get("upload") and not entry.get("uploaded"):
                assert item is not None
                await self.upload(job.creds, entry, item)
                entry["uploaded"] = True
        if not carousel:
            state["container"] = state["items"][0]["id"]
            return None
        statuses = [await self.container_status(job.creds, entry["id"]) for entry in state["items"]]
        for status, detail in statuses:
            if status not in (FINISHED, IN_PROGRESS, ""):
                raise Broken(status, detail)
        if any(status != FINISHED for status, _detail in statuses):
            return self._wait(state)
        state["container"] = await self.create_carousel(job, [entry["id"] for entry in state["items"]])
        return None

    def _wait(self, state: dict[str, Any]) -> InProgress:
        polls = int(state.get("polls", 0))
        state["polls"] = polls + 1
        return InProgress(state, timedelta(seconds=POLL_DELAYS[min(polls, len(POLL_DELAYS) - 1)]))

    async def _already_published(self, job: PublishJob) -> Published:
        found = await self.find_published(job)
        if found is None:
            raise PlatformError(
                ErrorCode.PLATFORM_SERVER_ERROR,
                f"{self.title} says the post was published, but it is not listed yet",
            )
        return found

    # ----- what each platform fills in -----------------------------------------------------

    def check_media(self, media: Sequence[MediaFile]) -> None:
        """Refuse media the platform cannot take before any container is made."""

    @abc.abstractmethod
    async def create_item(
        self, job: PublishJob, media: MediaFile | None, *, carousel: bool
    ) -> dict[str, Any]:
        """Create one container (a post, or a carousel item); ``{"id"}`` plus ``"upload"`` when
        its bytes must be sent with `upload`."""

    async def upload(self, creds: Credentials, entry: dict[str, Any], media: MediaFile) -> None:
        """Send a container's bytes (platforms with uploads override this)."""
        raise PlatformError(ErrorCode.UNKNOWN_ERROR, f"{self.title} takes no uploaded bytes", retryable=False)

    @abc.abstractmethod
    async def create_carousel(self, job: PublishJob, children: list[str]) -> str:
        """Create the carousel container holding `children`; its id."""

    @abc.abstractmethod
    async def container_status(self, creds: Credentials, container: str) -> tuple[str, str | None]:
        """A container's state and the platform's detail on an error."""

    @abc.abstractmethod
    def container_failure(self, status: str, detail: str | None) -> PlatformError | None:
        """The error a broken container ends in, or None when making it again may help."""

    @abc.abstractmethod
    async def check_quota(self, job: PublishJob) -> None:
        """Raise RATE_LIMITED when the account's publishing quota is used up."""

    @abc.abstractmethod
    async def publish_container(self, job: PublishJob, container: str) -> Published:
        """Publish a finished container."""


def quota_error(title: str, usage: Mapping[str, Any], used_key: str, config_key: str) -> PlatformError | None:
    """RATE_LIMITED when a publishing-limit answer shows the quota used up (None otherwise).

    The window is rolling and the answer does not say when a slot frees: the retry is put one
    average slot later (the window divided by the quota).
    """
    config = usage.get(config_key)
    used, total = (
        _int(usage.get(used_key)),
        _int(config.get("quota_total")) if isinstance(config, dict) else None,
    )
    if used is None or total is None or used < total:
        return None
    duration = _int(config.get("quota_duration")) if isinstance(config, dict) else None
    wait = timedelta(seconds=max((duration or 86400) / max(total, 1), 60.0))
    return PlatformError(
        ErrorCode.RATE_LIMITED,
        f"{title} publishing limit reached: {used} of {total} posts in the last "
        f"{(duration or 86400) // 3600} hours",
        platform_error=json.dumps(dict(usage)),
        retry_at=datetime.now(UTC) + wait,
    )
