"""Fake of the Facebook Graph API for Pages: feed, photos, videos, login and token checks.

A page token (``sandbox.<page id>.<x>``) publishes to its own page: ``POST /{page}/feed``
(``message``, ``link``, ``attached_media``), ``POST /{page}/photos`` (multipart ``source`` or
``url``; ``published=false`` keeps a photo for ``attached_media``), ``POST /{page}/videos``
(multipart ``source``, or ``upload_phase=start|transfer|finish`` in the chunks the fake asks
for). A video is processed over status reads (``GET /{video}?fields=status``). The same message
twice in a row is refused (506). ``/me/accounts`` (two pages per user: the user's id plus 1
and plus 2, each with its page token) and ``/debug_token`` serve the connect flow.

Faults are drawn by the call that publishes (feed, a published photo, a video upload or its
``finish``); a resumable upload also takes a queued fault at ``start`` (its text only arrives
with ``finish``, so ``upload-interrupted`` works there through the fault queue).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from postpost.simulator import _graph
from postpost.simulator._graph import bad_param, graph_error, text_param
from postpost.simulator.faults import media_fault
from postpost.simulator.world import World

MAX_MESSAGE = 63206
PHOTO_MAX = 10 * 1024 * 1024
VIDEO_MAX = 2048 * 1024 * 1024
VIDEO_MAX_SECONDS = 45 * 60.0
USER_TOKEN_SECONDS = 2 * 3600
SCOPES = ["pages_show_list", "pages_read_engagement", "pages_manage_posts", "public_profile"]
TASKS = ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"]


@dataclass
class Video:
    """An uploaded video: its upload session, then its processing."""

    id: str
    page: str
    size: int
    session: str | None = None
    received: bytearray = field(default_factory=bytearray)
    finished: bool = False
    polls_left: int = 0
    failure: str | None = None
    interrupt: bool = False
    fault: str | None = None
    media_fault: str | None = None


class FacebookFake(_graph.GraphFake):
    """Facebook Pages."""

    name = "facebook"
    title = "Facebook"
    rate_code = 32
    rate_message = "Page request limit reached"
    usage_type = "pages"

    def __init__(self, world: World, *, chunk_bytes: int = 4 * 1024 * 1024) -> None:
        super().__init__(world)
        self.chunk_bytes = chunk_bytes
        self.posts: dict[str, dict[str, Any]] = {}
        self.photos: dict[str, dict[str, Any]] = {}
        self.videos: dict[str, Video] = {}
        self.users: set[str] = set()

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/{version}/dialog/oauth", self.authorize, methods=["GET"]),
            Route("/{version}/oauth/access_token", self.access_token, methods=["GET", "POST"]),
            Route("/{version}/debug_token", self.debug_token, methods=["GET"]),
            Route("/{version}/me", self.me, methods=["GET"]),
            Route("/{version}/me/accounts", self.accounts, methods=["GET"]),
            Route("/{version}/{page}/feed", self.create_post, methods=["POST"]),
            Route("/{version}/{page}/feed", self.list_posts, methods=["GET"]),
            Route("/{version}/{page}/published_posts", self.list_posts, methods=["GET"]),
            Route("/{version}/{page}/photos", self.upload_photo, methods=["POST"]),
            Route("/{version}/{page}/videos", self.upload_video, methods=["POST"]),
            Route("/{version}/{node}", self.read_node, methods=["GET"]),
        ]

    def forget(self, account: str | None = None) -> None:
        super().forget(account)
        stores: list[dict[str, Any]] = [self.posts, self.photos]
        if account is None:
            for store in stores:
                store.clear()
            self.videos.clear()
            return
        for store in stores:
            for key in [k for k, v in store.items() if v["page"] == account]:
                del store[key]
        for key in [k for k, v in self.videos.items() if v.page == account]:
            del self.videos[key]

    @staticmethod
    def page_name(page: str) -> str:
        return f"Sandbox Page {page[-4:]}"

    async def _page(self, request: Request) -> tuple[str, dict[str, Any]] | Response:
        """The page a publishing request acts for (its token must be that page's)."""
        params = await _graph.read_params(request)
        if params is None:
            return bad_param("Invalid request body")
        account = self.account(request, params)
        if isinstance(account, Response):
            return account
        if account in self.users or request.path_params.get("page") not in (account, "me"):
            return graph_error(
                400, 200, "(#200) The user hasn't authorized the application to perform this action"
            )
        return account, params

    # ----- login --------------------------------------------------------------------------

    async def access_token(self, request: Request) -> Response:
        """``GET|POST /oauth/access_token``: a user token for a code, or a long-lived one."""
        params = await _graph.read_params(request)
        if params is None:
            return bad_param("Invalid request body")
        if not params.get("client_id") or not params.get("client_secret"):
            return bad_param("Missing client_id or client_secret parameter.")
        if params.get("grant_type") == "fb_exchange_token":
            user = _graph.account_of(params.get("fb_exchange_token"))
            if user is None:
                return _graph.invalid_token()
            return self.long_lived(user)
        user = self.redeem(params)
        if user is None:
            return bad_param("Invalid verification code format.", subcode=36008)
        self.users.add(user)
        body = {
            "access_token": _graph.new_token(user),
            "token_type": "bearer",
            "expires_in": USER_TOKEN_SECONDS,
        }
        return JSONResponse(body)

    def long_lived(self, account: str) -> JSONResponse:
        self.users.add(account)
        return super().long_lived(account)

    async def me(self, request: Request) -> Response:
        account = self.account(request, dict(request.query_params))
        if isinstance(account, Response):
            return account
        name = f"Sandbox User {account[-4:]}" if account in self.users else self.page_name(account)
        return JSONResponse({"id": account, "name": name})

    async def accounts(self, request: Request) -> Response:
        """``GET /me/accounts``: the user's two pages, with their page tokens (``fields`` picks)."""
        params = dict(request.query_params)
        account = self.account(request, params)
        if isinstance(account, Response):
            return account
        if account not in self.users:
            return bad_param("(#100) Tried accessing nonexisting field (accounts) on node type (Page)")
        wanted = {f.split("{", 1)[0].strip() for f in params.get("fields", "").split(",") if f.strip()}
        data = []
        for page in (str(int(account) + 1), str(int(account) + 2)):
            entry = {
                "access_token": _graph.new_token(page),
                "category": "Community",
                "category_list": [{"id": "2612", "name": "Community"}],
                "name": self.page_name(page),
                "id": page,
                "tasks": TASKS,
                "username": f"sandboxpage{page[-6:]}",
                "link": f"https://www.facebook.com/{page}",
                "picture": {"data": {"url": f"https://sandbox.invalid/facebook/{page}.jpg"}},
            }
            shown = wanted | {"id"} if wanted else set(entry) - {"username", "link", "picture"}
            data.append({k: v for k, v in entry.items() if k in shown})
        return JSONResponse({"data": data, "paging": {"cursors": {"before": "QVFI", "after": "QVFI"}}})

    async def debug_token(self, request: Request) -> Response:
        """``GET /debug_token?input_token=``, asked with an app token or a valid token."""
        params = dict(request.query_params)
        asker = _graph.token_in(request, params) or ""
        if "|" not in asker and _graph.account_of(asker) is None:
            return _graph.invalid_token()
        subject = _graph.account_of(params.get("input_token"))
        if subject is None:
            error = {"code": 190, "message": "Invalid OAuth access token."}
            return JSONResponse({"data": {"is_valid": False, "error": error, "scopes": []}})
        user = subject in self.users
        now = int(self.world.clock())
        data = {
            "app_id": "1000000000000001",
            "type": "USER" if user else "PAGE",
            "application": "postpost sandbox",
            "data_access_expires_at": now + 90 * 86400,
            "expires_at": now + _graph.LONG_LIVED_SECONDS if user else 0,
            "is_valid": True,
            "issued_at": now,
            "scopes": SCOPES,
            "user_id": subject if user else str(int(subject) - 1),
        }
        if not user:
            data["profile_id"] = subject
        return JSONResponse({"data": data})

    # ----- posts and photos ------------------------------------------------------------------

    async def create_post(self, request: Request) -> Response:
        """``POST /{page}/feed``."""
        found = await self._page(request)
        if isinstance(found, Response):
            return found
        page, params = found
        message = text_param(params, "message") or ""
        fault = self.world.fault_for("facebook", page, message, "text:" + message)
        if self.rejects(fault):
            assert fault is not None
            return self.fault_response(fault)
        photos: list[dict[str, Any]] = []
        for key in sorted(k for k in params if k.startswith("attached_media[")):
            photo = self._attached(page, params[key])
            if photo is None:
                return bad_param(f"(#100) param {key} must be an unpublished photo of this page")
            photos.append(photo)
        link = text_param(params, "link")
        if link is not None and not link.lower().startswith(("http://", "https://")):
            return bad_param("(#100) The parameter link must be a valid URL")
        if not message and not link and not photos:
            return bad_param("(#100) Missing message or attachment")
        if len(message) > MAX_MESSAGE:
            return bad_param(f"(#100) The message exceeds the maximum length of {MAX_MESSAGE} characters")
        if photos and media_fault(message, "facebook") == "media-processing-failed":
            return graph_error(400, 324, "(#324) Missing or invalid image file")
        if not photos and not link and self._last_message(page) == message:
            return graph_error(
                400,
                506,
                "(#506) Duplicate status message",
                subcode=1455006,
                user_title="Duplicate Status Update",
                user_msg="This status update is identical to the last one you posted. Try posting something "
                "different, or delete your previous update.",
            )
        post = self._store_post(page, message, [p["media"] for p in photos], link=link)
        for photo in photos:
            photo["post_id"] = post["id"]
        return await self.finish(fault, JSONResponse({"id": post["id"]}))

    def _attached(self, page: str, raw: Any) -> dict[str, Any] | None:
        try:
            fbid = json.loads(raw).get("media_fbid") if isinstance(raw, str) else None
        except (ValueError, AttributeError):
            return None
        photo = self.photos.get(str(fbid))
        if photo is None or photo["page"] != page or photo["published"] or photo.get("post_id"):
            return None
        return photo

    def _last_message(self, page: str) -> str | None:
        latest = next((p for p in reversed(self.posts.values()) if p["page"] == page), None)
        return str(latest["message"]) if latest is not None else None

    def _store_post(
        self,
        page: str,
        message: str,
        media: list[dict[str, Any]],
        *,
        link: str | None = None,
        story: str | None = None,
    ) -> dict[str, Any]:
        now = self.world.clock()
        post_id = f"{page}_{story or self.next_id()}"
        post: dict[str, Any] = {
            "id": post_id,
            "page": page,
            "message": message,
            "created_time": _graph.graph_time(now),
            "at": now,
        }
        if link:
            post["link"] = link
        self.posts[post_id] = post
        self.world.accept("facebook", page, post_id, message, None, media=media)
        return post

    async def upload_photo(self, request: Request) -> Response:
        """``POST /{page}/photos``: published with its message, or kept for ``attached_media``."""
        found = await self._page(request)
        if isinstance(found, Response):
            return found
        page, params = found
        published = text_param(params, "published") != "false"
        message = text_param(params, "message") or ""
        fault = self.world.fault_for("facebook", page, message, "text:" + message) if published else None
        if self.rejects(fault):
            assert fault is not None
            return self.fault_response(fault)
        data = await self._file(params, "source", "url", PHOTO_MAX)
        if isinstance(data, Response):
            return data
        measured = _graph.measure(data)
        if measured is None or measured["type"] != "image":
            return graph_error(400, 324, "(#324) Missing or invalid image file")
        if published and media_fault(message, "facebook") == "media-processing-failed":
            return graph_error(400, 324, "(#324) Missing or invalid image file")
        photo_id = self.next_id()
        photo = {"id": photo_id, "page": page, "published": published, "media": measured}
        self.photos[photo_id] = photo
        if not published:
            return JSONResponse({"id": photo_id})
        post = self._store_post(page, message, [measured])
        photo["post_id"] = post["id"]
        return await self.finish(fault, JSONResponse({"id": photo_id, "post_id": post["id"]}))

    async def _file(self, params: dict[str, Any], name: str, url_name: str, limit: int) -> bytes | Response:
        upload = params.get(name)
        if isinstance(upload, UploadFile):
            data = await upload.read()
        elif isinstance(params.get(url_name), str):
            try:
                data, _type = await _graph.fetch_media(params[url_name], limit)
            except _graph.MediaFetchError:
                return bad_param(f"(#100) The file at {url_name} could not be fetched")
        else:
            return bad_param(f"(#100) Requires upload file: {name} or {url_name}")
        if len(data) > limit:
            return bad_param(f"(#100) The file exceeds the maximum size of {limit // (1024 * 1024)} MB")
        return data

    # ----- videos --------------------------------------------------------------------------

    async def upload_video(self, request: Request) -> Response:
        """``POST /{page}/videos``: one multipart upload, or an ``upload_phase``."""
        found = await self._page(request)
        if isinstance(found, Response):
            return found
        page, params = found
        phase = text_param(params, "upload_phase")
        if phase == "start":
            return self._start(page, params)
        if phase == "transfer":
            return await self._transfer(page, params)
        if phase == "finish":
            return await self._finish(page, params)
        if phase is not None:
            return bad_param("(#100) upload_phase must be one of start, transfer, finish")
        description = text_param(params, "description") or ""
        fault = self.world.fault_for("facebook", page, description, "text:" + description)
        if self.rejects(fault):
            assert fault is not None
            return self.fault_response(fault)
        data = await self._file(params, "source", "file_url", VIDEO_MAX)
        if isinstance(data, Response):
            return data
        video = Video(self.next_id(), page, len(data), received=bytearray(data))
        self.videos[video.id] = video
        problem = self._publish_video(video, description, media_fault(description, "facebook"))
        return problem or await self.finish(fault, JSONResponse({"id": video.id}))

    def _start(self, page: str, params: dict[str, Any]) -> Response:
        try:
            size = int(params.get("file_size") or 0)
        except ValueError:
            size = 0
        if size <= 0:
            return bad_param("(#100) file_size must be a positive integer")
        if size > VIDEO_MAX:
            return graph_error(400, 6000, "There was a problem uploading your video file", subcode=1363023)
        fault = self.world.fault_for("facebook", page, "", "start")  # only a queued fault can apply here
        if self.rejects(fault):
            assert fault is not None
            return self.fault_response(fault)
        video = Video(self.next_id(), page, size, session=secrets.token_hex(8))
        video.interrupt = fault == "upload-interrupted"
        video.fault = (
            fault if fault in ("timeout-after-commit", "server-error-after-commit", "slow") else None
        )
        video.media_fault = fault if fault in ("media-slow", "media-processing-failed") else None
        self.videos[video.id] = video
        return JSONResponse({"video_id": video.id, "upload_session_id": video.session, **self._range(video)})

    def _range(self, video: Video) -> dict[str, str]:
        start = len(video.received)
        return {"start_offset": str(start), "end_offset": str(min(start + self.chunk_bytes, video.size))}

    def _session(self, page: str, params: dict[str, Any]) -> Video | None:
        session = text_param(params, "upload_session_id")
        return next((v for v in self.videos.values() if v.session == session and v.page == page), None)

    async def _transfer(self, page: str, params: dict[str, Any]) -> Response:
        video = self._session(page, params)
        chunk = params.get("video_file_chunk")
        if video is None or video.finished:
            return bad_param("(#100) Invalid upload_session_id")
        try:
            start = int(params.get("start_offset") or 0)
        except ValueError:
            start = -1
        if not isinstance(chunk, UploadFile) or not 0 <= start <= len(video.received):
            return graph_error(400, 6000, "There was a problem uploading your video file", subcode=1363037)
        data = await chunk.read()
        if start + len(data) > video.size:
            return graph_error(400, 6000, "There was a problem uploading your video file", subcode=1363037)
        del video.received[start:]
        if video.interrupt:
            video.interrupt = False
            video.received += data[: len(data) // 2]
            return _graph.CutResponse()
        video.received += data
        return JSONResponse(self._range(video))

    async def _finish(self, page: str, params: dict[str, Any]) -> Response:
        video = self._session(page, params)
        if video is None or video.finished:
            return bad_param("(#100) Invalid upload_session_id")
        description = text_param(params, "description") or ""
        fault = self.world.fault_for("facebook", page, description, "text:" + description)
        if self.rejects(fault):
            assert fault is not None
            return self.fault_response(fault)
        if len(video.received) != video.size:
            return graph_error(400, 6000, "There was a problem uploading your video file", subcode=1363030)
        problem = self._publish_video(
            video, description, video.media_fault or media_fault(description, "facebook")
        )
        return problem or await self.finish(fault or video.fault, JSONResponse({"success": True}))

    def _publish_video(self, video: Video, description: str, media: str | None) -> Response | None:
        measured = _graph.measure(bytes(video.received), "video/mp4")
        if measured is None or measured["type"] != "video":
            del self.videos[video.id]
            return graph_error(
                400, 352, "(#352) Sorry, the video file you selected is in a format that we don't support."
            )
        if measured.get("duration", 0) > VIDEO_MAX_SECONDS:
            del self.videos[video.id]
            return graph_error(400, 6000, "There was a problem uploading your video file", subcode=1363026)
        video.finished = True
        video.received = bytearray()  # measured; the bytes are not kept
        video.polls_left = self.processing(media, video=True)
        if media == "media-processing-failed":
            video.failure = "The video could not be processed"
        self._store_post(video.page, description, [measured], story=video.id)
        return None

    def _video_status(self, video: Video) -> dict[str, Any]:
        if not video.finished:
            processing, state = "not_started", "upload"
        elif video.polls_left > 0:
            video.polls_left -= 1
            processing, state = "in_progress", "processing"
        else:
            processing, state = ("error", "error") if video.failure else ("complete", "ready")
        phase: dict[str, Any] = {"status": processing}
        if video.failure and state == "error":
            phase["errors"] = [{"code": 1363008, "message": video.failure}]
        uploading = {
            "status": "complete" if video.finished else "in_progress",
            "bytes_transferred": len(video.received),
        }
        return {"video_status": state, "uploading_phase": uploading, "processing_phase": phase}

    # ----- reading -----------------------------------------------------------------------------

    async def list_posts(self, request: Request) -> Response:
        """``GET /{page}/published_posts`` (or ``/feed``): newest first."""
        params = dict(request.query_params)
        account = self.account(request, params)
        if isinstance(account, Response):
            return account
        page = request.path_params["page"]
        try:
            limit = min(int(params.get("limit", 25)), 100)
            since = float(params["since"]) if params.get("since") else None
        except ValueError:
            return bad_param("(#100) limit and since must be numbers")
        fields = {f for f in params.get("fields", "id,message,created_time").split(",") if f}
        posts = sorted((p for p in self.posts.values() if p["page"] == page), key=lambda p: -p["at"])
        posts = [p for p in posts if since is None or p["at"] >= since][:limit]
        data = [{k: v for k, v in p.items() if k in fields | {"id"}} for p in posts]
        return JSONResponse({"data": data, "paging": {}})

    async def read_node(self, request: Request) -> Response:
        """``GET /{id}``: the page, a post, a photo or a video (``fields=status``)."""
        params = dict(request.query_params)
        account = self.account(request, params)
        if isinstance(account, Response):
            return account
        node = request.path_params["node"]
        fields = {f for f in params.get("fields", "").split(",") if f}
        if node == account and account not in self.users:
            return JSONResponse({"id": node, "name": self.page_name(node)})
        if node in self.videos:
            video = self.videos[node]
            body: dict[str, Any] = {"id": node}
            if "status" in fields:
                body["status"] = self._video_status(video)
            return JSONResponse(body)
        item = self.posts.get(node) or self.photos.get(node)
        if item is None:
            return _graph.unknown_object(node)
        return JSONResponse({k: v for k, v in item.items() if k in fields | {"id"}})


FAKE = FacebookFake
