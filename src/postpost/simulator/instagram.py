"""Fake of Instagram's content publishing API (Instagram Login) and its OAuth endpoints.

``POST /{version}/{user}/media`` makes a container: an image from ``image_url`` (fetched and
checked at once: JPEG, at most 8 MB, aspect ratio 4:5 to 1.91:1 outside Stories), a video
(``REELS``, ``STORIES``, or ``VIDEO`` as a carousel item) from ``video_url`` or through the
resumable upload (``upload_type=resumable``, then ``POST /ig-api-upload/{version}/{container}``
with ``offset``/``file_size`` headers), or a ``CAROUSEL`` of 2 to 10 finished items.
``GET /{container}?fields=status_code,status`` reads its state; ``media_publish`` publishes it
once, within a rolling daily quota (``content_publishing_limit``). Captions: 2,200 characters,
30 hashtags.

Faults are drawn when the post's container is made (the one with the caption): rejections
answer there, post-commit ones at ``media_publish``; the media markers slow down or fail its
processing, and ``upload-interrupted`` cuts its first upload after half of the bytes.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from postpost.simulator import _graph
from postpost.simulator._graph import Container, bad_param, graph_error, text_param
from postpost.simulator.faults import media_fault
from postpost.simulator.world import World

MAX_CAPTION = 2200
MAX_HASHTAGS = 30
IMAGE_MAX = 8 * 1024 * 1024
VIDEO_MAX = 300 * 1024 * 1024
REEL_SECONDS = (3.0, 900.0)
SHORT_SECONDS = (3.0, 60.0)  # stories and carousel videos
ASPECT = (0.8, 1.91)
_HASHTAG = re.compile(r"(?:^|(?<=\s))#\w+")
_STATUS_TEXT = {
    "FINISHED": "Finished: Media has been uploaded and it is ready to be published.",
    "IN_PROGRESS": "In Progress: Media is still being processed.",
    "EXPIRED": "Expired: Media was not published within 24 hours.",
    "PUBLISHED": "Published: Media has been published.",
}
FETCH_FAILED = "Error: Media download has failed. The media URI doesn't meet our requirements. (2207052)"
PROCESSING_FAILED = "Error: Media upload has failed with error code 2207026"


def upload_error(status: int, kind: str, message: str, *, retriable: bool = False) -> JSONResponse:
    """The upload host's own error format."""
    return JSONResponse({"debug_info": {"retriable": retriable, "type": kind, "message": message}}, status)


