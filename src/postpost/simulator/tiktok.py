"""Fake of TikTok's Content Posting API (open.tiktokapis.com), its upload host and Login Kit OAuth.

Tokens are stateless: ``act.<open_id>.<expiry epoch>.<random>`` is an access token until its
expiry; ``rft.<open_id>.<random>`` a refresh token, good once (each refresh rotates it). The
creator of an open_id is public with every switch on unless `PUT /_sandbox/creators/<open_id>`
(a sandbox-only route) says otherwise. Publishing follows the real state machine: an init, chunks
PUT to the upload URL (TikTok's chunk rules checked), or a real HTTP download of the
PULL_FROM_URL; then PROCESSING_* for `processing_seconds` while the fake measures the file with
PyAV/Pillow and checks it (format, 3 s to the creator's maximum, at least 23 fps); then
PUBLISH_COMPLETE or FAILED with a ``fail_reason``. Limits: `init_per_minute` inits per token
(429 ``rate_limit_exceeded``, with a Retry-After the real API does not send) and `daily_posts` a
creator may start per UTC day (403 ``spam_risk_too_many_posts``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from postpost.simulator._media_files import Measured, Upload, fetch, measure
from postpost.simulator.fake import Fake
from postpost.simulator.faults import MEDIA, media_fault
from postpost.simulator.world import World

MIB = 1024 * 1024
ACCESS_TTL = 86400
REFRESH_TTL = 365 * 86400
CODE_TTL = 600
UPLOAD_URL_TTL = 3600
MIN_CHUNK, MAX_CHUNK, MAX_FINAL_CHUNK, MAX_CHUNKS = 5 * MIB, 64 * MIB, 128 * MIB, 1000
MAX_VIDEO_BYTES = 4096 * MIB
MAX_PHOTO_BYTES = 20 * MIB
TITLE_UNITS, PHOTO_TITLE_UNITS, DESCRIPTION_UNITS = 2200, 90, 4000
MIN_SECONDS, MIN_FPS = 3.0, 23.0
PRIVACY = ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY")
PUBLIC_OPTIONS = ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]
PRIVATE_OPTIONS = ["FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]
PHOTO_TYPES = frozenset({"image/jpeg", "image/webp"})


@dataclass
class Creator:
    """A creator's posting options (``creator_info/query``)."""

    private: bool = False
    comment_disabled: bool = False
    duet_disabled: bool = False
    stitch_disabled: bool = False
    max_video_post_duration_sec: int = 600
    url_ownership_verified: bool = True  # of the app, really: PULL_FROM_URL needs a verified domain
    video_list_granted: bool = True  # the scope video.list


@dataclass
class Publish:
    """One initialised post and where it stands."""

    id: str
    account: str
    kind: str  # video | photo
    source: str  # FILE_UPLOAD | PULL_FROM_URL
    text: str
    privacy: str
    created: float
    fault: str | None
    media_fault: str | None
    size: int = 0
    chunk: int = 0
    chunks: int = 0
    upload_token: str = ""
    upload: Upload | None = None
    received: int = 0  # bytes of whole chunks held
    interrupted: bool = False
    status: str = "PROCESSING_UPLOAD"
    ready_at: float | None = None
    fail_reason: str | None = None
    post_id: str | None = None
    media: list[Measured] = field(default_factory=list)


def sandbox_username(open_id: str) -> str:
    return "sandbox_" + open_id.replace("-", "")[:10]


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def tiktok(data: Any, status: int = 200, code: str = "ok", message: str = "", **headers: str) -> JSONResponse:
    """A TikTok API answer: ``{"data", "error": {"code", "message", "log_id"}}``."""
    error = {"code": code, "message": message, "log_id": secrets.token_hex(16).upper()}
    return JSONResponse({"data": data, "error": error}, status, headers=headers or None)


def invalid_params(message: str) -> JSONResponse:
    return tiktok({}, 400, "invalid_params", message)


def oauth_error(status: int, error: str, description: str) -> JSONResponse:
    body = {"error": error, "error_description": description, "log_id": secrets.token_hex(16).upper()}
    return JSONResponse(body, status)


