"""Fake of the Threads API (``graph.threads.net``) and its OAuth endpoints.

Publishing is two-step: ``POST /v1.0/{user}/threads`` makes a container (TEXT, IMAGE, VIDEO,
CAROUSEL of items, or an item with ``is_carousel_item``), whose media the fake fetches from its
public URL and measures; ``GET /v1.0/{container}?fields=status,error_message`` reads its state;
``POST /v1.0/{user}/threads_publish?creation_id=`` publishes it once. Posts and replies count
against rolling daily quotas (``threads_publishing_limit``). Text is at most 500 characters,
an emoji counting as its UTF-8 length, with at most 5 links.

Faults are drawn when a post's container is made (it carries the text): rejections answer
there, the post-commit ones when the container is published; the media markers make its
processing slow or end in ``ERROR``.
"""

from __future__ import annotations

import secrets
from typing import Any

import regex
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from postpost.simulator import _graph
from postpost.simulator._graph import Container, bad_param, graph_error, text_param
from postpost.simulator.faults import media_fault
from postpost.simulator.world import World

MAX_TEXT = 500
MAX_LINKS = 5
MAX_ALT_TEXT = 1000
IMAGE_MAX = 8 * 1024 * 1024
VIDEO_MAX = 1024 * 1024 * 1024
VIDEO_MAX_SECONDS = 300.0
REPLY_CONTROLS = frozenset(
    {"everyone", "accounts_you_follow", "mentioned_only", "parent_post_author_only", "followers_only"}
)
_GRAPHEME = regex.compile(r"\X")
_EMOJI = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}]")
_LINK = regex.compile(r"https?://\S+", regex.IGNORECASE)
# what was refused stays unsaid: the fake must not tell what lies behind a URL it was given
MEDIA_DOWNLOAD_FAILED = "Media download has failed. The media URI doesn't meet our requirements."
MEDIA_TYPES = {"TEXT": "TEXT_POST", "IMAGE": "IMAGE", "VIDEO": "VIDEO", "CAROUSEL": "CAROUSEL_ALBUM"}


def threads_length(text: str) -> int:
    """Code points, an emoji counting as its UTF-8 byte length."""
    total = 0
    for match in _GRAPHEME.finditer(text):
        cluster = match.group()
        total += len(cluster.encode()) if _EMOJI.search(cluster) else len(cluster)
    return total


