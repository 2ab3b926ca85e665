"""Fake of the YouTube Data API v3 (resumable ``videos.insert`` and the reads around it) and of
Google's OAuth 2.0 endpoints.

Tokens are stateless: ``ya29.<channel id>.<expiry epoch>.<random>`` is an access token until its
expiry, ``1//<channel id>.<random>`` a refresh token (not rotated, as Google's). Uploads follow
the resumable protocol: the session URI from ``Location``, chunks PUT with ``Content-Range``
(multiples of 256 KiB except the last), 308 with ``Range`` between them, ``bytes */N`` to ask for
the offset, 200 with the video at the end, 404 for a session that is gone. A finished upload is
measured with PyAV and stays ``uploaded`` for `processing_seconds`, then becomes ``processed``
(listed in the control API) or ``failed``. Limits: `quota_uploads` ``videos.insert`` calls per
Pacific day for the whole project (403 ``quotaExceeded``) and `channel_daily_uploads` per channel
(400 ``uploadLimitExceeded``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import string
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from postpost.simulator._media_files import Measured, Upload, measure
from postpost.simulator.fake import Fake
from postpost.simulator.faults import MEDIA, media_fault
from postpost.simulator.world import World, iso_timestamp

KIB = 1024
ACCESS_TTL = 3599
CODE_TTL = 600
SESSION_TTL = 7 * 86400
MAX_BYTES = 256 * 1024**3
TITLE_MAX, DESCRIPTION_MAX_BYTES, TAGS_MAX = 100, 5000, 500
CATEGORIES = frozenset(
    {"1", "2", "10", "15", "17", "19", "20", "22", "23", "24", "25", "26", "27", "28", "29"}
)
PRIVACY = frozenset({"public", "unlisted", "private"})
PACIFIC = ZoneInfo("America/Los_Angeles")
_ID_CHARS = string.ascii_letters + string.digits + "-_"
SCOPES = (
    "https://www.googleapis.com/auth/youtube.upload",
    "https://www.googleapis.com/auth/youtube.readonly",
)


@dataclass
class Session:
    """A resumable upload session."""

    id: str
    account: str
    snippet: dict[str, Any]
    status: dict[str, Any]
    size: int
    mime_type: str
    created: float
    fault: str | None
    media_fault: str | None
    upload: Upload = field(default_factory=Upload)
    puts: int = 0
    video_id: str | None = None


@dataclass
class Video:
    """A video resource, its processing outcome decided when the upload ended."""

    id: str
    account: str
    snippet: dict[str, Any]
    status: dict[str, Any]
    created: float
    ready_at: float
    failure: str | None
    media: Measured | None
    listed: bool = False


def google_error(status: int, reason: str, message: str, **headers: str) -> JSONResponse:
    """``{"error": {"code", "message", "errors": [{"message", "domain", "reason"}], "status"}}``."""
    names = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND"}
    names |= {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}
    domain = (
        "youtube.quota" if reason == "quotaExceeded" else ("global" if status >= 401 else "youtube.video")
    )
    body = {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"message": message, "domain": domain, "reason": reason}],
            "status": names.get(status, "UNKNOWN"),
        }
    }
    return JSONResponse(body, status, headers=headers or None)


def oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status)


def sandbox_handle(channel: str) -> str:
    return "@sandbox-" + channel[2:10].lower()


class YouTubeFake(Fake):
    """YouTube Data API v3 and Google OAuth, as a publishing service uses them."""

    name = "youtube"

    def __init__(
        self,
        world: World,
        *,
        processing_seconds: float = 3.0,
        slow_processing_seconds: float = 20.0,
        quota_uploads: int = 100,
        channel_daily_uploads: int = 50,
    ) -> None:
        super().__init__(world)
        self.processing_seconds = processing_seconds
        self.slow_processing_seconds = slow_processing_seconds
        self.quota_uploads = quota_uploads
        self.channel_daily_uploads = channel_daily_uploads
        self.sessions: dict[str, Session] = {}
        self.videos: dict[str, Video] = {}
        self.inserts: list[tuple[float, str]] = []  # (time, channel) of each videos.insert
        self.codes: dict[str, dict[str, Any]] = {}
        self.revoked: set[str] = set()

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/o/oauth2/v2/auth", self.authorize, methods=["GET"]),
            Route("/token", self.token, methods=["POST"]),
            Route("/upload/youtube/v3/videos", self.start_upload, methods=["POST"]),
            Route("/upload/youtube/v3/videos", self.upload, methods=["PUT"]),
            Route("/youtube/v3/videos", self.list_videos, methods=["GET"]),
            Route("/youtube/v3/channels", self.list_channels, methods=["GET"]),
            Route("/youtube/v3/playlistItems", self.list_playlist_items, methods=["GET"]),
        ]

    def forget(self, account: str | None = None) -> None:
        for session in [s for s in self.sessions.values() if account in (None, s.account)]:
            session.upload.discard()
            del self.sessions[session.id]
        for video_id in [v.id for v in self.videos.values() if account in (None, v.account)]:
            del self.videos[video_id]
        self.inserts = [i for i in self.inserts if account is not None and i[1] != account]
        if account is None:
            self.codes.clear()
            self.revoked.clear()

    def fault_response(self, fault: str) -> Response:
        if fault == "auth-expired":
            return google_error(401, "authError", "Request had invalid authentication credentials.")
        if fault == "invalid-content":
            return google_error(400, "invalidVideoMetadata", "The request metadata is invalid.")
        if fault == "rate-limited":
            retry = str(max(1, round(self.world.hold_seconds)))
            return google_error(429, "rateLimitExceeded", "Too many requests.", **{"Retry-After": retry})
        if fault == "server-error":
            return google_error(503, "backendError", "Backend Error")
        return google_error(500, "backendError", "Backend Error")

    # ----- helpers -----------------------------------------------------------------------------

    def _channel(self, request: Request) -> str | Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        parts = token.strip().split(".")
        if (
            scheme.lower() != "bearer"
            or len(parts) != 4
            or parts[0] != "ya29"
            or not parts[1].startswith("UC")
        ):
            return self.fault_response("auth-expired")
        if not parts[2].isdigit() or int(parts[2]) <= self.world.clock():
            return self.fault_response("auth-expired")
        return parts[1]

    def _new_id(self) -> str:
        return "".join(secrets.choice(_ID_CHARS) for _ in range(11))

    def _limits(self, channel: str) -> Response | None:
        now = self.world.clock()
        today = datetime.fromtimestamp(now, PACIFIC).date()
        self.inserts = [i for i in self.inserts if datetime.fromtimestamp(i[0], PACIFIC).date() == today]
        if len(self.inserts) >= self.quota_uploads:
            message = "The request cannot be completed because you have exceeded your quota."
            return google_error(403, "quotaExceeded", message)
        if sum(1 for _, c in self.inserts if c == channel) >= self.channel_daily_uploads:
            return google_error(
                400, "uploadLimitExceeded", "The user has exceeded the number of videos they may upload."
            )
        self.inserts.append((now, channel))
        return None

    def _sweep(self) -> None:
        """Drop sessions past their lifetime, with the bytes they hold."""
        for session in [s for s in self.sessions.values() if self.world.clock() > s.created + SESSION_TTL]:
            session.upload.discard()
            del self.sessions[session.id]

    def _settle(self, video: Video) -> None:
        """Finish processing once its time is over: processed (and listed) or failed."""
        if video.status["uploadStatus"] != "uploaded" or self.world.clock() < video.ready_at:
            return
        if video.failure is not None:
            video.status |= {"uploadStatus": "failed", "failureReason": video.failure}
            return
        video.status["uploadStatus"] = "processed"
        if not video.listed:
            video.listed = True
            media = [video.media.listing()] if video.media else []
            self.world.accept(self.name, video.account, video.id, video.snippet["description"], None, media)

    def _resource(self, video: Video, parts: list[str]) -> dict[str, Any]:
        self._settle(video)
        resource: dict[str, Any] = {
            "kind": "youtube#video",
            "etag": hashlib.md5(video.id.encode()).hexdigest(),
            "id": video.id,
        }
        processing = {"uploaded": "processing", "processed": "succeeded"}.get(
            video.status["uploadStatus"], "failed"
        )
        values = {
            "snippet": video.snippet,
            "status": video.status,
            "processingDetails": {"processingStatus": processing},
            "contentDetails": {
                "duration": f"PT{round(video.media.duration or 0)}S" if video.media else "PT0S"
            },
        }
        resource |= {k: v for k, v in values.items() if k in parts}
        return resource

    # ----- upload ------------------------------------------------------------------------------

    async def start_upload(self, request: Request) -> Response:
        """``POST /upload/youtube/v3/videos?uploadType=resumable&part=snippet,status``."""
        channel = self._channel(request)
        if isinstance(channel, Response):
            return channel
        q = request.query_params
        if q.get("uploadType") != "resumable":
            return google_error(400, "invalidArgument", "This fake only takes uploadType=resumable.")
        parts = set(q.get("part", "").split(","))
        if "snippet" not in parts:
            return google_error(400, "required", "Required parameter: part")
        body = await _json(request)
        if body is None:
            return google_error(400, "parseError", "Parse Error")
        size, mime = (
            request.headers.get("x-upload-content-length", ""),
            request.headers.get("x-upload-content-type", ""),
        )
        if not size.isdigit() or not 0 < int(size) <= MAX_BYTES:
            return google_error(400, "badContent", "X-Upload-Content-Length must give the video's size.")
        if not (mime.startswith("video/") or mime == "application/octet-stream"):
            return google_error(400, "badContent", f"Unsupported content with type: {mime}")
        checked = _check_metadata(body)
        if isinstance(checked, Response):
            return checked
        snippet, status = checked
        fault = self.world.fault_for(
            self.name, channel, snippet["description"], "text:" + snippet["description"]
        )
        if self.rejects(fault):
            assert fault is not None
            return self.fault_response(fault)
        limited = self._limits(channel)
        if limited is not None:
            return limited
        self._sweep()
        session = Session(
            id=secrets.token_urlsafe(24),
            account=channel,
            snippet=snippet,
            status=status,
            size=int(size),
            mime_type=mime,
            created=self.world.clock(),
            fault=None if fault in MEDIA else fault,
            media_fault=fault if fault in MEDIA else media_fault(snippet["description"], self.name),
        )
        self.sessions[session.id] = session
        query = urlencode(
            {"uploadType": "resumable", "part": ",".join(sorted(parts)), "upload_id": session.id}
        )
        location = f"{_origin(request)}/upload/youtube/v3/videos?{query}"
        return Response(status_code=200, headers={"Location": location, "X-GUploader-UploadID": session.id})

    async def upload(self, request: Request) -> Response:
        """``PUT <session URI>``: a chunk, or ``bytes */N`` asking what the session holds."""
        session = self.sessions.get(request.query_params.get("upload_id", ""))
        if session is None or self.world.clock() > session.created + SESSION_TTL:
            return google_error(404, "notFound", "The upload session was not found or has expired.")
        if session.video_id is not None:
            return self._finished(session)
        span = (request.headers.get("content-range") or "").removeprefix("bytes ")
        length = request.headers.get("content-length", "0")
        received = session.upload.size
        if span == f"*/{session.size}":
            return _resume_incomplete(received)
        rng, _, total = span.partition("/")
        first, _, last = rng.partition("-")
        if not (first.isdigit() and last.isdigit() and total == str(session.size) and length.isdigit()):
            return google_error(400, "badRequest", "Content-Range must be bytes a-b/total or bytes */total.")
        start, end = int(first), int(last)
        if start > received or end < start or end >= session.size or int(length) != end - start + 1:
            return google_error(
                400, "badRequest", f"Content-Range {span} does not follow the {received} bytes received."
            )
        if end + 1 < session.size and (end - start + 1) % (256 * KIB):
            return google_error(400, "badRequest", "Every chunk but the last must be a multiple of 256 KiB.")
        cut = session.media_fault == "upload-interrupted" and session.puts == 0
        session.puts += 1
        pieces = _skip(request.stream(), received - start)
        stop = (end - start + 1) // 2 if cut else None
        await session.upload.write(
            received, pieces, stop_after=None if stop is None else max(stop - (received - start), 0)
        )
        if cut:
            return google_error(503, "backendError", "The upload was interrupted.")
        if session.upload.size < session.size:
            return _resume_incomplete(session.upload.size)
        found = await measure(session.upload, session.mime_type)
        video = self._create(session, found)
        return await self.finish(session.fault, JSONResponse(self._resource(video, ["snippet", "status"])))

    def _create(self, session: Session, found: Measured | None) -> Video:
        now = self.world.clock()
        slow = session.media_fault == "media-slow"
        failure = (
            "invalidFile"
            if found is None
            else ("conversion" if session.media_fault == "media-processing-failed" else None)
        )
        snippet = session.snippet | {
            "publishedAt": iso_timestamp(now),
            "channelId": session.account,
            "channelTitle": f"Sandbox channel {session.account[-6:]}",
            "liveBroadcastContent": "none",
        }
        video = Video(
            id=self._new_id(),
            account=session.account,
            snippet=snippet,
            status=session.status | {"uploadStatus": "uploaded", "license": "youtube", "embeddable": True},
            created=now,
            ready_at=now + (self.slow_processing_seconds if slow else self.processing_seconds),
            failure=failure,
            media=found,
        )
        self.videos[video.id] = video
        session.video_id = video.id
        return video

    def _finished(self, session: Session) -> Response:
        video = self.videos.get(session.video_id or "")
        if video is None:
            return google_error(404, "notFound", "The upload session was not found or has expired.")
        return JSONResponse(self._resource(video, ["snippet", "status"]))

    # ----- reads -------------------------------------------------------------------------------

    async def list_videos(self, request: Request) -> Response:
        """``GET /youtube/v3/videos?part=…&id=a,b``: the caller's videos and others' public ones."""
        channel = self._channel(request)
        if isinstance(channel, Response):
            return channel
        parts = request.query_params.get("part", "").split(",")
        ids = [i for i in request.query_params.get("id", "").split(",") if i]
        items = []
        for video_id in ids:
            video = self.videos.get(video_id)
            if video is None:
                continue
            self._settle(video)
            mine = video.account == channel
            if mine or (
                video.status["privacyStatus"] == "public" and video.status["uploadStatus"] == "processed"
            ):
                items.append(self._resource(video, parts))
        return JSONResponse(
            {"kind": "youtube#videoListResponse", "items": items, "pageInfo": _page(len(items))}
        )

    async def list_channels(self, request: Request) -> Response:
        """``GET /youtube/v3/channels?part=…&mine=true``."""
        channel = self._channel(request)
        if isinstance(channel, Response):
            return channel
        if request.query_params.get("mine") != "true":
            return google_error(400, "missingRequiredParameter", "This fake only answers mine=true.")
        item = {
            "kind": "youtube#channel",
            "id": channel,
            "snippet": {"title": f"Sandbox channel {channel[-6:]}", "customUrl": sandbox_handle(channel)},
            "contentDetails": {"relatedPlaylists": {"likes": "", "uploads": "UU" + channel[2:]}},
        }
        return JSONResponse({"kind": "youtube#channelListResponse", "items": [item], "pageInfo": _page(1)})

    async def list_playlist_items(self, request: Request) -> Response:
        """``GET /youtube/v3/playlistItems?playlistId=UU…``: a channel's uploads, newest first."""
        channel = self._channel(request)
        if isinstance(channel, Response):
            return channel
        q = request.query_params
        playlist = q.get("playlistId", "")
        size = q.get("maxResults", "5")
        if not playlist.startswith("UU") or not size.isdigit() or int(size) > 50:
            return google_error(
                404,
                "playlistNotFound",
                "The playlist identified with the request's playlistId parameter cannot be found.",
            )
        owner = "UC" + playlist[2:]
        uploads = sorted(
            (v for v in self.videos.values() if v.account == owner), key=lambda v: v.created, reverse=True
        )
        if owner != channel:
            uploads = [v for v in uploads if v.status["privacyStatus"] == "public"]
        start = int(q.get("pageToken") or 0) if (q.get("pageToken") or "0").isdigit() else 0
        page = uploads[start : start + int(size)]
        items = [
            {
                "kind": "youtube#playlistItem",
                "id": base64.urlsafe_b64encode(f"{playlist}.{v.id}".encode()).decode(),
                "snippet": {
                    "publishedAt": v.snippet["publishedAt"],
                    "channelId": owner,
                    "title": v.snippet["title"],
                    "description": v.snippet["description"],
                    "playlistId": playlist,
                    "position": start + n,
                    "resourceId": {"kind": "youtube#video", "videoId": v.id},
                },
                "contentDetails": {"videoId": v.id, "videoPublishedAt": v.snippet["publishedAt"]},
            }
            for n, v in enumerate(page)
        ]
        answer: dict[str, Any] = {
            "kind": "youtube#playlistItemListResponse",
            "items": items,
            "pageInfo": _page(len(uploads)),
        }
        if start + len(page) < len(uploads):
            answer["nextPageToken"] = str(start + len(page))
        return JSONResponse(answer)

    # ----- OAuth -------------------------------------------------------------------------------

    async def authorize(self, request: Request) -> Response:
        """Google's consent page, approving at once: a new channel, a code to the redirect URI."""
        q = request.query_params
        client_id, redirect_uri = q.get("client_id", ""), q.get("redirect_uri", "")
        if (
            not client_id
            or not redirect_uri.startswith(("http://", "https://"))
            or q.get("response_type") != "code"
        ):
            return oauth_error(
                400, "invalid_request", "client_id, redirect_uri and response_type=code are required"
            )
        code = "4/" + secrets.token_urlsafe(32)
        self.codes[code] = {
            "channel": "UC" + "".join(secrets.choice(_ID_CHARS) for _ in range(22)),
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "challenge": q.get("code_challenge"),
            "method": q.get("code_challenge_method", "plain"),
            "scope": q.get("scope", ""),
            "offline": q.get("access_type") == "offline",
            "expires": self.world.clock() + CODE_TTL,
        }
        params = {"state": q.get("state", ""), "code": code, "scope": q.get("scope", "")}
        joiner = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(f"{redirect_uri}{joiner}{urlencode(params)}", 302)

    async def token(self, request: Request) -> Response:
        """``POST /token``: authorization code (PKCE when a challenge was given) or refresh token."""
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        if not form.get("client_id") or not form.get("client_secret"):
            return oauth_error(401, "invalid_client", "The OAuth client was not found.")
        grant = form.get("grant_type")
        if grant == "refresh_token":
            token = form.get("refresh_token", "")
            channel, _, rest = token.removeprefix("1//").partition(".")
            if (
                not token.startswith("1//")
                or not channel.startswith("UC")
                or not rest
                or token in self.revoked
            ):
                return oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
            return JSONResponse(self._issue(channel, " ".join(SCOPES), refresh=None))
        if grant != "authorization_code":
            return oauth_error(400, "unsupported_grant_type", "Invalid grant_type: " + str(grant))
        given = self.codes.pop(form.get("code", ""), None)
        if (
            given is None
            or given["expires"] < self.world.clock()
            or given["client_id"] != form["client_id"]
            or given["redirect_uri"] != form.get("redirect_uri")
        ):
            return oauth_error(400, "invalid_grant", "Malformed auth code.")
        if given["challenge"] and not _pkce(
            form.get("code_verifier", ""), given["challenge"], given["method"]
        ):
            return oauth_error(400, "invalid_grant", "Invalid code verifier.")
        refresh = f"1//{given['channel']}.{secrets.token_hex(16)}" if given["offline"] else None
        return JSONResponse(self._issue(given["channel"], given["scope"], refresh=refresh))

    def _issue(self, channel: str, scope: str, *, refresh: str | None) -> dict[str, Any]:
        expires = int(self.world.clock()) + ACCESS_TTL
        body: dict[str, Any] = {
            "access_token": f"ya29.{channel}.{expires}.{secrets.token_hex(12)}",
            "expires_in": ACCESS_TTL,
            "scope": scope,
            "token_type": "Bearer",
        }
        if refresh is not None:
            body["refresh_token"] = refresh
        return body


