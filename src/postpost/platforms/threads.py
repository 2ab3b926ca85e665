"""Threads adapter: the Threads API's two-step container publishing (``graph.threads.net/v1.0``).

Credentials: `account_id` is the Threads user id; ``secrets["access_token"]`` a long-lived (60-day)
token, refreshed with ``th_refresh_token`` once it is half way through (the token itself is the
refresh credential: nothing rotates).

Connecting: Threads' OAuth (``threads.net/oauth/authorize``, the code traded at
``graph.threads.net/oauth/access_token``, then ``th_exchange_token`` for the 60-day token).

A part is a container (``POST /{user}/threads``: TEXT, IMAGE, VIDEO, or CAROUSEL over image items)
published with ``POST /{user}/threads_publish``; media is fetched by Threads from the file's
signed URL. Long text becomes a reply chain (``reply_to_id``). Threads has no idempotency key:
an uncertain attempt is reconciled by its container's status (``PUBLISHED`` means done) and by
the account's recent threads (reconciliation mode LOOKUP).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from postpost.platforms import _graph
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
from postpost.platforms.text import ThreadsLength

SCOPES = ("threads_basic", "threads_content_publish", "threads_manage_replies")
TOKEN_DAYS = 60
REPLY_CONTROLS = ("", "everyone", "accounts_you_follow", "mentioned_only")
# container error_message values: content Threads will never accept, and failures worth a new container
_REFUSED_PREFIXES = ("INVALID_", "FAILED_PROCESSING_")
_RETRY_WITH_NEW = ("FAILED_DOWNLOADING_VIDEO",)


def _sandbox_account() -> SandboxAccount:
    account_id = str(secrets.randbelow(9 * 10**16) + 10**16)
    return SandboxAccount(
        account_id=account_id,
        username=f"sandbox_{account_id[-8:]}",
        secrets={"access_token": f"sandbox.{account_id}.{secrets.token_hex(12)}"},
        expires_at=datetime.now(UTC) + timedelta(days=TOKEN_DAYS),
    )


DESCRIPTOR = PlatformDescriptor(
    name="threads",
    title="Threads",
    text=TextRules(limit=500, counter=ThreadsLength(), threads=True),
    media=MediaRules(
        max_images=10,
        max_videos=1,
        image_types=frozenset({"image/jpeg", "image/png", "image/webp"}),
        video_types=frozenset({"video/mp4", "video/quicktime"}),
        image_max_bytes=8 * MB,
        video_max_bytes=500 * MB,
        video_max_seconds=300,
        alt_text_max=1000,
        convert={"image/webp": "image/jpeg"},
    ),
    credential=CredentialKind.OAUTH2,
    endpoints={"api": "https://graph.threads.net", "auth": "https://threads.net"},
    reconciliation=Reconciliation.LOOKUP,
    # 250 posts a rolling day; the documented hourly ceiling is 50
    pacing=Pacing(per_account=(RateWindow(250, 86400), RateWindow(50, 3600))),
    settings={"replyControl": SettingField("", allowed=REPLY_CONTROLS)},
    scopes=SCOPES,
    sandbox_account=_sandbox_account,
    oauth=OAuthFlow(
        authorize=("auth", "/oauth/authorize"),
        token=("api", "/oauth/access_token"),
        scopes=SCOPES,
        pkce=False,
        scope_separator=",",
        account_id_field="user_id",
        exchange=TokenExchange("api", "/access_token", "th_exchange_token"),
    ),
)


class ThreadsAdapter(_graph.ContainerAdapter):
    """Publishes threads and reply chains through containers."""

    profile_fields = "id,username,name,threads_profile_picture_url"
    picture_field = "threads_profile_picture_url"
    profile_page = "https://www.threads.net/@{username}"

    descriptor = DESCRIPTOR
    title = "Threads"
    version = "v1.0"
    subcodes = {2207052: ErrorCode.UNKNOWN_ERROR}  # Threads could not fetch the media from our URL

    async def refresh(self, creds: Credentials) -> Credentials:
        """A fresh 60-day token (``GET /refresh_access_token?grant_type=th_refresh_token``)."""
        return await self.refresh_long_lived(creds, "th_refresh_token")

    async def check_connection(self, creds: Credentials) -> ConnectionCheck:
        """``GET /me`` with the stored token."""
        try:
            me = await self.call(creds, "GET", self.url(creds, "me"), params={"fields": "id,username"})
        except PlatformError as exc:
            return ConnectionCheck(False, exc.platform_error or exc.message)
        username = str(me.get("username") or creds.username or creds.account_id)
        return ConnectionCheck(True, f"Connected as {username}", username, list(creds.scopes or SCOPES))

    # ----- containers ------------------------------------------------------------------------

    def check_media(self, media: Sequence[MediaFile]) -> None:
        if len(media) > 1 and any(item.kind == "video" for item in media):
            raise PlatformError(
                ErrorCode.INVALID_CONTENT,
                "Threads carousels take images only; post a video on its own",
                retryable=False,
            )
        for item in media:
            if not item.fetch_url:
                raise PlatformError(
                    ErrorCode.UNKNOWN_ERROR,
                    f"Threads fetches media from a public URL and media {item.id} has none; "
                    "configure a public URL for media storage",
                    retryable=False,
                )

    async def create_item(
        self, job: PublishJob, media: MediaFile | None, *, carousel: bool
    ) -> dict[str, Any]:
        params: dict[str, str] = {}
        if media is None:
            params["media_type"] = "TEXT"
        else:
            kind = "IMAGE" if media.kind == "image" else "VIDEO"
            params |= {"media_type": kind, f"{kind.lower()}_url": str(media.fetch_url)}
            if media.alt_text:
                params["alt_text"] = media.alt_text
        if carousel:
            params["is_carousel_item"] = "true"
        else:
            params |= self._post_params(job)
        return {"id": await self._create(job, params)}

    async def create_carousel(self, job: PublishJob, children: list[str]) -> str:
        params = {"media_type": "CAROUSEL", "children": ",".join(children), **self._post_params(job)}
        return await self._create(job, params)

    def _post_params(self, job: PublishJob) -> dict[str, str]:
        params = {"text": job.part.text}
        if job.reply_to is not None:
            params["reply_to_id"] = job.reply_to.parent.remote_id
        control = str(job.settings.get("replyControl") or "")
        if control:
            params["reply_control"] = control
        return params

    async def _create(self, job: PublishJob, params: dict[str, str]) -> str:
        url = self.url(job.creds, f"{job.creds.account_id}/threads")
        body = await self.call(job.creds, "POST", url, data=params)
        return self._id(body, "container")

    async def container_status(self, creds: Credentials, container: str) -> tuple[str, str | None]:
        body = await self.call(
            creds, "GET", self.url(creds, container), params={"fields": "status,error_message"}
        )
        message = body.get("error_message")
        return str(body.get("status") or ""), str(message) if message else None

    def container_failure(self, status: str, detail: str | None) -> PlatformError | None:
        if status == _graph.EXPIRED or detail in _RETRY_WITH_NEW:
            return None
        code = (
            ErrorCode.INVALID_CONTENT
            if detail and detail.startswith(_REFUSED_PREFIXES)
            else ErrorCode.UNKNOWN_ERROR
        )
        return PlatformError(
            code,
            f"Threads could not process the post (container {status}: {detail or 'no detail'})",
            platform_error=detail,
            retryable=False,
        )

    async def check_quota(self, job: PublishJob) -> None:
        """``GET /{user}/threads_publishing_limit``: posts and replies each have a rolling quota."""
        fields = "quota_usage,config,reply_quota_usage,reply_config"
        url = self.url(job.creds, f"{job.creds.account_id}/threads_publishing_limit")
        body = await self.call(job.creds, "GET", url, params={"fields": fields})
        data = body.get("data")
        usage = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
        keys = ("reply_quota_usage", "reply_config") if job.reply_to else ("quota_usage", "config")
        exhausted = _graph.quota_error("Threads", usage, *keys)
        if exhausted is not None:
            raise exhausted

    async def publish_container(self, job: PublishJob, container: str) -> Published:
        url = self.url(job.creds, f"{job.creds.account_id}/threads_publish")
        body = await self.call(job.creds, "POST", url, creating=True, data={"creation_id": container})
        media_id = self._id(body, "post")
        return Published(media_id, await self.permalink(job.creds, media_id))

    async def find_published(self, job: PublishJob) -> Published | None:
        """The account's recent threads (``GET /{user}/threads``) matched by text and time."""
        params = {"fields": "id,text,timestamp,permalink", "limit": "50"}
        if job.since is not None:
            params["since"] = str(int((job.since - _graph.LOOKUP_SLACK).timestamp()))
        url = self.url(job.creds, f"{job.creds.account_id}/threads")
        body = await self.call(job.creds, "GET", url, params=params)
        data = body.get("data")
        found = _graph.match_recent(
            data if isinstance(data, list) else [],
            text=job.part.text,
            text_field="text",
            time_field="timestamp",
            since=job.since,
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
                f"Threads accepted the {what} but its answer has no id",
                status=200,
                platform_error=str(body)[:500],
                maybe_published=what == "post",
            )
        return str(value)


ADAPTER = ThreadsAdapter
