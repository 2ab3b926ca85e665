"""TikTok adapter: the Content Posting API (Direct Post) on open.tiktokapis.com.

Credentials: `account_id` is the creator's open_id; `secrets` hold ``access_token`` and
``refresh_token`` (single use: each refresh returns a new one). A sandbox account also carries
the ``client_key``/``client_secret`` its tokens were issued to; otherwise this server's TikTok
app is used (POSTPOST_TIKTOK_CLIENT_ID/SECRET).

Publishing takes several calls of `publish`, each one step, the state stored by the engine:
1. ``creator_info/query``: the post is checked against what the creator may use; then
   ``video/init`` (FILE_UPLOAD, or PULL_FROM_URL when the video has a fetch URL) or
   ``content/init`` for photos → state with the publish_id, stored before any byte is sent;
2. upload: ``status/fetch`` says how many bytes TikTok holds; the remaining chunks are PUT;
3. ``status/fetch`` until PUBLISH_COMPLETE.
Any worker resumes from the stored publish_id. An init whose answer was lost leaves no id: it is
looked up in the creator's video list (reconciliation LOOKUP).
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from postpost.platforms import _http
from postpost.platforms._chunked import byte_range, next_midnight, upload_timeout
from postpost.platforms._tiktok_errors import classify, error_of, failure, token_error
from postpost.platforms._tiktok_rules import (
    PRIVACY,
    check_against_creator,
    photo_body,
    post_options,
    post_video,
    sandbox_username,
    video_post_info,
)
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
from postpost.platforms.text import Utf16

API = "https://open.tiktokapis.com"
CHUNK = 10 * MB  # within TikTok's 5–64 MB; a smaller file goes in one piece
STEP_BYTES = 512 * MB  # at most this much is uploaded per call, then the engine calls again
MAX_RESTARTS = 2  # new inits after TikTok failed a publish for a passing reason
EXPIRY_MARGIN = timedelta(minutes=5)
REFRESH_LIFETIME = timedelta(days=180)  # TikTok's refresh tokens, when the answer does not say
SCOPES = ("user.info.basic", "video.publish", "video.list")
RESTARTABLE = frozenset({"video_pull_failed", "photo_pull_failed", "internal", "spam_risk_too_many_posts"})
_PROCESSING_CHECKS = (1, 2, 4, 8, 15, 30)  # seconds between status checks, then the last one


def _sandbox_account() -> SandboxAccount:
    open_id = str(uuid.uuid4())
    expires = datetime.now(UTC) + timedelta(days=1)
    refresh_ends = datetime.now(UTC).replace(microsecond=0) + REFRESH_LIFETIME
    return SandboxAccount(
        account_id=open_id,
        username=sandbox_username(open_id),
        display_name="Sandbox creator",
        secrets={
            "access_token": f"act.{open_id}.{int(expires.timestamp())}.{secrets.token_hex(12)}",
            "refresh_token": f"rft.{open_id}.{secrets.token_hex(16)}",
            "client_key": "sandbox",
            "client_secret": "sandbox",
            "access_expires_at": str(int(expires.timestamp())),
        },
        expires_at=refresh_ends,  # the connection lasts as long as its refresh token
    )


DESCRIPTOR = PlatformDescriptor(
    name="tiktok",
    title="TikTok",
    text=TextRules(limit=2200, counter=Utf16(), threads=False),
    media=MediaRules(
        max_images=35,
        max_videos=1,
        image_types=frozenset({"image/jpeg", "image/webp"}),
        video_types=frozenset({"video/mp4", "video/quicktime", "video/webm"}),
        image_max_bytes=20 * MB,
        video_max_bytes=4096 * MB,
        video_min_seconds=3,
        video_max_seconds=600,
        video_min_fps=23,
        needs_media=True,
        needs_video=True,
        convert={"image/png": "image/jpeg", "image/gif": "image/jpeg", "image/bmp": "image/jpeg"},
    ),
    credential=CredentialKind.OAUTH2,
    endpoints={"api": API, "auth": API, "authorize": "https://www.tiktok.com"},
    reconciliation=Reconciliation.LOOKUP,
    # video/init: 6 requests a minute per token; creators: about 15 posts a day
    pacing=Pacing(per_account=(RateWindow(6, 60), RateWindow(15, 86400))),
    settings={
        "viewerSetting": SettingField("PUBLIC_TO_EVERYONE", PRIVACY),
        "allowComments": SettingField(True, kind=bool),
        "allowDuet": SettingField(False, kind=bool),
        "allowStitch": SettingField(False, kind=bool),
        "commercialContent": SettingField(False, kind=bool),
        "brandOrganic": SettingField(False, kind=bool),
        "brandedContent": SettingField(False, kind=bool),
    },
    rotating_refresh=True,
    scopes=SCOPES,
    sandbox_account=_sandbox_account,
    oauth=OAuthFlow(
        authorize=("authorize", "/v2/auth/authorize/"),
        token=("auth", "/v2/oauth/token/"),
        scopes=SCOPES,
        pkce=False,  # TikTok asks PKCE of desktop and mobile apps only, with its own encoding
        client_id_param="client_key",
        scope_separator=",",
        refreshes_access=True,
        account_id_field="open_id",
    ),
)


class TikTokAdapter(PlatformAdapter):
    """Direct Post of one video (or photos) per post; no threads."""

    descriptor = DESCRIPTOR

    # ----- publishing ----------------------------------------------------------------------

    async def publish(self, job: PublishJob) -> Published | InProgress:
        state = dict(job.state or {})
        if not state.get("publish_id"):
            return await self._start(job, int(state.get("restarts", 0)))
        if state.get("step") == "upload":
            return await self._upload(job, state)
        return self._progress(state, await self._status(job.creds, state["publish_id"]))

    async def _start(self, job: PublishJob, restarts: int) -> InProgress:
        """Check the post, read the creator's options, and initialise the post on TikTok."""
        options = post_options(job.settings)
        video, photos = post_video(job.part.media)
        info = await self._call(job.creds, "/v2/post/publish/creator_info/query/", {})
        check_against_creator(options, info, video)
        state: dict[str, Any] = {"restarts": restarts, "username": info.get("creator_username")}
        if photos:
            body = photo_body(job.part.text, options, photos)
            data = await self._call(job.creds, "/v2/post/publish/content/init/", body, creating=True)
            return _started(state | {"step": "status", "kind": "photo"}, data, check_after=2)
        assert video is not None
        post_info = video_post_info(job.part.text, options)
        # a video is always sent (FILE_UPLOAD): pulling needs a domain verified with TikTok, and a
        # lost answer to a pull could not be told apart from a post still processing
        chunk, chunks = chunk_plan(video.size)
        source: dict[str, Any] = {
            "source": "FILE_UPLOAD",
            "video_size": video.size,
            "chunk_size": chunk,
            "total_chunk_count": chunks,
        }
        data = await self._call(
            job.creds, "/v2/post/publish/video/init/", {"post_info": post_info, "source_info": source}
        )
        upload_url = data.get("upload_url")
        if not isinstance(upload_url, str) or not upload_url:
            raise _malformed("video/init answered without an upload_url")
        state |= {"step": "upload", "kind": "video", "upload_url": upload_url}
        state |= {"size": video.size, "chunk": chunk, "chunks": chunks}
        return _started(state, data, check_after=0)

    async def _upload(self, job: PublishJob, state: dict[str, Any]) -> Published | InProgress:
        """Send the chunks TikTok does not hold yet (it keeps whole chunks only)."""
        status = await self._status(job.creds, state["publish_id"])
        size, chunk, chunks = int(state["size"]), int(state["chunk"]), int(state["chunks"])
        held = int(status.get("uploaded_bytes") or 0)
        if status.get("status") != "PROCESSING_UPLOAD" or held >= size:
            return self._progress(state, status)
        video = job.part.media[0] if job.part.media else None
        if video is None or video.size != size:
            raise PlatformError(
                ErrorCode.UNKNOWN_ERROR, "The video changed during its TikTok upload", retryable=False
            )
        sent = 0
        for index in range(min(held // chunk, chunks - 1), chunks):
            start = index * chunk
            length = size - start if index == chunks - 1 else chunk
            if sent >= STEP_BYTES:
                return InProgress(state, check_after=timedelta(0))
            expired = await self._put_chunk(
                state["upload_url"], video, start, length, last=index == chunks - 1
            )
            if expired:  # the upload URL lives an hour: start a new post
                return await self._start(job, _restart(state, "upload_url_expired"))
            sent += length
        return InProgress(state | {"step": "status", "polls": 0}, check_after=timedelta(seconds=1))

    async def _put_chunk(self, url: str, video: MediaFile, start: int, length: int, *, last: bool) -> bool:
        """PUT one chunk; True when the upload URL is no longer valid."""
        headers = {
            "Content-Type": video.mime_type,
            "Content-Length": str(length),
            "Content-Range": f"bytes {start}-{start + length - 1}/{video.size}",
        }
        result = await _http.send(
            self.http,
            "PUT",
            url,
            client_timeout=upload_timeout(self.timeout, length),
            platform="TikTok",
            maybe_published=last,
            headers=headers,
            data=byte_range(video.source, start, length),
        )
        if result.status in (403, 404, 410):
            return True
        if result.status >= 300:
            raise classify(result, creating=last)
        return False

    def _progress(self, state: dict[str, Any], status: dict[str, Any]) -> Published | InProgress:
        """Published when TikTok is done; a later check while it works; the failure otherwise."""
        name = str(status.get("status") or "")
        if name in ("PUBLISH_COMPLETE", "SEND_TO_USER_INBOX"):
            return _published(state, status)
        if name == "FAILED":
            return self._failed(state, str(status.get("fail_reason") or "unknown"))
        polls = int(state.get("polls", 0))
        wait = _PROCESSING_CHECKS[min(polls, len(_PROCESSING_CHECKS) - 1)]
        return InProgress(state | {"step": "status", "polls": polls + 1}, check_after=timedelta(seconds=wait))

    def _failed(self, state: dict[str, Any], reason: str) -> InProgress:
        """TikTok gave up on this publish: start anew after a pause if the reason passes, else fail."""
        if reason not in RESTARTABLE:
            raise failure(reason)
        now = datetime.now(UTC)
        pause = next_midnight(now) - now if reason == "spam_risk_too_many_posts" else timedelta(seconds=30)
        return InProgress({"restarts": _restart(state, reason), "after": reason}, check_after=pause)

    async def _status(self, creds: Credentials, publish_id: str) -> dict[str, Any]:
        return await self._call(creds, "/v2/post/publish/status/fetch/", {"publish_id": publish_id})

    # ----- reconciliation ------------------------------------------------------------------

    async def find_published(self, job: PublishJob) -> Published | None:
        """A video in the creator's list with this part's caption, created since the attempt began.

        An account that did not grant ``video.list`` cannot be searched: nothing is found."""
        since = (job.since or datetime.now(UTC)) - timedelta(minutes=5)
        caption = job.part.text.strip()
        try:
            data = await self._call(
                job.creds,
                "/v2/video/list/",
                {"max_count": 20},
                params={"fields": "id,title,video_description,create_time,share_url"},
            )
        except PlatformError as error:
            if (error.platform_error or "").startswith(("scope_not_authorized", "scope_permission_missed")):
                return None
            raise
        for video in data.get("videos") or []:
            if not isinstance(video, dict) or int(video.get("create_time") or 0) < since.timestamp():
                continue
            text = str(video.get("title") or video.get("video_description") or "").strip()
            if text == caption and video.get("id"):
                url = video.get("share_url")
                return Published(str(video["id"]), str(url) if url else None)
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
        """A new token pair from ``POST /v2/oauth/token/``; the old refresh token is spent."""
        refresh_token = creds.secrets.get("refresh_token")
        if not refresh_token:
            raise PlatformError(
                ErrorCode.PLATFORM_AUTH_EXPIRED,
                "TikTok access expired and no refresh token is usable; reconnect the account",
            )
        client_key = creds.secrets.get("client_key") or self.app.get("client_id")
        client_secret = creds.secrets.get("client_secret") or self.app.get("client_secret")
        if not client_key or not client_secret:
            raise PlatformError(
                ErrorCode.UNKNOWN_ERROR,
                "TikTok app credentials are not configured (POSTPOST_TIKTOK_CLIENT_ID and _SECRET)",
                retryable=False,
            )
        form = {
            "client_key": client_key,
            "client_secret": client_secret,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        }
        result = await _http.send(
            self.http,
            "POST",
            creds.endpoint("auth") + "/v2/oauth/token/",
            client_timeout=self.timeout,
            platform="TikTok",
            data=form,
        )
        body = _http.json_object(result.body)
        token, new_refresh = body.get("access_token"), body.get("refresh_token")
        if result.status >= 300 or body.get("error") or not token or not new_refresh:
            raise token_error(result, body)
        now = datetime.now(UTC)
        access_ends = now + timedelta(seconds=int(body.get("expires_in") or 86400))
        refresh_lifetime = body.get("refresh_expires_in")
        refresh_ends = now + (
            timedelta(seconds=int(refresh_lifetime)) if refresh_lifetime else REFRESH_LIFETIME
        )
        scope = str(body.get("scope") or "")
        return Credentials(
            account_id=str(body.get("open_id") or creds.account_id),
            endpoints=creds.endpoints,
            secrets=creds.secrets.merged(
                access_token=str(token),
                refresh_token=str(new_refresh),
                access_expires_at=str(int(access_ends.timestamp())),
            ),
            username=creds.username,
            expires_at=refresh_ends,  # the connection's end: its access token is refreshed by itself
            scopes=tuple(s for s in scope.split(",") if s) or creds.scopes,
        )

    async def check_connection(self, creds: Credentials) -> ConnectionCheck:
        """``creator_info/query``: the token works and the creator may post (auth failures raise)."""
        try:
            info = await self._call(creds, "/v2/post/publish/creator_info/query/", {})
        except PlatformError as exc:
            if exc.refreshable:
                raise
            return ConnectionCheck(False, exc.platform_error or exc.message)
        name = info.get("creator_username") or creds.username
        scopes = list(creds.scopes) or list(SCOPES)
        return ConnectionCheck(True, f"Connected as {name}", str(name) if name else None, scopes)

    async def read_profile(self, creds: Credentials) -> Profile:
        """The creator behind the token (``creator_info/query``); the open_id came with the token."""
        info = await self._call(creds, "/v2/post/publish/creator_info/query/", {})
        username = str(info.get("creator_username") or "") or None
        avatar = info.get("creator_avatar_url")
        return Profile(
            account_id=creds.account_id,
            username=username,
            display_name=str(info.get("creator_nickname") or username or "") or None,
            avatar_url=str(avatar) if avatar else None,
            profile_url=f"https://www.tiktok.com/@{username}" if username else None,
        )

    # ----- transport -----------------------------------------------------------------------

    async def _call(
        self,
        creds: Credentials,
        path: str,
        body: dict[str, Any],
        *,
        creating: bool = False,
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """POST a JSON body; the answer's ``data`` when ``error.code`` is ``ok``."""
        token = creds.secrets.get("access_token")
        if not token:
            raise PlatformError(
                ErrorCode.PLATFORM_AUTH_EXPIRED, "No TikTok access token stored", refreshable=True
            )
        result = await _http.send(
            self.http,
            "POST",
            creds.base_url + path,
            client_timeout=self.timeout,
            platform="TikTok",
            maybe_published=creating,
            headers={"Authorization": f"Bearer {token}"},
            json_data=body,
            params=params,
        )
        answer = _http.json_object(result.body)
        if result.status >= 300 or error_of(answer).get("code") != "ok":
            raise classify(result, creating=creating)
        data = answer.get("data")
        return data if isinstance(data, dict) else {}


ADAPTER = TikTokAdapter


def _restart(state: dict[str, Any], reason: str) -> int:
    """The number of the next new start of this post; the failure once there were enough."""
    restarts = int(state.get("restarts", 0)) + 1
    if restarts > MAX_RESTARTS:
        raise failure(reason)
    return restarts


def chunk_plan(size: int) -> tuple[int, int]:
    """(chunk_size, total_chunk_count) by TikTok's rules; the last chunk takes the remainder."""
    chunk = min(size, CHUNK)
    return chunk, max(size // max(chunk, 1), 1)


def _started(state: dict[str, Any], data: dict[str, Any], *, check_after: float) -> InProgress:
    publish_id = data.get("publish_id")
    if not isinstance(publish_id, str) or not publish_id:
        raise _malformed("the init answer has no publish_id")
    return InProgress(state | {"publish_id": publish_id}, check_after=timedelta(seconds=check_after))


def _published(state: dict[str, Any], status: dict[str, Any]) -> Published:
    """The public post id once TikTok has one (after moderation, not for private posts), else the
    publish_id."""
    ids = status.get("publicaly_available_post_id") or status.get("publicly_available_post_id") or []
    post_id = str(ids[0]) if isinstance(ids, list) and ids else None
    username = state.get("username")
    url = None
    if post_id and username:
        url = f"https://www.tiktok.com/@{username}/{state.get('kind', 'video')}/{post_id}"
    return Published(post_id or str(state["publish_id"]), url, {"publishId": state["publish_id"]})


def _malformed(detail: str) -> PlatformError:
    return PlatformError(ErrorCode.UNKNOWN_ERROR, f"Unexpected TikTok answer: {detail}", retryable=False)