class InstagramFake(_graph.GraphFake):
    """Instagram professional accounts: containers, uploads, publishing, quota and tokens."""

    name = "instagram"
    title = "Instagram"
    usage_type = "instagram"
    redirect_fragment = "#_"

    def __init__(self, world: World, *, posts_per_day: int = 100) -> None:
        super().__init__(world)
        self.quota = posts_per_day
        self.media: dict[str, dict[str, Any]] = {}

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/oauth/authorize", self.authorize, methods=["GET"]),
            Route("/oauth/access_token", self.exchange_code, methods=["POST"]),
            Route("/access_token", self.exchange_token, methods=["GET"]),
            Route("/refresh_access_token", self.refresh_token, methods=["GET"]),
            Route("/ig-api-upload/{version}/{container}", self.upload, methods=["POST"]),
            Route("/{version}/me", self.me, methods=["GET"]),
            Route("/{version}/{user}/media", self.create_container, methods=["POST"]),
            Route("/{version}/{user}/media", self.list_media, methods=["GET"]),
            Route("/{version}/{user}/stories", self.list_media, methods=["GET"]),
            Route("/{version}/{user}/media_publish", self.publish, methods=["POST"]),
            Route("/{version}/{user}/content_publishing_limit", self.publishing_limit, methods=["GET"]),
            Route("/{version}/{node}", self.read_node, methods=["GET"]),
        ]

    def forget(self, account: str | None = None) -> None:
        super().forget(account)
        if account is None:
            self.media.clear()
        else:
            for key in [k for k, m in self.media.items() if m["account"] == account]:
                del self.media[key]

    @staticmethod
    def username(account: str) -> str:
        return f"sandbox_{account[-8:]}"

    async def _caller(self, request: Request) -> tuple[str, dict[str, Any]] | Response:
        params = await _graph.read_params(request)
        if params is None:
            return bad_param("Invalid request body")
        if not self.version_ok(request):
            return graph_error(400, 2500, "Unknown path components")
        account = self.account(request, params)
        if isinstance(account, Response):
            return account
        user = request.path_params.get("user")
        if user not in (None, "me", account):
            return _graph.unknown_object(str(user))
        return account, params

    # ----- tokens -----------------------------------------------------------------------------

    async def exchange_code(self, request: Request) -> Response:
        """``POST /oauth/access_token`` (api.instagram.com): a short-lived token for a code."""
        params = await _graph.read_params(request) or {}
        account = self.redeem(params) if params.get("grant_type") == "authorization_code" else None
        if account is None:
            body = {
                "error_type": "OAuthException",
                "code": 400,
                "error_message": "Invalid authorization code",
            }
            return JSONResponse(body, 400)
        permissions = "instagram_business_basic,instagram_business_content_publish"
        return JSONResponse(
            {"access_token": _graph.new_token(account), "user_id": int(account), "permissions": permissions}
        )

    async def exchange_token(self, request: Request) -> Response:
        """``GET /access_token?grant_type=ig_exchange_token``: a 60-day token."""
        return self._long_lived(request, "ig_exchange_token", needs_secret=True)

    async def refresh_token(self, request: Request) -> Response:
        """``GET /refresh_access_token?grant_type=ig_refresh_token``."""
        return self._long_lived(request, "ig_refresh_token", needs_secret=False)

    def _long_lived(self, request: Request, grant: str, *, needs_secret: bool) -> Response:
        params = dict(request.query_params)
        if params.get("grant_type") != grant:
            return bad_param(f"Unsupported grant_type, expected {grant}")
        if needs_secret and not params.get("client_secret"):
            return bad_param("Missing client_secret parameter.")
        account = self.account(request, params)
        return account if isinstance(account, Response) else self.long_lived(account)

    async def me(self, request: Request) -> Response:
        found = await self._caller(request)
        if isinstance(found, Response):
            return found
        account, _params = found
        return JSONResponse(
            {
                "id": account,
                "user_id": account,
                "username": self.username(account),
                "name": f"Sandbox {account[-4:]}",
                "profile_picture_url": f"https://sandbox.invalid/instagram/{account}.jpg",
            }
        )

    # ----- containers -------------------------------------------------------------------------

    async def create_container(self, request: Request) -> Response:
        """``POST /{user}/media``."""
        found = await self._caller(request)
        if isinstance(found, Response):
            return found
        account, params = found
        media_type = text_param(params, "media_type") or "IMAGE"
        item = text_param(params, "is_carousel_item") == "true"
        allowed = ("IMAGE", "VIDEO") if item else ("IMAGE", "REELS", "STORIES", "CAROUSEL")
        if media_type not in allowed:
            return bad_param(
                "Carousel items are IMAGE or VIDEO; posts are IMAGE, REELS, STORIES or CAROUSEL",
                subcode=2207023,
            )
        caption = text_param(params, "caption") or ""
        fault = None
        if not item:
            fault = self.world.fault_for("instagram", account, caption, "text:" + caption)
            if self.rejects(fault):
                assert fault is not None
                return self.fault_response(fault)
            problem = self._check_caption(caption)
            if problem is not None:
                return problem
        if media_type == "CAROUSEL":
            return self._carousel(account, params, caption, fault)
        if media_type == "IMAGE":
            return await self._image(account, params, caption, fault, feed=True)
        return await self._video(account, params, media_type, caption, fault)

    def _check_caption(self, caption: str) -> Response | None:
        if len(caption) > MAX_CAPTION:
            return bad_param(f"The caption is longer than {MAX_CAPTION} characters", subcode=2207010)
        if len(_HASHTAG.findall(caption)) > MAX_HASHTAGS:
            return bad_param(f"The caption has more than {MAX_HASHTAGS} hashtags")
        return None

    def _marked(self, container: Container, caption: str, *, video: bool) -> Container:
        kind = media_fault(caption, "instagram")
        container.polls_left = self.processing(kind, video)
        container.interrupt = kind == "upload-interrupted"
        if kind == "media-processing-failed":
            container.failure = PROCESSING_FAILED
        return container

    async def _image(
        self, account: str, params: dict[str, Any], caption: str, fault: str | None, *, feed: bool
    ) -> Response:
        url = text_param(params, "image_url")
        if not url:
            return bad_param("The parameter image_url is required.")
        try:
            measured = await _graph.fetch_measured(url, IMAGE_MAX + 1)
        except _graph.MediaFetchError:
            return graph_error(
                400,
                9004,
                "Media download has failed. The media URI doesn't meet our requirements.",
                subcode=2207052,
                user_title="Media download has failed",
                user_msg=f"The media could not be fetched from this URI: {url}. "
                "Please check the URI and try again.",
            )
        if measured["type"] != "image" or measured["mimeType"] != "image/jpeg":
            return graph_error(400, 9004, "Only JPEG images are supported.", subcode=2207005)
        if measured["size"] > IMAGE_MAX:
            return graph_error(400, 36000, "The image size is too large.", subcode=2207004)
        ratio = measured["width"] / max(measured["height"], 1)
        if feed and not ASPECT[0] <= ratio <= ASPECT[1]:
            return graph_error(400, 36003, "The aspect ratio is not supported.", subcode=2207009)
        container = self.new_container(account, "IMAGE", caption, media=[measured], fault=fault)
        container.extras = self._item(params)
        return JSONResponse({"id": self._marked(container, caption, video=False).id})

    async def _video(
        self, account: str, params: dict[str, Any], media_type: str, caption: str, fault: str | None
    ) -> Response:
        container = self.new_container(account, media_type, caption, fault=fault, extras=self._item(params))
        self._marked(container, caption, video=True)
        if text_param(params, "upload_type") == "resumable":
            container.received = bytearray()
            return JSONResponse(
                {
                    "id": container.id,
                    "uri": f"https://rupload.facebook.com/ig-api-upload/v23.0/{container.id}",
                }
            )
        url = text_param(params, "video_url")
        if not url:
            del self.containers[container.id]
            return bad_param("The parameter video_url is required.")
        try:
            measured = await _graph.fetch_measured(url, VIDEO_MAX + 1)
        except _graph.MediaFetchError:
            container.failure = FETCH_FAILED
            return JSONResponse({"id": container.id})
        self._accept_video(container, measured)
        return JSONResponse({"id": container.id})

    @staticmethod
    def _item(params: dict[str, Any]) -> dict[str, str]:
        return {"item": "true"} if text_param(params, "is_carousel_item") == "true" else {}

    def _accept_video(self, container: Container, measured: dict[str, Any]) -> None:
        low, high = REEL_SECONDS if container.media_type == "REELS" else SHORT_SECONDS
        duration = float(measured.get("duration") or 0.0)
        if measured["type"] != "video" or measured["size"] > VIDEO_MAX or not low <= duration <= high:
            container.failure = container.failure or PROCESSING_FAILED
        container.media = [measured]

    def _carousel(self, account: str, params: dict[str, Any], caption: str, fault: str | None) -> Response:
        ids = [c for c in (text_param(params, "children") or "").split(",") if c]
        children = [self.container_of(account, c) for c in ids]
        if not 2 <= len(ids) <= 10 or any(c is None or "item" not in c.extras for c in children):
            return bad_param(
                "A carousel needs 2 to 10 carousel item containers of this user", subcode=2207028
            )
        if any(c is not None and c.status(self.world.clock()) != "FINISHED" for c in children):
            return graph_error(400, 9007, "Media ID is not available", subcode=2207027)
        media = [m for c in children if c is not None for m in c.media]
        container = self.new_container(account, "CAROUSEL", caption, media=media, children=ids, fault=fault)
        return JSONResponse({"id": self._marked(container, caption, video=False).id})

    async def upload(self, request: Request) -> Response:
        """``POST /ig-api-upload/{version}/{container}``: the video's bytes from ``offset``."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        account = _graph.account_of(token) if scheme.lower() in ("oauth", "bearer") else None
        if account is None:
            return upload_error(401, "AuthorizationError", "Invalid OAuth access token.")
        container = self.container_of(account, request.path_params["container"])
        if container is None or container.received is None:
            return upload_error(400, "NotFoundError", "No upload session for this media container.")
        try:
            offset, size = int(request.headers["offset"]), int(request.headers["file_size"])
        except (KeyError, ValueError):
            return upload_error(400, "BadRequest", "The offset and file_size headers are required.")
        if not 0 <= offset <= container.uploaded or size <= 0 or size > VIDEO_MAX:
            return upload_error(
                400, "BadRequest", f"Invalid offset {offset}; {container.uploaded} bytes received."
            )
        data = await request.body()
        del container.received[offset:]
        if container.interrupt:
            container.interrupt = False
            container.received += data[: len(data) // 2]
            container.uploaded = len(container.received)
            return _graph.CutResponse()
        container.received += data
        container.uploaded = len(container.received)
        if container.uploaded < size:
            return JSONResponse({"success": True, "message": "Partial upload received."})
        measured = _graph.measure(bytes(container.received)) or {"type": "unknown", "size": size}
        container.received = None
        self._accept_video(container, measured)
        return JSONResponse({"success": True, "message": "Upload successful."})

    # ----- publishing -------------------------------------------------------------------------

    async def publish(self, request: Request) -> Response:
        """``POST /{user}/media_publish?creation_id=``."""
        found = await self._caller(request)
        if isinstance(found, Response):
            return found
        account, params = found
        container = self.container_of(account, text_param(params, "creation_id"))
        if container is None:
            return _graph.unknown_object(str(params.get("creation_id")))
        if "item" in container.extras:
            return bad_param("A carousel item cannot be published on its own", subcode=2207028)
        status = container.status(self.world.clock())
        if status == "EXPIRED":
            return graph_error(400, 9007, "The media container has expired.", subcode=2207020)
        if status != "FINISHED":
            return graph_error(400, 9007, "Media ID is not available", subcode=2207027)
        if self.used(account, "post") >= self.quota:
            return graph_error(
                400,
                9,
                "Application request limit reached",
                subcode=2207042,
                user_title="Publishing limit reached",
                user_msg="You reached maximum number of posts that is allowed to be published by "
                "Content Publish API.",
            )
        media_id = self.next_id()
        now = self.world.clock()
        kinds = {"IMAGE": ("IMAGE", "FEED"), "REELS": ("VIDEO", "REELS"), "STORIES": ("VIDEO", "STORY")}
        media_type, product = kinds.get(container.media_type, ("CAROUSEL_ALBUM", "FEED"))
        self.media[media_id] = {
            "id": media_id,
            "account": account,
            "caption": container.text,
            "timestamp": _graph.graph_time(now),
            "media_type": media_type,
            "media_product_type": product,
            "permalink": f"https://www.instagram.com/p/{secrets.token_urlsafe(8)}/",
            "username": self.username(account),
            "at": now,
        }
        container.published_id = media_id
        self.count_publish(account, "post")
        self.world.accept("instagram", account, media_id, container.text, None, media=container.media)
        return await self.finish(container.fault, JSONResponse({"id": media_id}))

    async def publishing_limit(self, request: Request) -> Response:
        """``GET /{user}/content_publishing_limit``."""
        found = await self._caller(request)
        if isinstance(found, Response):
            return found
        account, _params = found
        usage = {
            "quota_usage": self.used(account, "post"),
            "config": {"quota_total": self.quota, "quota_duration": 86400},
        }
        return JSONResponse({"data": [usage]})

    async def list_media(self, request: Request) -> Response:
        """``GET /{user}/media`` (feed and reels) or ``/{user}/stories`` (the last day's), newest first."""
        found = await self._caller(request)
        if isinstance(found, Response):
            return found
        account, params = found
        stories = request.url.path.endswith("/stories")
        try:
            limit = min(int(params.get("limit", 25)), 100)
        except ValueError:
            return bad_param("Param limit must be a number")
        fields = {f for f in (text_param(params, "fields") or "id").split(",") if f} | {"id"}
        now = self.world.clock()
        mine = [
            m
            for m in self.media.values()
            if m["account"] == account
            and (m["media_product_type"] == "STORY") == stories
            and (not stories or now - m["at"] < _graph.DAY)
        ]
        mine.sort(key=lambda m: -m["at"])
        return JSONResponse(
            {"data": [{k: v for k, v in m.items() if k in fields} for m in mine[:limit]], "paging": {}}
        )

    async def read_node(self, request: Request) -> Response:
        """``GET /{id}``: a container's state, a media's fields, or the account."""
        found = await self._caller(request)
        if isinstance(found, Response):
            return found
        account, params = found
        node = request.path_params["node"]
        fields = {f for f in (text_param(params, "fields") or "id").split(",") if f} | {"id"}
        if node == account:
            return JSONResponse({"id": account, "username": self.username(account)})
        container = self.container_of(account, node)
        if container is not None:
            status = container.status(self.world.clock(), read="status_code" in fields)
            body: dict[str, Any] = {
                "id": container.id,
                "status_code": status,
                "status": container.failure if status == "ERROR" else _STATUS_TEXT[status],
                "video_status": {
                    "uploading_phase": {
                        "status": "in_progress" if container.received is not None else "complete",
                        "bytes_transferred": container.uploaded,
                    }
                },
            }
            return JSONResponse({k: v for k, v in body.items() if k in fields})
        media = self.media.get(node)
        if media is None or media["account"] != account:
            return _graph.unknown_object(node)
        return JSONResponse({k: v for k, v in media.items() if k in fields})


FAKE = InstagramFake
