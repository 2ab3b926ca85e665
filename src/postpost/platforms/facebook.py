"""Facebook Pages adapter: the Graph API's page feed, photos and videos (``graph.facebook.com``).

Credentials: `account_id` is the page id; ``secrets["access_token"]`` the page access token (a
page token derived from a long-lived user token does not expire: there is nothing to refresh).

Connecting: Facebook Login (``/dialog/oauth``, the code traded at ``/oauth/access_token``, then
``fb_exchange_token`` for a 60-day user token), and the Pages of ``/me/accounts`` the person may
create content on are offered to choose from; each chosen Page keeps only its own page token.

- Text: ``POST /{page}/feed`` with ``message``; the first URL of the text becomes ``link``.
- One photo: ``POST /{page}/photos`` (multipart ``source``) with the text as ``message``.
- Several photos: each ``POST /{page}/photos`` with ``published=false``, then ``/feed`` with
  ``attached_media``.
- A video: ``POST /{page}/videos`` on the video host, multipart ``source`` for a small file, the
  resumable ``upload_phase=start|transfer|finish`` for a large one (the session and offset are
  multi-step state); then its ``status`` is polled until the video is ready.

No idempotency key exists: an uncertain attempt is reconciled by the page's published posts
(reconciliation mode LOOKUP). Facebook does not thread; long text is refused at create-post.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from postpost.platforms import _graph
from postpost.platforms.base import (
    ConnectionCheck,
    Credentials,
    ErrorCode,
    InProgress,
    MediaFile,
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
    TokenExchange,
)
from postpost.platforms.text import CodePoints

GRAPH_VERSION = _graph.GraphAdapter.version

SCOPES = ("pages_show_list", "pages_read_engagement", "pages_manage_posts")
RESUMABLE_ABOVE = 16 * MB  # larger videos go through upload_phase=start|transfer|finish
CHUNKS_PER_STEP = 8  # transfer chunks sent before the progress is stored
_URL = re.compile(r"https?://[^\s<>\"]*[^\s<>\".,;:!?'()\[\]]", re.IGNORECASE)


def _sandbox_account() -> SandboxAccount:
    page_id = str(secrets.randbelow(9 * 10**14) + 10**14)
    name = f"Sandbox Page {page_id[-4:]}"
    return SandboxAccount(
        account_id=page_id,
        username=name,
        display_name=name,
        secrets={"access_token": f"sandbox.{page_id}.{secrets.token_hex(12)}"},
    )


DESCRIPTOR = PlatformDescriptor(
    name="facebook",
    title="Facebook",
    text=TextRules(limit=63206, counter=CodePoints(), threads=False),
    media=MediaRules(
        max_images=10,
        max_videos=1,
        image_types=frozenset(
            {"image/jpeg", "image/png", "image/gif", "image/bmp", "image/tiff", "image/webp"}
        ),
        video_types=frozenset({"video/mp4", "video/quicktime"}),
        image_max_bytes=10 * MB,
        video_max_bytes=2048 * MB,
        video_max_seconds=45 * 60,
        convert={"image/webp": "image/jpeg"},
    ),
    credential=CredentialKind.OAUTH2,
    endpoints={
        "api": "https://graph.facebook.com",
        "video": "https://graph-video.facebook.com",
        "auth": "https://www.facebook.com",
    },
    reconciliation=Reconciliation.LOOKUP,
    pacing=Pacing(per_account=(RateWindow(50, 86400), RateWindow(25, 3600))),
    scopes=SCOPES,
    sandbox_account=_sandbox_account,
    oauth=OAuthFlow(
        authorize=("auth", f"/{GRAPH_VERSION}/dialog/oauth"),
        token=("api", f"/{GRAPH_VERSION}/oauth/access_token"),
        scopes=SCOPES,
        pkce=False,
        scope_separator=",",
        token_method="GET",
        exchange=TokenExchange(
            "api",
            f"/{GRAPH_VERSION}/oauth/access_token",
            "fb_exchange_token",
            token_param="fb_exchange_token",
            sends_client_id=True,
        ),
        pages_only=True,  # a connection publishes as a Page, never as the person
        page_tokens=True,
    ),
)


class FacebookAdapter(_graph.GraphAdapter):
    """Publishes to one Facebook Page with its page token."""

    descriptor = DESCRIPTOR
    title = "Facebook"
    subcodes = {
        1363023: ErrorCode.CONTENT_TOO_LARGE,  # video file too large
        1363026: ErrorCode.CONTENT_TOO_LARGE,  # video too long
        1363128: ErrorCode.INVALID_CONTENT,  # reel duration out of range
    }
    resumable_above = RESUMABLE_ABOVE

    def needs_refresh(self, creds: Credentials, now: datetime) -> bool:
        return False  # page tokens do not expire

    async def managed_pages(self, creds: Credentials) -> list[Profile]:
        """The Pages a user token may publish to (``GET /me/accounts``), each with its page token.

        Pages where the person lacks the ``CREATE_CONTENT`` task are left out.
        """
        fields = "id,name,username,link,access_token,tasks,picture{url}"
        body = await self.call(
            creds, "GET", self.url(creds, "me/accounts"), params={"fields": fields, "limit": "100"}
        )
        data = body.get("data")
        pages = []
        for entry in data if isinstance(data, list) else []:
            if not isinstance(entry, dict) or not entry.get("id") or not entry.get("access_token"):
                continue
            tasks = entry.get("tasks")
            if isinstance(tasks, list) and "CREATE_CONTENT" not in tasks:
                continue
            page_id, name = str(entry["id"]), str(entry.get("name") or entry["id"])
            picture = _graph.as_dict(_graph.as_dict(entry.get("picture")).get("data")).get("url")
            pages.append(
                Profile(
                    page_id,
                    username=str(entry.get("username") or name),
                    display_name=name,
                    avatar_url=str(picture) if picture else None,
                    profile_url=str(entry.get("link") or f"https://www.facebook.com/{page_id}"),
                    secrets={"access_token": str(entry["access_token"])},
                )
            )
        return pages

    async def publish(self, job: PublishJob) -> Published | InProgress:
        media = job.part.media
        videos = [m for m in media if m.kind == "video"]
        if len(videos) > 1:
            raise PlatformError(
                ErrorCode.INVALID_CONTENT, "Facebook posts take at most one video", retryable=False
            )
        if videos and len(media) > 1:
            raise PlatformError(
                ErrorCode.INVALID_CONTENT,
                "Facebook posts take photos or one video, not both",
                retryable=False,
            )
        if videos:
            return await self._video(job, videos[0])
        if len(media) == 1:
            return await self._photo(job, media[0])
        if media:
            return await self._album(job, media)
        return await self._feed(job, self._text_params(job.part.text))

    # ----- text and photos -------------------------------------------------------------------

    @staticmethod
    def _text_params(text: str) -> dict[str, str]:
        params = {"message": text}
        link = _URL.search(text)
        if link:
            params["link"] = link.group()
        return params

    async def _feed(self, job: PublishJob, params: dict[str, str]) -> Published:
        url = self.url(job.creds, f"{job.creds.account_id}/feed")
        body = await self.call(job.creds, "POST", url, creating=True, data=params)
        return self._published(body, "id")

    async def _photo(self, job: PublishJob, image: MediaFile) -> Published:
        form = await self._file_form(image, "source", message=job.part.text)
        url = self.url(job.creds, f"{job.creds.account_id}/photos")
        body = await self.call(job.creds, "POST", url, creating=True, data=form, uploading=True)
        return self._published(body, "post_id")

    async def _album(self, job: PublishJob, images: Sequence[MediaFile]) -> Published:
        url = self.url(job.creds, f"{job.creds.account_id}/photos")
        params = {"message": job.part.text}
        for index, image in enumerate(images):
            form = await self._file_form(image, "source", published="false")
            body = await self.call(job.creds, "POST", url, data=form, uploading=True)
            params[f"attached_media[{index}]"] = json.dumps({"media_fbid": self._id(body)})
        return await self._feed(job, params)

    @staticmethod
    async def _file_form(item: MediaFile, name: str, **fields: str) -> aiohttp.FormData:
        form = aiohttp.FormData()
        for key, value in fields.items():
            form.add_field(key, value)
        form.add_field(name, await item.source.read(), filename=item.id, content_type=item.mime_type)
        return form

    # ----- video -------------------------------------------------------------------------------

    async def _video(self, job: PublishJob, video: MediaFile) -> Published | InProgress:
        """Upload (one request, or resumable phases), then wait until Facebook has processed it."""
        state: dict[str, Any] = dict(job.state or {})
        creds = job.creds
        url = self.url(creds, f"{creds.account_id}/videos", role="video")
        if "video" not in state and video.size <= self.resumable_above:
            form = await self._file_form(video, "source", description=job.part.text)
            body = await self.call(creds, "POST", url, creating=True, data=form, uploading=True)
            state = {"video": self._id(body), "processing": True, "started": time.time()}
        elif "video" not in state:
            start = {"upload_phase": "start", "file_size": str(video.size)}
            body = await self.call(creds, "POST", url, data=start)
            state = {
                "video": self._id(body, "video_id"),
                "session": str(body.get("upload_session_id") or ""),
                "start": int(body.get("start_offset") or 0),
                "end": int(body.get("end_offset") or 0),
                "started": time.time(),
            }
            return InProgress(state, timedelta(0))  # keep the session before sending bytes
        if not state.get("processing"):
            if job.unsure:  # the finish may have gone through
                found = await self.find_published(job)
                if found is not None:
                    return found
            if not await self._transfer(creds, url, state, video):
                return InProgress(state, timedelta(0))
            finish = {
                "upload_phase": "finish",
                "upload_session_id": state["session"],
                "description": job.part.text,
            }
            await self.call(creds, "POST", url, creating=True, data=finish)
            state = {"video": state["video"], "processing": True, "started": state["started"]}
        return await self._processing(creds, state)

    async def _transfer(self, creds: Credentials, url: str, state: dict[str, Any], video: MediaFile) -> bool:
        """Send up to CHUNKS_PER_STEP chunks where Facebook asks for them; True once all arrived."""
        for _ in range(CHUNKS_PER_STEP):
            start, end = int(state["start"]), int(state["end"])
            if start >= end:
                return True
            chunk = await _graph.read_range(video, start, end - start)
            form = aiohttp.FormData()
            form.add_field("upload_phase", "transfer")
            form.add_field("upload_session_id", state["session"])
            form.add_field("start_offset", str(start))
            form.add_field(
                "video_file_chunk", chunk, filename="chunk", content_type="application/octet-stream"
            )
            body = await self.call(creds, "POST", url, data=form, uploading=True)
            state["start"], state["end"] = (
                int(body.get("start_offset") or 0),
                int(body.get("end_offset") or 0),
            )
        return int(state["start"]) >= int(state["end"])

    async def _processing(self, creds: Credentials, state: dict[str, Any]) -> Published | InProgress:
        body = await self.call(creds, "GET", self.url(creds, state["video"]), params={"fields": "status"})
        status = _graph.as_dict(body.get("status"))
        video_status = str(status.get("video_status") or "")
        if video_status == "ready":
            post_id = f"{creds.account_id}_{state['video']}"
            return Published(post_id, f"https://www.facebook.com/{creds.account_id}/videos/{state['video']}")
        if video_status == "error":
            errors = _graph.as_dict(status.get("processing_phase")).get("errors")
            detail = str(errors[0].get("message")) if isinstance(errors, list) and errors else "no detail"
            raise PlatformError(
                ErrorCode.INVALID_CONTENT,
                f"Facebook could not process the video: {detail}",
                platform_error=detail,
                retryable=False,
            )
        if time.time() - float(state.get("started", time.time())) > _graph.MAX_PROCESSING_SECONDS:
            raise PlatformError(
                ErrorCode.TIMEOUT_ERROR,
                "Facebook did not finish processing the video within an hour",
                retryable=False,
            )
        polls = int(state.get("polls", 0))
        state["polls"] = polls + 1
        return InProgress(
            state, timedelta(seconds=_graph.POLL_DELAYS[min(polls, len(_graph.POLL_DELAYS) - 1)])
        )

    # ----- reconciliation and checks ---------------------------------------------------------

    async def find_published(self, job: PublishJob) -> Published | None:
        """The page's recent posts (``GET /{page}/published_posts``) matched by message and time."""
        params = {"fields": "id,message,created_time", "limit": "50"}
        if job.since is not None:
            params["since"] = str(int((job.since - _graph.LOOKUP_SLACK).timestamp()))
        url = self.url(job.creds, f"{job.creds.account_id}/published_posts")
        data = (await self.call(job.creds, "GET", url, params=params)).get("data")
        found = _graph.match_recent(
            data if isinstance(data, list) else [],
            text=job.part.text,
            text_field="message",
            time_field="created_time",
            since=job.since,
        )
        return self._published(dict(found), "id") if found is not None else None

    async def check_connection(self, creds: Credentials) -> ConnectionCheck:
        """``GET /debug_token`` for the page token, then the page's name."""
        app_token = "|".join(self.app[k] for k in ("client_id", "client_secret") if self.app.get(k))
        params = {"input_token": self.token(creds)}
        headers = {"Authorization": f"Bearer {app_token}"} if "|" in app_token else None
        try:
            debug = await self.call(
                creds, "GET", self.url(creds, "debug_token"), params=params, headers=headers
            )
            data = _graph.as_dict(debug.get("data"))
            if not data.get("is_valid"):
                error = _graph.as_dict(data.get("error"))
                return ConnectionCheck(False, str(error.get("message") or "The page token is not valid"))
            page = await self.call(
                creds, "GET", self.url(creds, creds.account_id), params={"fields": "id,name"}
            )
        except PlatformError as exc:
            return ConnectionCheck(False, exc.platform_error or exc.message)
        name = str(page.get("name") or creds.username or creds.account_id)
        scopes = data.get("scopes")
        permissions = [str(s) for s in scopes] if isinstance(scopes, list) else list(SCOPES)
        return ConnectionCheck(True, f"Connected as {name}", name, permissions)

    def _published(self, body: dict[str, Any], key: str) -> Published:
        post_id = self._id(body, key, maybe_published=True)
        page, _, story = post_id.partition("_")
        url = (
            f"https://www.facebook.com/{page}/posts/{story}"
            if story
            else f"https://www.facebook.com/{post_id}"
        )
        return Published(post_id, url)

    @staticmethod
    def _id(body: dict[str, Any], key: str = "id", *, maybe_published: bool = False) -> str:
        value = body.get(key)
        if not value:
            raise PlatformError(
                ErrorCode.UNKNOWN_ERROR,
                f"Facebook's answer has no {key}",
                status=200,
                platform_error=str(body)[:500],
                maybe_published=maybe_published,
            )
        return str(value)


ADAPTER = FacebookAdapter