class TikTokFake(Fake):
    """TikTok for Developers: Login Kit, creator info, direct post, status, video list."""

    name = "tiktok"

    def __init__(
        self,
        world: World,
        *,
        processing_seconds: float = 2.0,
        slow_processing_seconds: float = 20.0,
        daily_posts: int = 15,
        init_per_minute: int = 6,
    ) -> None:
        super().__init__(world)
        self.processing_seconds = processing_seconds
        self.slow_processing_seconds = slow_processing_seconds
        self.daily_posts = daily_posts
        self.init_per_minute = init_per_minute
        self.creators: dict[str, Creator] = {}
        self.publishes: dict[str, Publish] = {}
        self.inits: dict[str, list[float]] = {}
        self.spent_refresh: set[str] = set()
        self.codes: dict[str, dict[str, Any]] = {}
        self.last_id = 7_300_000_000_000_000_000
        self._tasks: set[asyncio.Task[None]] = set()

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/v2/auth/authorize/", self.authorize, methods=["GET"]),
            Route("/v2/oauth/token/", self.token, methods=["POST"]),
            Route("/v2/post/publish/creator_info/query/", self.creator_info, methods=["POST"]),
            Route("/v2/post/publish/video/init/", self.video_init, methods=["POST"]),
            Route("/v2/post/publish/content/init/", self.content_init, methods=["POST"]),
            Route("/v2/post/publish/status/fetch/", self.status_fetch, methods=["POST"]),
            Route("/v2/video/list/", self.video_list, methods=["POST"]),
            Route("/video/", self.upload_chunk, methods=["PUT"]),
            Route("/_sandbox/creators/{open_id}", self.set_creator, methods=["PUT"]),
        ]

    def forget(self, account: str | None = None) -> None:
        for publish in [p for p in self.publishes.values() if account in (None, p.account)]:
            if publish.upload is not None:
                publish.upload.discard()
            del self.publishes[publish.id]
        if account is None:
            self.creators.clear()
            self.inits.clear()
            self.codes.clear()
            return
        self.creators.pop(account, None)
        self.inits.pop(account, None)

    def fault_response(self, fault: str) -> Response:
        if fault == "auth-expired":
            return tiktok(
                {}, 401, "access_token_invalid", "The access token is invalid or not found in the request."
            )
        if fault == "invalid-content":
            return invalid_params("The post was rejected: its content is not allowed")
        if fault == "rate-limited":
            retry = str(max(1, round(self.world.hold_seconds)))
            return tiktok({}, 429, "rate_limit_exceeded", "API rate limit exceeded", **{"Retry-After": retry})
        return tiktok(
            {}, 500 if fault == "server-error-after-commit" else 503, "internal_error", "Internal error"
        )

    # ----- helpers -----------------------------------------------------------------------------

    def _account(self, request: Request) -> str | Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        parts = token.strip().split(".")
        if scheme.lower() != "bearer" or len(parts) != 4 or parts[0] != "act" or not parts[1]:
            return self.fault_response("auth-expired")
        if not parts[2].isdigit() or int(parts[2]) <= self.world.clock():
            return tiktok({}, 401, "access_token_invalid", "The access token has expired.")
        return parts[1]

    def _creator(self, account: str) -> Creator:
        return self.creators.get(account) or Creator()

    def _issue(self, open_id: str, scope: str) -> dict[str, Any]:
        expires = int(self.world.clock()) + ACCESS_TTL
        return {
            "access_token": f"act.{open_id}.{expires}.{secrets.token_hex(12)}",
            "expires_in": ACCESS_TTL,
            "open_id": open_id,
            "refresh_expires_in": REFRESH_TTL,
            "refresh_token": f"rft.{open_id}.{secrets.token_hex(16)}",
            "scope": scope,
            "token_type": "Bearer",
        }

    def _next_id(self) -> str:
        self.last_id += secrets.randbelow(1000) + 1
        return str(self.last_id)

    def _limit(self, account: str) -> Response | None:
        """The init rate limit and the daily cap of the creator."""
        now = self.world.clock()
        recent = [t for t in self.inits.get(account, []) if t > now - 86400]
        self.inits[account] = recent
        if len([t for t in recent if t > now - 60]) >= self.init_per_minute:
            return self.fault_response("rate-limited")
        today = now - now % 86400
        if len([t for t in recent if t >= today]) >= self.daily_posts:
            return tiktok({}, 403, "spam_risk_too_many_posts", "The user has reached the daily post limit")
        recent.append(now)
        return None

    def _sweep(self) -> None:
        """Drop the bytes of uploads whose URL has expired before they were complete."""
        for publish in self.publishes.values():
            if publish.upload is not None and self.world.clock() > publish.created + UPLOAD_URL_TTL:
                publish.upload.discard()
                publish.upload = None

    def _post_info(self, info: Any, account: str, *, photo: bool) -> tuple[str, str] | Response:
        """(text, privacy) of a valid ``post_info``, or the error answer."""
        if not isinstance(info, dict):
            return invalid_params("post_info is required")
        privacy = info.get("privacy_level")
        creator = self._creator(account)
        if privacy not in PRIVACY:
            return invalid_params("post_info.privacy_level is invalid")
        if privacy not in (PRIVATE_OPTIONS if creator.private else PUBLIC_OPTIONS):
            return tiktok(
                {}, 403, "privacy_level_option_mismatch", "privacy_level is not one of the creator's options"
            )
        title, description = info.get("title", ""), info.get("description", "")
        if not isinstance(title, str) or not isinstance(description, str):
            return invalid_params("post_info.title must be a string")
        if utf16_units(title) > (PHOTO_TITLE_UNITS if photo else TITLE_UNITS):
            return invalid_params("post_info.title is too long")
        if utf16_units(description) > DESCRIPTION_UNITS:
            return invalid_params("post_info.description is too long")
        for switch, disabled in (
            ("disable_comment", creator.comment_disabled),
            ("disable_duet", creator.duet_disabled and not photo),
            ("disable_stitch", creator.stitch_disabled and not photo),
        ):
            if disabled and info.get(switch) is False:
                return invalid_params(f"post_info.{switch} must be true: the creator turned it off")
        if info.get("brand_content_toggle") is True and privacy == "SELF_ONLY":
            return invalid_params("Branded content cannot be private")
        return (description or title) if photo else title, str(privacy)

    async def _begin(
        self, request: Request, *, photo: bool
    ) -> tuple[str, dict[str, Any], Publish] | Response:
        """Authenticate, validate post_info, play pre-commit faults and limits: a new Publish."""
        account = self._account(request)
        if isinstance(account, Response):
            return account
        body = await _json(request)
        if body is None:
            return invalid_params("The request body must be a JSON object")
        checked = self._post_info(body.get("post_info"), account, photo=photo)
        if isinstance(checked, Response):
            return checked
        text, privacy = checked
        fault = self.world.fault_for(self.name, account, text, "text:" + text)
        if self.rejects(fault):
            assert fault is not None
            return self.fault_response(fault)
        limited = self._limit(account)
        if limited is not None:
            return limited
        self._sweep()
        chosen_media = fault if fault in MEDIA else media_fault(text, self.name)
        given = body.get("source_info")
        source: dict[str, Any] = given if isinstance(given, dict) else {}
        kind = "photo" if photo else "video"
        prefix = (
            "p_pub_url"
            if photo
            else ("v_pub_url" if source.get("source") == "PULL_FROM_URL" else "v_pub_file")
        )
        publish = Publish(
            id=f"{prefix}~v2-1.{self._next_id()}",
            account=account,
            kind=kind,
            source=str(source.get("source") or ""),
            text=text,
            privacy=privacy,
            created=self.world.clock(),
            fault=None if fault in MEDIA else fault,
            media_fault=chosen_media,
        )
        return account, source, publish

    # ----- creator info, init ------------------------------------------------------------------

    async def creator_info(self, request: Request) -> Response:
        account = self._account(request)
        if isinstance(account, Response):
            return account
        creator = self._creator(account)
        username = sandbox_username(account)
        return tiktok(
            {
                "creator_avatar_url": f"https://p16-sign.tiktokcdn.com/{username}.jpeg",
                "creator_username": username,
                "creator_nickname": f"Sandbox {username}",
                "privacy_level_options": PRIVATE_OPTIONS if creator.private else PUBLIC_OPTIONS,
                "comment_disabled": creator.comment_disabled,
                "duet_disabled": creator.duet_disabled,
                "stitch_disabled": creator.stitch_disabled,
                "max_video_post_duration_sec": creator.max_video_post_duration_sec,
            }
        )

    async def video_init(self, request: Request) -> Response:
        begun = await self._begin(request, photo=False)
        if isinstance(begun, Response):
            return begun
        _account, source, publish = begun
        if publish.source == "PULL_FROM_URL":
            url = source.get("video_url")
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                return invalid_params("source_info.video_url must be an http(s) URL")
            refused = self._unverified(publish)
            if refused is not None:
                return refused
            publish.status = "PROCESSING_DOWNLOAD"
            self.publishes[publish.id] = publish
            self._start_pull(publish, [url])
            return await self.finish(publish.fault, tiktok({"publish_id": publish.id}))
        if publish.source != "FILE_UPLOAD":
            return invalid_params("source_info.source must be FILE_UPLOAD or PULL_FROM_URL")
        problem = chunk_problem(source)
        if problem is not None:
            return invalid_params(problem)
        publish.size, publish.chunk = int(source["video_size"]), int(source["chunk_size"])
        publish.chunks = int(source["total_chunk_count"])
        publish.upload_token = secrets.token_urlsafe(16)
        publish.upload = Upload()
        self.publishes[publish.id] = publish
        query = urlencode({"upload_id": publish.id, "upload_token": publish.upload_token})
        upload_url = f"{_origin(request)}/video/?{query}"
        return tiktok({"publish_id": publish.id, "upload_url": upload_url})

    async def content_init(self, request: Request) -> Response:
        """Photo posts: PULL_FROM_URL only."""
        begun = await self._begin(request, photo=True)
        if isinstance(begun, Response):
            return begun
        _account, source, publish = begun
        images = source.get("photo_images")
        if publish.source != "PULL_FROM_URL":
            return invalid_params("Photos can only be posted with source PULL_FROM_URL")
        if (
            not isinstance(images, list)
            or not 1 <= len(images) <= 35
            or not all(isinstance(u, str) for u in images)
        ):
            return invalid_params("source_info.photo_images must hold 1 to 35 URLs")
        refused = self._unverified(publish)
        if refused is not None:
            return refused
        publish.status = "PROCESSING_DOWNLOAD"
        self.publishes[publish.id] = publish
        self._start_pull(publish, images)
        return await self.finish(publish.fault, tiktok({"publish_id": publish.id}))

    def _unverified(self, publish: Publish) -> Response | None:
        if self._creator(publish.account).url_ownership_verified:
            return None
        return tiktok({}, 403, "url_ownership_unverified", "The URL's domain or prefix is not verified")

    def _start_pull(self, publish: Publish, urls: list[str]) -> None:
        task = asyncio.get_running_loop().create_task(self._pull(publish, urls))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _pull(self, publish: Publish, urls: list[str]) -> None:
        """Download what TikTok was told to pull, as the real one does, then process it."""
        measured: list[Measured] = []
        limit = MAX_VIDEO_BYTES if publish.kind == "video" else MAX_PHOTO_BYTES
        for url in urls:
            got = await fetch(url, limit)
            found = await measure(got[0], got[1] or "video/mp4") if not isinstance(got, str) else None
            if found is None:
                publish.fail_reason = (
                    f"{publish.kind}_pull_failed" if isinstance(got, str) else "file_format_check_failed"
                )
                publish.ready_at = self.world.clock()
                return
            measured.append(found)
        publish.size = sum(m.size for m in measured)
        self._process(publish, measured)

    # ----- upload ------------------------------------------------------------------------------

    async def upload_chunk(self, request: Request) -> Response:
        """``PUT <upload_url>`` with ``Content-Range: bytes a-b/total``: one chunk, in order."""
        publish = self.publishes.get(request.query_params.get("upload_id", ""))
        token = request.query_params.get("upload_token", "")
        if (
            publish is None
            or publish.source != "FILE_UPLOAD"
            or not secrets.compare_digest(token, publish.upload_token)
            or self.world.clock() > publish.created + UPLOAD_URL_TTL
        ):
            return tiktok({}, 404, "upload_url_expired", "The upload URL is invalid or has expired")
        if publish.received >= publish.size:
            return Response(status_code=201)
        if publish.upload is None:
            return tiktok({}, 404, "upload_url_expired", "The upload URL is invalid or has expired")
        span = content_range(request.headers.get("content-range", ""), publish.size)
        length = request.headers.get("content-length", "")
        if span is None or not length.isdigit():
            return invalid_params("Content-Range and Content-Length are required")
        start, end = span
        index = start // publish.chunk
        last = index == publish.chunks - 1
        expected = publish.size - start if last else publish.chunk
        if start != index * publish.chunk or index >= publish.chunks or end - start + 1 != expected:
            return invalid_params(f"Chunk {start}-{end} does not match chunk_size {publish.chunk}")
        if int(length) != expected:
            return invalid_params("Content-Length does not match Content-Range")
        if start > publish.received:
            return invalid_params("Chunks must be uploaded in order")
        if start < publish.received:  # a chunk sent again: TikTok already has it
            return Response(status_code=206)
        half = publish.size // 2
        cut = (
            publish.media_fault == "upload-interrupted"
            and not publish.interrupted
            and start <= half < start + expected
        )
        written = await publish.upload.write(
            start, request.stream(), stop_after=half - start + 1 if cut else None
        )
        if cut or written < expected:  # a partial chunk is dropped
            publish.interrupted = publish.interrupted or cut
            publish.upload.truncate(start)
            return tiktok({}, 503, "internal_error", "The upload was interrupted")
        publish.received = start + expected
        if not last:
            return Response(
                status_code=206, headers={"Content-Range": f"bytes 0-{publish.received - 1}/{publish.size}"}
            )
        found = await measure(publish.upload, request.headers.get("content-type", "video/mp4"))
        publish.upload = None
        self._process(publish, [found] if found is not None else [])
        return await self.finish(publish.fault, Response(status_code=201))

    def _process(self, publish: Publish, measured: list[Measured]) -> None:
        """Start processing received media: decide now how it ends, tell at `ready_at`."""
        now = self.world.clock()
        slow = publish.media_fault == "media-slow"
        publish.ready_at = now + (self.slow_processing_seconds if slow else self.processing_seconds)
        publish.media = measured
        publish.fail_reason = self._check_media(publish)

    def _check_media(self, publish: Publish) -> str | None:
        if publish.media_fault == "media-processing-failed" or not publish.media:
            return "file_format_check_failed"
        if publish.kind == "photo":
            if any(m.mime_type not in PHOTO_TYPES for m in publish.media):
                return "file_format_check_failed"
            return None
        video = publish.media[0]
        longest = self._creator(publish.account).max_video_post_duration_sec
        if video.duration is None or not MIN_SECONDS <= video.duration <= longest:
            return "duration_check_failed"
        if video.frame_rate is not None and video.frame_rate < MIN_FPS:
            return "frame_rate_check_failed"
        return None

    def _settle(self, publish: Publish) -> None:
        """Move a publish whose processing time is over to its end state."""
        if publish.status in ("PUBLISH_COMPLETE", "FAILED") or publish.ready_at is None:
            return
        if self.world.clock() < publish.ready_at:
            return
        if publish.fail_reason is not None:
            publish.status = "FAILED"
            return
        publish.status = "PUBLISH_COMPLETE"
        publish.post_id = self._next_id()
        media = [m.listing() for m in publish.media]
        self.world.accept(self.name, publish.account, publish.post_id, publish.text, None, media)

    # ----- status, list ------------------------------------------------------------------------

    async def status_fetch(self, request: Request) -> Response:
        account = self._account(request)
        if isinstance(account, Response):
            return account
        body = await _json(request)
        publish = self.publishes.get(str((body or {}).get("publish_id") or ""))
        if publish is None or publish.account != account:
            return invalid_params("publish_id is invalid")
        self._settle(publish)
        data: dict[str, Any] = {"status": publish.status}
        if publish.status == "FAILED":
            data["fail_reason"] = publish.fail_reason
        if publish.source == "FILE_UPLOAD":
            data["uploaded_bytes"] = publish.received
        else:
            data["downloaded_bytes"] = publish.size if publish.ready_at is not None else 0
        public = publish.post_id is not None and publish.privacy != "SELF_ONLY"
        data["publicaly_available_post_id"] = [int(publish.post_id)] if public and publish.post_id else []
        return tiktok(data)

    async def video_list(self, request: Request) -> Response:
        """``POST /v2/video/list/?fields=…``: the creator's published videos, newest first."""
        account = self._account(request)
        if isinstance(account, Response):
            return account
        if not self._creator(account).video_list_granted:
            return tiktok({}, 401, "scope_not_authorized", "The user did not authorize the scope video.list")
        wanted = [f for f in request.query_params.get("fields", "").split(",") if f]
        if not wanted:
            return invalid_params("fields is required")
        body = await _json(request) or {}
        count = body.get("max_count", 10)
        if not isinstance(count, int) or not 1 <= count <= 20:
            return invalid_params("max_count must be 1 to 20")
        for publish in self.publishes.values():
            self._settle(publish)
        done = sorted(
            (p for p in self.publishes.values() if p.account == account and p.post_id is not None),
            key=lambda p: p.created,
            reverse=True,
        )
        cursor = body.get("cursor", 0) if isinstance(body.get("cursor"), int) else 0
        page = done[cursor : cursor + count]
        username = sandbox_username(account)
        videos = []
        for p in page:
            video = p.media[0] if p.media else None
            values = {
                "id": p.post_id,
                "title": p.text,
                "video_description": p.text,
                "create_time": int(p.created),
                "share_url": f"https://www.tiktok.com/@{username}/{p.kind}/{p.post_id}",
                "duration": round(video.duration) if video and video.duration else 0,
                "width": video.width if video else None,
                "height": video.height if video else None,
            }
            videos.append({k: v for k, v in values.items() if k in wanted})
        has_more = cursor + count < len(done)
        return tiktok({"videos": videos, "cursor": cursor + len(page), "has_more": has_more})

    async def set_creator(self, request: Request) -> Response:
        """Sandbox only: set a creator's options (``{"private": true, "comment_disabled": true, …}``)."""
        body = await _json(request)
        known = {f.name for f in fields(Creator)}
        if body is None or not set(body) <= known:
            return JSONResponse({"error": f"body must be an object with keys among {sorted(known)}"}, 400)
        self.creators[request.path_params["open_id"]] = Creator(**body)
        return JSONResponse({"status": "ok"})

    # ----- OAuth -------------------------------------------------------------------------------

    async def authorize(self, request: Request) -> Response:
        """Login Kit's authorize page, approving at once: a new creator, a code to the redirect URI."""
        q = request.query_params
        client_key, redirect_uri = q.get("client_key", ""), q.get("redirect_uri", "")
        if (
            not client_key
            or not redirect_uri.startswith(("http://", "https://"))
            or q.get("response_type") != "code"
        ):
            return oauth_error(
                400, "invalid_request", "client_key, redirect_uri and response_type=code are required"
            )
        code = secrets.token_urlsafe(24)
        self.codes[code] = {
            "open_id": str(uuid.uuid4()),
            "client_key": client_key,
            "redirect_uri": redirect_uri,
            "challenge": q.get("code_challenge"),
            "scope": q.get("scope", "user.info.basic"),
            "expires": self.world.clock() + CODE_TTL,
        }
        params = {"code": code, "scopes": q.get("scope", "user.info.basic"), "state": q.get("state", "")}
        joiner = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(f"{redirect_uri}{joiner}{urlencode(params)}", 302)

    async def token(self, request: Request) -> Response:
        """``POST /v2/oauth/token/``: an authorization code (PKCE checked when one was given) or a
        refresh token (spent by its use) for a new token pair."""
        get = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        if not get.get("client_key") or not get.get("client_secret"):
            return oauth_error(401, "invalid_client", "Client key or secret is incorrect.")
        grant = get.get("grant_type")
        if grant == "refresh_token":
            token = get.get("refresh_token", "")
            parts = token.split(".")
            if len(parts) != 3 or parts[0] != "rft" or not parts[1] or token in self.spent_refresh:
                return oauth_error(400, "invalid_grant", "Refresh token is invalid or expired.")
            self.spent_refresh.add(token)
            return JSONResponse(self._issue(parts[1], "user.info.basic,video.publish,video.list"))
        if grant != "authorization_code":
            return oauth_error(400, "unsupported_grant_type", "grant_type is not supported.")
        grant_of = self.codes.pop(get.get("code", ""), None)
        if (
            grant_of is None
            or grant_of["expires"] < self.world.clock()
            or grant_of["client_key"] != get["client_key"]
            or grant_of["redirect_uri"] != get.get("redirect_uri")
        ):
            return oauth_error(400, "invalid_grant", "Authorization code is invalid or expired.")
        if grant_of["challenge"] and not pkce_matches(get.get("code_verifier", ""), grant_of["challenge"]):
            return oauth_error(400, "invalid_grant", "code_verifier does not match the code_challenge.")
        return JSONResponse(self._issue(grant_of["open_id"], grant_of["scope"]))