FAKE = YouTubeFake


def _check_metadata(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | Response:
    """(snippet, status) of valid video metadata, or YouTube's 400."""
    snippet, status = body.get("snippet"), body.get("status") or {}
    if not isinstance(snippet, dict) or not isinstance(status, dict):
        return google_error(400, "invalidVideoMetadata", "The request metadata is invalid.")
    title, description = snippet.get("title"), snippet.get("description", "")
    if (
        not isinstance(title, str)
        or not title.strip()
        or len(title) > TITLE_MAX
        or "<" in title
        or ">" in title
    ):
        return google_error(
            400, "invalidTitle", "The request metadata specifies an invalid or empty video title."
        )
    if (
        not isinstance(description, str)
        or len(description.encode()) > DESCRIPTION_MAX_BYTES
        or "<" in description
        or ">" in description
    ):
        return google_error(
            400, "invalidDescription", "The request metadata specifies an invalid video description."
        )
    tags = snippet.get("tags", [])
    if (
        not isinstance(tags, list)
        or not all(isinstance(t, str) for t in tags)
        or _tags_length(tags) > TAGS_MAX
    ):
        return google_error(400, "invalidTags", "The request metadata specifies invalid video keywords.")
    category = str(snippet.get("categoryId", "22"))
    if category not in CATEGORIES:
        return google_error(
            400, "invalidCategoryId", "The snippet.categoryId property specifies an invalid category ID."
        )
    privacy = status.get("privacyStatus", "public")
    if privacy not in PRIVACY:
        return google_error(
            400, "invalidVideoMetadata", "The request metadata specifies an invalid privacy status."
        )
    kids = status.get("selfDeclaredMadeForKids", False) is True
    snippet_out: dict[str, Any] = {"title": title, "description": description, "tags": tags}
    snippet_out |= {"categoryId": category, "localized": {"title": title, "description": description}}
    status_out = {"privacyStatus": privacy, "madeForKids": kids, "selfDeclaredMadeForKids": kids}
    return snippet_out, status_out


def _tags_length(tags: list[str]) -> int:
    return sum(len(t) + (2 if " " in t else 0) for t in tags) + max(len(tags) - 1, 0)


def _pkce(verifier: str, challenge: str, method: str) -> bool:
    if not verifier:
        return False
    if method == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == challenge
    return verifier == challenge


def _resume_incomplete(received: int) -> Response:
    """308 Resume Incomplete, with ``Range`` when the session holds any bytes."""
    headers = {"Range": f"bytes=0-{received - 1}"} if received else {}
    return Response(status_code=308, headers=headers)


async def _skip(pieces: Any, count: int) -> Any:
    """The body without its first `count` bytes (already held from an earlier chunk)."""
    async for piece in pieces:
        if count >= len(piece):
            count -= len(piece)
            continue
        yield piece[count:]
        count = 0


def _page(total: int) -> dict[str, int]:
    return {"totalResults": total, "resultsPerPage": total}


def _origin(request: Request) -> str:
    host = request.headers.get("host", "www.googleapis.com")
    return f"{request.url.scheme}://{host}{request.scope.get('root_path', '')}"


async def _json(request: Request) -> dict[str, Any] | None:
    raw = await request.body()
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