class ThreadsFake(_graph.GraphFake):
    """Threads: containers, publishing, the account's threads, quotas and tokens."""

    name = "threads"
    title = "Threads"
    usage_type = "threads"

    def __init__(self, world: World, *, posts_per_day: int = 250, replies_per_day: int = 1000) -> None:
        super().__init__(world)
        self.quotas = {"post": posts_per_day, "reply": replies_per_day}
        self.media: dict[str, dict[str, Any]] = {}  # published threads by id

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/oauth/authorize", self.authorize, methods=["GET"]),
            Route("/oauth/access_token", self.exchange_code, methods=["POST"]),
            Route("/access_token", self.exchange_token, methods=["GET"]),
            Route("/refresh_access_token", self.refresh_token, methods=["GET"]),
            Route("/{version}/me", self.me, methods=["GET"]),
            Route("/{version}/{user}/threads", self.create_container, methods=["POST"]),
            Route("/{version}/{user}/threads", self.list_threads, methods=["GET"]),
            Route("/{version}/{user}/threads_publish", self.publish, methods=["POST"]),
            Route("/{version}/{user}/threads_publishing_limit", self.publishing_limit, methods=["GET"]),
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

    async def _caller(self, request: Request, *, owner: bool = True) -> tuple[str, dict[str, Any]] | Response:
        params = await _graph.read_params(request)
        if params is None:
            return bad_param("Invalid request body")
        if not self.version_ok(request):
            return graph_error(400, 2500, "Unknown path components", kind="OAuthException")
        account = self.account(request, params)
        if isinstance(account, Response):
            return account
        user = request.path_params.get("user")
        if owner and user not in (None, "me", account):
            return _graph.unknown_object(str(user))
        return account, params

    # ----- tokens -----------------------------------------------------------------------------

    async def exchange_code(self, request: Request) -> Response:
        """``POST /oauth/access_token``: a short-lived token for an authorization code."""
        params = await _graph.read_params(request) or {}
        if params.get("grant_type") != "authorization_code":
            return bad_param("Invalid grant_type")
        account = self.redeem(params)
        if account is None:
            return bad_param("Invalid verification code format.", subcode=36008)
        return JSONResponse({"access_token": _graph.new_token(account), "user_id": int(account)})

    async def exchange_token(self, request: Request) -> Response:
        """``GET /access_token?grant_type=th_exchange_token``: a 60-day token."""
        return self._long_lived(request, "th_exchange_token", needs_secret=True)

    async def refresh_token(self, request: Request) -> Response:
        """``GET /refresh_access_token?grant_type=th_refresh_token``: a fresh 60-day token."""
        return self._long_lived(request, "th_refresh_token", needs_secret=False)

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
                "username": self.username(account),
                "name": f"Sandbox {account[-4:]}",
                "threads_profile_picture_url": f"https://sandbox.invalid/threads/{account}.jpg",
            }
        )

    # ----- containers -------------------------------------------------------------------------

    async def create_container(self, request: Request) -> Response:
        """``POST /{user}/threads``."""
        found = await self._caller(request)
        if isinstance(found, Response):
            return found
        account, params = found
        media_type = text_param(params, "media_type") or ""
        if media_type not in ("TEXT", "IMAGE", "VIDEO", "CAROUSEL"):
            return bad_param("Param media_type must be one of {TEXT, IMAGE, VIDEO, CAROUSEL}")
        item = text_param(params, "is_carousel_item") == "true"
        text = text_param(params, "text") or ""
        if item:
            if media_type not in ("IMAGE", "VIDEO"):
                return bad_param("Carousel items must be of media_type IMAGE or VIDEO")
            return await self._media_container(account, params, media_type, "", None)
        fault = self.world.fault_for("threads", account, text, "text:" + text)
        if self.rejects(fault):
            assert fault is not None
            return self.fault_response(fault)
        problem = self._check_post(params, media_type, text)
        if problem is not None:
            return problem
        if media_type == "CAROUSEL":
            return self._carousel(account, params, text, fault)
        if media_type == "TEXT":
            container = self.new_container(account, "TEXT", text, extras=self._extras(params), fault=fault)
            self._apply_media_fault(container, text, video=False)
            return JSONResponse({"id": container.id})
        return await self._media_container(account, params, media_type, text, fault)

    def _check_post(self, params: dict[str, Any], media_type: str, text: str) -> Response | None:
        if media_type == "TEXT" and not text.strip():
            return bad_param("Param text is required for TEXT posts")
        if threads_length(text) > MAX_TEXT:
            return bad_param(f"Param text must be at most {MAX_TEXT} characters long.")
        if len(_LINK.findall(text)) > MAX_LINKS:
            return bad_param(
                f"THREADS_API__LINK_LIMIT_EXCEEDED: the post has more links than the {MAX_LINKS} allowed",
                subcode=4279009,
            )
        control = text_param(params, "reply_control")
        if control is not None and control not in REPLY_CONTROLS:
            return bad_param(f"Param reply_control must be one of {sorted(REPLY_CONTROLS)}")
        reply_to = text_param(params, "reply_to_id")
        if reply_to is not None and reply_to not in self.media:
            return bad_param(f"Param reply_to_id {reply_to} is not a valid thread", subcode=4279001)
        return None

    @staticmethod
    def _extras(params: dict[str, Any]) -> dict[str, str]:
        return {k: params[k] for k in ("reply_to_id", "reply_control") if isinstance(params.get(k), str)}

    def _apply_media_fault(self, container: Container, text: str, *, video: bool) -> None:
        kind = media_fault(text, "threads")
        container.polls_left = self.processing(kind, video)
        if kind == "media-processing-failed":
            container.failure = "FAILED_PROCESSING_VIDEO" if video else "UNKNOWN"

    async def _media_container(
        self, account: str, params: dict[str, Any], media_type: str, text: str, fault: str | None
    ) -> Response:
        video = media_type == "VIDEO"
        url = text_param(params, "video_url" if video else "image_url")
        if not url:
            return bad_param(f"Param {'video_url' if video else 'image_url'} is required for {media_type}")
        alt = text_param(params, "alt_text")
        if alt is not None and len(alt) > MAX_ALT_TEXT:
            return bad_param(f"Param alt_text must be at most {MAX_ALT_TEXT} characters long.")
        failure: str | None = None
        try:
            measured = await _graph.fetch_measured(url, VIDEO_MAX if video else IMAGE_MAX)
        except _graph.MediaFetchError:
            if not video:
                return bad_param(MEDIA_DOWNLOAD_FAILED, subcode=2207052)
            measured, failure = (
                {"type": "video", "mimeType": "video/mp4", "size": 0},
                "FAILED_DOWNLOADING_VIDEO",
            )
        if measured["type"] != media_type.lower():
            return bad_param(f"The media at {media_type.lower()}_url is not a {media_type.lower()}")
        if not video and measured["mimeType"] not in ("image/jpeg", "image/png"):
            return bad_param(f"Unsupported image format {measured['mimeType']}: use JPEG or PNG")
        if video and measured.get("duration", 0) > VIDEO_MAX_SECONDS:
            failure = "INVALID_DURATION"
        container = self.new_container(
            account,
            media_type,
            text,
            media=[measured],
            extras=self._extras(params),
            fault=fault,
            failure=failure,
        )
        self._apply_media_fault(container, text, video=video)
        return JSONResponse({"id": container.id})

    def _carousel(self, account: str, params: dict[str, Any], text: str, fault: str | None) -> Response:
        ids = [c for c in (text_param(params, "children") or "").split(",") if c]
        if not 2 <= len(ids) <= 20:
            return bad_param("A carousel must have between 2 and 20 children")
        children = [self.container_of(account, c) for c in ids]
        if any(c is None or c.media_type not in ("IMAGE", "VIDEO") or c.text for c in children):
            return bad_param("Param children must list carousel item containers of this user")
        if any(c is not None and c.status(self.world.clock()) != "FINISHED" for c in children):
            return graph_error(
                400, 9007, "The media is not ready for publishing, please wait for a moment", subcode=2207027
            )
        media = [m for c in children if c is not None for m in c.media]
        container = self.new_container(
            account, "CAROUSEL", text, media=media, children=ids, extras=self._extras(params), fault=fault
        )
        self._apply_media_fault(container, text, video=False)
        return JSONResponse({"id": container.id})

    # ----- publishing -------------------------------------------------------------------------

    async def publish(self, request: Request) -> Response:
        """``POST /{user}/threads_publish?creation_id=``."""
        found = await self._caller(request)
        if isinstance(found, Response):
            return found
        account, params = found
        container = self.container_of(account, text_param(params, "creation_id"))
        if container is None:
            return _graph.unknown_object(str(params.get("creation_id")))
        status = container.status(self.world.clock())
        if status == "PUBLISHED":
            return bad_param("The media has already been published", subcode=4279007)
        if status != "FINISHED":
            return graph_error(
                400, 9007, "The media is not ready for publishing, please wait for a moment", subcode=2207027
            )
        kind = "reply" if "reply_to_id" in container.extras else "post"
        if self.used(account, kind) >= self.quotas[kind]:
            return graph_error(
                400,
                9,
                "You have reached the maximum number of posts that can be published in 24 hours",
                subcode=2207042,
                user_title="Publishing limit reached",
            )
        media_id = self.next_id()
        now = self.world.clock()
        reply_to = container.extras.get("reply_to_id")
        self.media[media_id] = {
            "id": media_id,
            "account": account,
            "text": container.text,
            "timestamp": _graph.graph_time(now),
            "media_type": MEDIA_TYPES[container.media_type],
            "permalink": f"https://www.threads.net/@{self.username(account)}/post/{secrets.token_urlsafe(8)}",
            "reply_audience": container.extras.get("reply_control", "everyone").upper(),
            "is_reply": reply_to is not None,
            "username": self.username(account),
            "at": now,
        }
        container.published_id = media_id
        self.count_publish(account, kind)
        self.world.accept("threads", account, media_id, container.text, reply_to, media=container.media)
        return await self.finish(container.fault, JSONResponse({"id": media_id}))

    async def publishing_limit(self, request: Request) -> Response:
        """``GET /{user}/threads_publishing_limit``."""
        found = await self._caller(request)
        if isinstance(found, Response):
            return found
        account, _params = found
        usage = {
            "quota_usage": self.used(account, "post"),
            "config": {"quota_total": self.quotas["post"], "quota_duration": int(_graph.DAY)},
            "reply_quota_usage": self.used(account, "reply"),
            "reply_config": {"quota_total": self.quotas["reply"], "quota_duration": int(_graph.DAY)},
        }
        return JSONResponse({"data": [usage]})

    async def list_threads(self, request: Request) -> Response:
        """``GET /{user}/threads``: the account's posts, newest first (``since``, ``until``, ``limit``)."""
        found = await self._caller(request)
        if isinstance(found, Response):
            return found
        account, params = found
        try:
            limit = min(int(params.get("limit", 25)), 100)
            since = float(params["since"]) if params.get("since") else None
            until = float(params["until"]) if params.get("until") else None
        except ValueError:
            return bad_param("Param limit, since and until must be numbers")
        fields = self._fields(params, "id")
        posts = sorted((m for m in self.media.values() if m["account"] == account), key=lambda m: -m["at"])
        posts = [
            m for m in posts if (since is None or m["at"] >= since) and (until is None or m["at"] <= until)
        ]
        return JSONResponse({"data": [self._pick(m, fields) for m in posts[:limit]], "paging": {}})

    async def read_node(self, request: Request) -> Response:
        """``GET /{id}``: a container's status, a thread's fields, or the user."""
        found = await self._caller(request, owner=False)
        if isinstance(found, Response):
            return found
        account, params = found
        node = request.path_params["node"]
        if node == account:
            return JSONResponse({"id": account, "username": self.username(account)})
        container = self.container_of(account, node)
        if container is not None:
            status = container.status(self.world.clock(), read=True)
            body: dict[str, Any] = {"id": container.id, "status": status}
            if status == "ERROR":
                body["error_message"] = container.failure
            return JSONResponse(self._pick(body, self._fields(params, "id") | {"id"}))
        media = self.media.get(node)
        if media is None:
            return _graph.unknown_object(node)
        return JSONResponse(self._pick(media, self._fields(params, "id") | {"id"}))

    @staticmethod
    def _fields(params: dict[str, Any], default: str) -> set[str]:
        return {f.strip() for f in (text_param(params, "fields") or default).split(",") if f.strip()}

    @staticmethod
    def _pick(item: dict[str, Any], fields: set[str]) -> dict[str, Any]:
        return {k: v for k, v in item.items() if k in fields}


FAKE = ThreadsFake