FAKE = TikTokFake


def pkce_matches(verifier: str, challenge: str) -> bool:
    """S256 as RFC 7636 writes it (base64url) or as TikTok's desktop kit does (hex)."""
    digest = hashlib.sha256(verifier.encode()).digest()
    encoded = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return bool(verifier) and challenge in (encoded, digest.hex())


def chunk_problem(source: dict[str, Any]) -> str | None:
    """What breaks TikTok's chunk rules in a FILE_UPLOAD ``source_info``, if anything."""
    values = [source.get(k) for k in ("video_size", "chunk_size", "total_chunk_count")]
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values):
        return "video_size, chunk_size and total_chunk_count must be positive integers"
    size, chunk, count = (int(v) for v in values)  # type: ignore[arg-type]
    if size > MAX_VIDEO_BYTES:
        return "The video is too large"
    if size < MIN_CHUNK:
        return None if (chunk, count) == (size, 1) else "A video under 5 MB is sent as one chunk of its size"
    if not MIN_CHUNK <= chunk <= MAX_CHUNK:
        return "chunk_size must be between 5 MB and 64 MB"
    if count != size // chunk or not 1 <= count <= MAX_CHUNKS:
        return "total_chunk_count must be video_size / chunk_size rounded down"
    if size > MAX_CHUNK and count < 2:
        return "A video over 64 MB must be sent in several chunks"
    if size - (count - 1) * chunk > MAX_FINAL_CHUNK:
        return "The final chunk may hold at most 128 MB"
    return None


def content_range(value: str, total: int) -> tuple[int, int] | None:
    """(first, last) of ``bytes first-last/total`` when it is well formed and within `total`."""
    unit, _, spec = value.strip().partition(" ")
    span, _, size = spec.partition("/")
    first, _, last = span.partition("-")
    if unit != "bytes" or not (first.isdigit() and last.isdigit() and size.isdigit()):
        return None
    a, b = int(first), int(last)
    return (a, b) if int(size) == total and a <= b < total else None


def _origin(request: Request) -> str:
    host = request.headers.get("host", "open.tiktokapis.com")
    return f"{request.url.scheme}://{host}{request.scope.get('root_path', '')}"


async def _json(request: Request) -> dict[str, Any] | None:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
