"""YouTube adapter: Data API v3 resumable uploads (``videos.insert``) on www.googleapis.com.

Credentials: `account_id` is the channel id; `secrets` hold ``access_token`` (an hour) and
``refresh_token`` (Google's: not rotated). A sandbox account also carries the ``client_id``/
``client_secret`` its tokens were issued to; otherwise this server's Google app is used
(POSTPOST_YOUTUBE_CLIENT_ID/SECRET).

Publishing takes several calls of `publish`, each one step, the state stored by the engine:
1. start a resumable session with the video's metadata → state with the session URI, stored
   before any byte is sent;
2. upload: ask the session how much it holds (``Content-Range: bytes */N`` → 308 with ``Range``),
   PUT the rest in chunks (multiples of 256 KiB; 308 between them; 200/201 with the video at the
   end); a session that is gone (404) is started again;
3. poll ``videos.list?part=status`` until YouTube has processed the video.
Any worker resumes from the stored session. An attempt lost before the session was stored is
looked up in the channel's uploads playlist by title (reconciliation LOOKUP).
"""

from __future__ import annotations

import secrets
import string
from datetime import UTC, datetime, timedelta
from typing import Any

from postpost.platforms import _http
from postpost.platforms._chunked import byte_range, upload_timeout
from postpost.platforms._youtube_errors import classify, processing_failure, token_error
from postpost.platforms._youtube_rules import PRIVACY, is_short, metadata, the_video
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
    SettingField,
    TextRules,
)
from postpost.platforms.text import CodePoints

API = "https://www.googleapis.com"
CHUNK = 32 * MB  # a multiple of 256 KiB, as every chunk but the last must be
STEP_BYTES = 1024 * MB  # at most this much is uploaded per call, then the engine calls again
EXPIRY_MARGIN = timedelta(minutes=5)
SCOPES = (
    "https://www.googleapis.com/auth/youtube.upload",
    "https://www.googleapis.com/auth/youtube.readonly",
)
_PROCESSING_CHECKS = (1, 2, 4, 8, 15, 30)  # seconds between status checks, then the last one
_ID_CHARS = string.ascii_letters + string.digits + "-_"


def _sandbox_account() -> SandboxAccount:
    channel = "UC" + "".join(secrets.choice(_ID_CHARS) for _ in range(22))
    expires = datetime.now(UTC) + timedelta(seconds=3599)
    return SandboxAccount(
        account_id=channel,
        username=sandbox_handle(channel),
        display_name="Sandbox channel",
        secrets={
            "access_token": f"ya29.{channel}.{int(expires.timestamp())}.{secrets.token_hex(12)}",
            "refresh_token": f"1//{channel}.{secrets.token_hex(16)}",
            "client_id": "sandbox",
            "client_secret": "sandbox",
            "access_expires_at": str(int(expires.timestamp())),
        },
    )


def sandbox_handle(channel: str) -> str:
    """The handle of a sandbox channel (the simulator derives the same one)."""
    return "@sandbox-" + channel[2:10].lower()


DESCRIPTOR = PlatformDescriptor(
    name="youtube",
    title="YouTube",
    text=TextRules(limit=5000, counter=CodePoints(), threads=False, max_bytes=5000),
    media=MediaRules(
        max_videos=1,
        video_types=frozenset(
            {
                "video/mp4",
                "video/quicktime",
                "video/x-msvideo",
                "video/webm",
                "video/mpeg",
                "video/x-matroska",
            }
        ),
        video_max_bytes=256 * 1024 * 1024 * MB,
        video_max_seconds=12 * 3600,
        needs_media=True,
        needs_video=True,
    ),
    credential=CredentialKind.OAUTH2,
    endpoints={
        "api": API,
        "upload": API,
        "auth": "https://oauth2.googleapis.com",
        "authorize": "https://accounts.google.com",
    },
    reconciliation=Reconciliation.LOOKUP,
    # videos.insert: 100 calls a day per Google Cloud project (all accounts of this server)
    pacing=Pacing(per_app=(RateWindow(100, 86400),)),
    settings={
        "title": SettingField(""),
        "privacy": SettingField("public", PRIVACY),
        "categoryId": SettingField("22"),
        "tags": SettingField((), kind=list),
        "madeForKids": SettingField(False, kind=bool),
    },
    scopes=SCOPES,
    sandbox_account=_sandbox_account,
    oauth=OAuthFlow(
        authorize=("authorize", "/o/oauth2/v2/auth"),
        token=("auth", "/token"),
        scopes=SCOPES,
        authorize_params={"access_type": "offline", "prompt": "consent", "include_granted_scopes": "true"},
        refreshes_access=True,
    ),
)


