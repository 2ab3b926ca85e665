"""Instagram adapter: content publishing through containers (Instagram Login, ``graph.instagram.com``).

Credentials: `account_id` is the Instagram professional account's id; ``secrets["access_token"]``
a long-lived (60-day) token, refreshed with ``ig_refresh_token`` once half way through.

Connecting: the Instagram API with Instagram Login (``www.instagram.com/oauth/authorize``, the
code traded at ``api.instagram.com/oauth/access_token``, then ``ig_exchange_token`` for the
60-day token), because this adapter publishes on ``graph.instagram.com`` with such tokens.

Every post needs media: one image (a feed photo), one video (a Reel, or a Story with
``platformSettings.instagram.videoType: STORIES``), or 2 to 10 items (a carousel). A container
is made from the file's public URL, which Instagram fetches; a video without a public URL is
sent through the resumable upload (``upload_type=resumable``, then the bytes to
``/ig-api-upload/{version}/{container}`` with ``offset``/``file_size`` headers), resuming after
the bytes Instagram already has. Containers are polled (``status_code``) until ``FINISHED``,
the daily quota is checked (``content_publishing_limit``), then ``media_publish``. Without an
idempotency key, an uncertain attempt is reconciled by the container's status and the
account's recent media (reconciliation mode LOOKUP).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from postpost.platforms import _graph, _http
from postpost.platforms.base import (
    ConnectionCheck,
    Credentials,
    ErrorCode,
    MediaFile,
    PlatformError,
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
    SettingField,
    TextRules,
    TokenExchange,
)
from postpost.platforms.text import CodePoints

SCOPES = ("instagram_business_basic", "instagram_business_content_publish")
TOKEN_DAYS = 60
VIDEO_TYPES = ("REELS", "STORIES")
UPLOAD_PIECE = 1024 * 1024  # an upload streams from storage in pieces of this size
# IG error subcodes (in errors, and in a container's `status` text once it failed)
SUBCODES = {
    2207001: ErrorCode.PLATFORM_SERVER_ERROR,  # server error
    2207003: ErrorCode.PLATFORM_SERVER_ERROR,  # timeout downloading the media
    2207004: ErrorCode.CONTENT_TOO_LARGE,  # image over 8 MB
    2207005: ErrorCode.INVALID_CONTENT,  # image format
    2207009: ErrorCode.INVALID_CONTENT,  # aspect ratio
    2207010: ErrorCode.CONTENT_TOO_LARGE,  # caption too long
    2207020: ErrorCode.PLATFORM_SERVER_ERROR,  # container expired: made again
    2207023: ErrorCode.INVALID_CONTENT,  # unknown media type
    2207026: ErrorCode.INVALID_CONTENT,  # video format, length or size
    2207028: ErrorCode.INVALID_CONTENT,  # carousel validation
    2207032: ErrorCode.PLATFORM_SERVER_ERROR,  # creating the media failed
    2207042: ErrorCode.RATE_LIMITED,  # daily publishing limit
    2207051: ErrorCode.UNKNOWN_ERROR,  # restricted as spam
    2207052: ErrorCode.UNKNOWN_ERROR,  # the media could not be fetched from our URL
    2207053: ErrorCode.PLATFORM_SERVER_ERROR,  # unknown upload error
}
_MAKE_AGAIN = frozenset({2207001, 2207003, 2207020, 2207032, 2207053})
_SUBCODE = re.compile(r"\b(2207\d{3})\b")


def _sandbox_account() -> SandboxAccount:
    account_id = "1784" + str(secrets.randbelow(9 * 10**12) + 10**12)
    return SandboxAccount(
        account_id=account_id,
        username=f"sandbox_{account_id[-8:]}",
        secrets={"access_token": f"sandbox.{account_id}.{secrets.token_hex(12)}"},
        expires_at=datetime.now(UTC) + timedelta(days=TOKEN_DAYS),
    )


DESCRIPTOR = PlatformDescriptor(
    name="instagram",
    title="Instagram",
    text=TextRules(limit=2200, counter=CodePoints(), threads=False, max_hashtags=30),
    media=MediaRules(
        max_images=10,
        max_videos=10,
        image_types=frozenset({"image/jpeg", "image/png", "image/webp"}),
        video_types=frozenset({"video/mp4", "video/quicktime"}),
        image_max_bytes=8 * MB,
        video_max_bytes=300 * MB,
        video_min_seconds=3,
        video_max_seconds=900,
        needs_media=True,
        convert={"image/png": "image/jpeg", "image/webp": "image/jpeg"},
    ),
    credential=CredentialKind.OAUTH2,
    endpoints={
        "api": "https://graph.instagram.com",
        "upload": "https://rupload.facebook.com",
        "auth": "https://www.instagram.com",
        "token": "https://api.instagram.com",
    },
    reconciliation=Reconciliation.LOOKUP,
    # 100 API-published posts in a rolling day (a carousel is one); 10 an hour as documented
    pacing=Pacing(per_account=(RateWindow(100, 86400), RateWindow(10, 3600))),
    settings={"videoType": SettingField("REELS", allowed=VIDEO_TYPES)},
    scopes=SCOPES,
    sandbox_account=_sandbox_account,
    oauth=OAuthFlow(
        authorize=("auth", "/oauth/authorize"),
        token=("token", "/oauth/access_token"),
        scopes=SCOPES,
        pkce=False,
        scope_separator=",",
        account_id_field="user_id",
        exchange=TokenExchange("api", "/access_token", "ig_exchange_token"),
    ),
)


class InstagramAdapter(_graph.ContainerAdapter):
    """Publishes photos, carousels, Reels and Stories through containers."""

    profile_fields = "user_id,username,name,profile_picture_url"
    picture_field = "profile_picture_url"
    profile_page = "https://www.instagram.com/{username}/"

    descriptor = DESCRIPTOR
    title = "Instagram"
    subcodes = SUBCODES

    async def refresh(self, creds: Credentials) -> Credentials:
        """A fresh 60-day token (``GET /refresh_access_token?grant_type=ig_refresh_token``)."""
        return await self.refresh_long_lived(creds, "ig_refresh_token")

    async def check_connection(self, creds: Credentials) -> ConnectionCheck:
        """``GET /me`` with the stored token."""
        try:
            me = await self.call(creds, "GET", self.url(creds, "me"), params={"fields": "user_id,username"})
        except PlatformError as exc:
            return ConnectionCheck(False, exc.platform_error or exc.message)
        username = str(me.get("username") or creds.username or creds.account_id)
        return ConnectionCheck(True, f"Connected as {username}", username, list(creds.scopes or SCOPES))

    # ----- containers ------------------------------------------------------------------------

    def check_media(self, media: Sequence[MediaFile]) -> None:
        if not media:
            raise PlatformError(ErrorCode.INVALID_CONTENT, "Instagram posts require media", retryable=False)
        for item in media:
            if item.kind == "image" and not item.fetch_url:
                raise PlatformError(
                    ErrorCode.UNKNOWN_ERROR,
                    f"Instagram fetches images from a public URL and media {item.id} has none; "
                    "configure a public URL for media storage",
                    retryable=False,
                )

    @staticmethod
    def _story(job: PublishJob) -> bool:
        media = job.part.media
        return len(media) == 1 and media[0].kind == "video" and job.settings.get("videoType") == "STORIES"

    async def create_item(
        self, job: PublishJob, media: MediaFile | None, *, carousel: bool
    ) -> dict[str, Any]:
        assert media is not None  # check_media refused posts without media
        params: dict[str, str] = {}
        upload = False
        if media.kind == "image":
            params["image_url"] = str(media.fetch_url)
        else:
            params["media_type"] = "VIDEO" if carousel else str(job.settings.get("videoType") or "REELS")
            if media.fetch_url:
                params["video_url"] = media.fetch_url
            else:
                params["upload_type"] = "resumable"
                upload = True
        if carousel:
            params["is_carousel_item"] = "true"
        elif not self._story(job):
            params["caption"] = job.part.text
        entry: dict[str, Any] = {"id": await self._create(job, params)}
        if upload:
            entry["upload"] = True
        return entry

    async def create_carousel(self, job: PublishJob, children: list[str]) -> str:
        params = {"media_type": "CAROUSEL", "children": ",".join(children), "caption": job.part.text}
        return await self._create(job, params)

    async def _create(self, job: PublishJob, params: dict[str, str]) -> str:
        url = self.url(job.creds, f"{job.creds.account_id}/media")
        body = await self.call(job.creds, "POST", url, data=params)
        return self._id(body, "container")

    async def upload(self, creds: Credentials, entry: dict[str, Any], media: MediaFile) -> None:
        """Send the video's bytes from where Instagram's copy ends (0 for a new upload)."""
        offset = await self._uploaded(creds, entry["id"])
        if offset >= media.size:
            return
        url = f"{creds.endpoint('upload')}/ig-api-upload/{self.version}/{entry['id']}"
        headers = {
            "Authorization": f"OAuth {self.token(creds)}",
            "offset": str(offset),
            "file_size": str(media.size),
            "Content-Type": "application/octet-stream",
            "Content-Length": str(media.size - offset),
        }
        result = await _http.send(
            self.http,
            "POST",
            url,
            client_timeout=self.upload_timeout,
            platform=self.title,
            headers=headers,
            data=media.source.chunks(offset=offset, chunk_size=UPLOAD_PIECE),
        )
        if result.status >= 300 or _http.json_object(result.body).get("success") is not True:
            raise self._upload_error(result)

    async def _uploaded(self, creds: Credentials, container: str) -> int:
        """How many bytes of an upload Instagram has (``video_status.uploading_phase``)."""
        body = await self.call(creds, "GET", self.url(creds, container), params={"fields": "video_status"})
        phase = _graph.as_dict(_graph.as_dict(body.get("video_status")).get("uploading_phase"))
        try:
            return int(phase.get("bytes_transferred") or 0)
        except (TypeError, ValueError):
            return 0

    def _upload_error(self, result: _http.HttpResult) -> PlatformError:
        info = _graph.as_dict(_http.json_object(result.body).get("debug_info"))
        detail = str(info.get("message") or _http.error_text(result.body) or f"HTTP {result.status}")
        if result.status in (401, 403):
            code = ErrorCode.PLATFORM_AUTH_EXPIRED
        elif info.get("retriable") is True or result.status >= 500:
            code = ErrorCode.PLATFORM_SERVER_ERROR
        else:
            code = ErrorCode.UNKNOWN_ERROR
        return PlatformError(
            code, f"Instagram refused the video upload: {detail}", status=result.status, platform_error=detail
        )

    async def container_status(self, creds: Credentials, container: str) -> tuple[str, str | None]:
        body = await self.call(
            creds, "GET", self.url(creds, container), params={"fields": "status_code,status"}
        )
        detail = body.get("status")
        return str(body.get("status_code") or ""), str(detail) if detail else None

    def container_failure(self, status: str, detail: str | None) -> PlatformError | None:
        found = _SUBCODE.search(detail or "")
        subcode = int(found.group(1)) if found else None
        if status == _graph.EXPIRED or subcode in _MAKE_AGAIN:
            return None
        code = SUBCODES.get(subcode or 0, ErrorCode.INVALID_CONTENT)
        return PlatformError(
            code,
            f"Instagram could not process the media (container {status}: {detail or 'no detail'})",
            platform_error=detail,
            retryable=False,
        )

    async def check_quota(self, job: PublishJob) -> None:
        """``GET /{user}/content_publishing_limit``: API-published posts in a rolling day."""
        url = self.url(job.creds, f"{job.creds.account_id}/content_publishing_limit")
        body = await self.call(job.creds, "GET", url, params={"fields": "quota_usage,config"})
        data = body.get("data")
        usage = _graph.as_dict(data[0]) if isinstance(data, list) and data else {}
        exhausted = _graph.quota_error("Instagram", usage, "quota_usage", "config")
        if exhausted is not None:
            raise exhausted

    async def publish_container(self, job: PublishJob, container: str) -> Published:
        url = self.url(job.creds, f"{job.creds.account_id}/media_publish")
        body = await self.call(job.creds, "POST", url, creating=True, data={"creation_id": container})
        media_id = self._id(body, "post")
        return Published(media_id, await self.permalink(job.creds, media_id))

    async def find_published(self, job: PublishJob) -> Published | None:
        """The account's recent media (stories: recent stories) matched by caption and time."""
        story = self._story(job)
        edge = "stories" if story else "media"
        url = self.url(job.creds, f"{job.creds.account_id}/{edge}")
        body = await self.call(
            job.creds, "GET", url, params={"fields": "id,caption,timestamp,permalink", "limit": "50"}
        )
        data = body.get("data")
        items = [_graph.as_dict(item) for item in data] if isinstance(data, list) else []
        if story:  # stories carry no caption: any story since the attempt began is it
            items = [item | {"caption": job.part.text} for item in items]
        found = _graph.match_recent(
            items, text=job.part.text, text_field="caption", time_field="timestamp", since=job.since
        )
        if found is None:
            return None
        link = found.get("permalink")
        return Published(str(found["id"]), str(link) if link else None)

    def _id(self, body: dict[str, Any], what: str) -> str:
        value = body.get("id")
        if not value:
            raise PlatformError(
                ErrorCode.UNKNOWN_ERROR,
                f"Instagram accepted the {what} but its answer has no id",
                status=200,
                platform_error=str(body)[:500],
                maybe_published=what == "post",
            )
        return str(value)


ADAPTER = InstagramAdapter