class YouTubeAdapter(PlatformAdapter):
    """One video per post, uploaded with the resumable protocol."""

    descriptor = DESCRIPTOR

    # ----- publishing ----------------------------------------------------------------------

    async def publish(self, job: PublishJob) -> Published | InProgress:
        state = dict(job.state or {})
        if state.get("step") == "upload":
            return await self._upload(job, state)
        if state.get("step") == "processing":
            return await self._processing(job, state)
        video = the_video(job.part.media)
        state = {
            "step": "upload",
            "session": await self._session(job, video),
            "size": video.size,
            "short": is_short(video),
        }
        return InProgress(state, check_after=timedelta(0))

    async def _session(self, job: PublishJob, video: MediaFile) -> str:
        """Start a resumable upload session (``POST …/videos?uploadType=resumable``): its URI."""
        body = metadata(job.part.text, job.settings)
        result = await _http.send(
            self.http,
            "POST",
            job.creds.endpoint("upload") + "/upload/youtube/v3/videos",
            client_timeout=self.timeout,
            platform="YouTube",
            headers={
                **_bearer(job.creds),
                "X-Upload-Content-Length": str(video.size),
                "X-Upload-Content-Type": video.mime_type,
            },
            params={"uploadType": "resumable", "part": "snippet,status"},
            json_data=body,
        )
        if result.status >= 300:
            raise classify(result)
        location = result.headers.get("Location")
        if not location:
            raise PlatformError(
                ErrorCode.UNKNOWN_ERROR, "YouTube started an upload without a session URI", retryable=False
            )
        return location

    async def _upload(self, job: PublishJob, state: dict[str, Any]) -> InProgress:
        """Send what the session does not hold yet, from the offset it reports."""
        video = the_video(job.part.media)
        size = int(state["size"])
        if video.size != size:
            raise PlatformError(
                ErrorCode.UNKNOWN_ERROR, "The video changed during its YouTube upload", retryable=False
            )
        held, resource = await self._held(state["session"], size)
        if held is None:  # the session expired or was lost: a new one, from the start
            state = state | {"session": await self._session(job, video)}
            held = 0
        sent = 0
        while resource is None:
            if sent >= STEP_BYTES:
                return InProgress(state, check_after=timedelta(0))
            length = min(CHUNK, size - held)
            held, resource = await self._put(state["session"], video, held, length)
            sent += length
        video_id = resource.get("id")
        if not isinstance(video_id, str) or not video_id:
            raise PlatformError(
                ErrorCode.UNKNOWN_ERROR, "YouTube finished the upload without a video id", retryable=False
            )
        polled = {"step": "processing", "video_id": video_id, "polls": 0}
        return InProgress(state | polled, check_after=timedelta(seconds=1))

    async def _held(self, session: str, size: int) -> tuple[int | None, dict[str, Any] | None]:
        """(bytes the session holds, the video if it is complete); (None, None) when it is gone."""
        headers = {"Content-Length": "0", "Content-Range": f"bytes */{size}"}
        result = await _http.send(
            self.http, "PUT", session, client_timeout=self.timeout, platform="YouTube", headers=headers
        )
        if result.status in (404, 410):
            return None, None
        return self._uploaded(result)

    async def _put(
        self, session: str, video: MediaFile, start: int, length: int
    ) -> tuple[int, dict[str, Any] | None]:
        """PUT one chunk: (bytes the session now holds, the video once complete)."""
        last = start + length == video.size
        headers = {
            "Content-Type": video.mime_type,
            "Content-Length": str(length),
            "Content-Range": f"bytes {start}-{start + length - 1}/{video.size}",
        }
        result = await _http.send(
            self.http,
            "PUT",
            session,
            client_timeout=upload_timeout(self.timeout, length),
            platform="YouTube",
            maybe_published=last,
            headers=headers,
            data=byte_range(video.source, start, length),
        )
        held, resource = self._uploaded(result, creating=last)
        return held or 0, resource

    @staticmethod
    def _uploaded(result: _http.HttpResult, *, creating: bool = False) -> tuple[int, dict[str, Any] | None]:
        if result.status in (200, 201):
            return 0, _http.json_object(result.body)
        if result.status == 308:  # Resume Incomplete: ``Range: bytes=0-<last>`` (absent: nothing)
            _, _, last = (result.headers.get("Range") or "").partition("-")
            return (int(last) + 1 if last.isdigit() else 0), None
        raise classify(result, creating=creating)

    async def _processing(self, job: PublishJob, state: dict[str, Any]) -> Published | InProgress:
        """Published once YouTube has processed the video; a later check while it works."""
        video_id = str(state["video_id"])
        found = await self._get(job.creds, "videos", {"part": "status,processingDetails", "id": video_id})
        items = [i for i in found.get("items") or [] if isinstance(i, dict)]
        status = (items[0].get("status") or {}) if items else {"uploadStatus": "deleted"}
        polls = int(state.get("polls", 0))
        if status.get("uploadStatus") == "processed":
            short = bool(state.get("short"))
            return Published(video_id, watch_url(video_id, short=short), {"short": short})
        if status.get("uploadStatus") in ("failed", "rejected", "deleted"):
            raise processing_failure(status)
        wait = _PROCESSING_CHECKS[min(polls, len(_PROCESSING_CHECKS) - 1)]
        return InProgress(state | {"polls": polls + 1}, check_after=timedelta(seconds=wait))

    # ----- reconciliation ------------------------------------------------------------------

    async def find_published(self, job: PublishJob) -> Published | None:
        """A video in the channel's uploads playlist with this post's title, since the attempt began."""
        title = metadata(job.part.text, job.settings)["snippet"]["title"]
        since = (job.since or datetime.now(UTC)) - timedelta(minutes=5)
        channels = await self._get(job.creds, "channels", {"part": "contentDetails", "mine": "true"})
        items = channels.get("items") or [{}]
        uploads = items[0].get("contentDetails", {}).get("relatedPlaylists", {}).get("uploads")
        if not uploads:
            return None
        listed = await self._get(
            job.creds, "playlistItems", {"part": "snippet", "playlistId": str(uploads), "maxResults": "10"}
        )
        for item in listed.get("items") or []:
            snippet = item.get("snippet") if isinstance(item, dict) else None
            if not isinstance(snippet, dict) or snippet.get("title") != title:
                continue
            published = _http.parse_time(snippet.get("publishedAt"))
            video_id = (snippet.get("resourceId") or {}).get("videoId")
            if published is not None and published >= since and video_id:
                return Published(str(video_id), watch_url(str(video_id), short=False), {"short": False})
        return None

    # ----- credentials ---------------------------------------------------------------------

    def needs_refresh(self, creds: Credentials, now: datetime) -> bool:
        if not creds.secrets.get("refresh_token"):
            return False
        if not creds.secrets.get("access_token"):
            return True
        expires = _http.epoch_time(creds.secrets.get("access_expires_at"))
        return expires is not None and expires - now < EXPIRY_MARGIN

    async def refresh(self, creds: Credentials) -> Credentials:
        """A new access token from Google's token endpoint; the refresh token stays.

        The access token's one-hour end is kept in the secrets: the connection itself does not
        expire while its refresh token works.
        """
        refresh_token = creds.secrets.get("refresh_token")
        if not refresh_token:
            raise PlatformError(
                ErrorCode.PLATFORM_AUTH_EXPIRED,
                "YouTube access expired and there is no refresh token; reconnect the account",
            )
        client_id = creds.secrets.get("client_id") or self.app.get("client_id")
        client_secret = creds.secrets.get("client_secret") or self.app.get("client_secret")
        if not client_id or not client_secret:
            raise PlatformError(
                ErrorCode.UNKNOWN_ERROR,
                "YouTube app credentials are not configured (POSTPOST_YOUTUBE_CLIENT_ID and _SECRET)",
                retryable=False,
            )
        form = {
            "client_id": client_id,
            "client_secret": client_secret,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        }
        result = await _http.send(
            self.http,
            "POST",
            creds.endpoint("auth") + "/token",
            client_timeout=self.timeout,
            platform="YouTube",
            data=form,
        )
        body = _http.json_object(result.body)
        token = body.get("access_token")
        if result.status >= 300 or not token:
            raise token_error(result)
        scope = str(body.get("scope") or "")
        return Credentials(
            account_id=creds.account_id,
            endpoints=creds.endpoints,
            secrets=creds.secrets.merged(
                access_token=str(token),
                refresh_token=str(body.get("refresh_token") or refresh_token),
                access_expires_at=str(
                    int(datetime.now(UTC).timestamp()) + int(body.get("expires_in") or 3599)
                ),
            ),
            username=creds.username,
            expires_at=creds.expires_at,
            scopes=tuple(scope.split()) or creds.scopes,
        )

    async def check_connection(self, creds: Credentials) -> ConnectionCheck:
        """``channels.list?mine=true``: the token works and names its channel (auth failures raise)."""
        try:
            found = await self._get(creds, "channels", {"part": "snippet", "mine": "true"})
        except PlatformError as exc:
            if exc.refreshable:
                raise
            return ConnectionCheck(False, exc.platform_error or exc.message)
        items = found.get("items") or []
        if not items:
            return ConnectionCheck(False, "The Google account has no YouTube channel")
        snippet = items[0].get("snippet") or {}
        handle = snippet.get("customUrl") or creds.username
        name = snippet.get("title") or handle
        scopes = list(creds.scopes) or list(SCOPES)
        return ConnectionCheck(True, f"Connected as {name}", str(handle) if handle else None, scopes)

    async def read_profile(self, creds: Credentials) -> Profile:
        """The channel of the Google account (``channels.list?mine=true``)."""
        found = await self._get(creds, "channels", {"part": "snippet", "mine": "true"})
        items = found.get("items") or []
        if not items or not items[0].get("id"):
            raise PlatformError(ErrorCode.UNKNOWN_ERROR, "This Google account has no YouTube channel")
        channel = str(items[0]["id"])
        snippet = items[0].get("snippet") or {}
        handle = snippet.get("customUrl")
        thumbnail = ((snippet.get("thumbnails") or {}).get("default") or {}).get("url")
        return Profile(
            account_id=channel,
            username=str(handle) if handle else None,
            display_name=str(snippet.get("title") or handle or channel),
            avatar_url=str(thumbnail) if thumbnail else None,
            profile_url=f"https://www.youtube.com/{handle}"
            if handle
            else f"https://www.youtube.com/channel/{channel}",
        )

    # ----- transport -----------------------------------------------------------------------

    async def _get(self, creds: Credentials, resource: str, params: dict[str, str]) -> dict[str, Any]:
        result = await _http.send(
            self.http,
            "GET",
            f"{creds.base_url}/youtube/v3/{resource}",
            client_timeout=self.timeout,
            platform="YouTube",
            headers=_bearer(creds),
            params=params,
        )
        if result.status >= 300:
            raise classify(result)
        return _http.json_object(result.body)


ADAPTER = YouTubeAdapter


def _bearer(creds: Credentials) -> dict[str, str]:
    token = creds.secrets.get("access_token")
    if not token:
        raise PlatformError(
            ErrorCode.PLATFORM_AUTH_EXPIRED, "No YouTube access token stored", refreshable=True
        )
    return {"Authorization": f"Bearer {token}"}


def watch_url(video_id: str, *, short: bool) -> str:
    return (
        f"https://www.youtube.com/shorts/{video_id}"
        if short
        else f"https://www.youtube.com/watch?v={video_id}"
    )
