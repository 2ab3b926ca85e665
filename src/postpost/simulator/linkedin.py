"""Fake of LinkedIn: OAuth, ``/v2/userinfo`` and the versioned REST API (posts, images, videos;
analytics, reactions and comments in `_linkedin_insights`).

Tokens: ``Bearer sandbox.<member>.<anything>`` authenticates member ``<member>`` statelessly
(sandbox accounts are made that way); tokens issued by the fake's own OAuth endpoints are
remembered, with their 60-day expiry. ``/rest/…`` calls need ``LinkedIn-Version: YYYYMM`` of the
last twelve months (else LinkedIn's 426) and ``X-Restli-Protocol-Version: 2.0.0``.

Posts are parsed as "little" text the way LinkedIn displays them: ``\\x`` escapes, mentions
``@[Name](urn)``, hashtags ``#tag`` and ``{hashtag|\\#|tag}``; an unescaped reserved character that
starts nothing valid cuts the post there (silently, as LinkedIn does). The listing shows the text as
displayed. A repeated post (same author, commentary and content) is refused with 422
``DUPLICATE_POST`` naming the existing post. Post ids carry their creation time (ms << 22).

Media: images and videos are uploaded to URLs this fake hands out; images are measured with Pillow
and videos with PyAV when the upload is finalised; a video stays ``PROCESSING`` for
`processing_polls` status reads, then becomes ``AVAILABLE`` or ``PROCESSING_FAILED``. A post
naming media that is not ``AVAILABLE`` is refused (422).

Sandbox faults: the text markers apply when the post is created (LinkedIn receives the text
last): ``media-processing-failed`` fails the post's media, ``media-slow`` sends it back to
processing for `slow_polls` reads. Queued media faults (the control API) apply to the account's
next upload, ``upload-interrupted`` included (the part holding the middle byte fails once). The
one-off 429 of a rate-limit fault announces its short hold with ``Retry-After``; LinkedIn's own
429s carry no header, like this fake's daily quota (`daily_posts` per member per UTC day).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

import av
from PIL import Image, UnidentifiedImageError
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from postpost.simulator._linkedin_errors import denied as _denied
from postpost.simulator._linkedin_errors import li_error
from postpost.simulator._linkedin_insights import Insights
from postpost.simulator.fake import Fake
from postpost.simulator.faults import MEDIA, media_fault
from postpost.simulator.world import World

PLATFORM = "linkedin"
RESERVED = frozenset("\\|{}@[]()<>#*_~")
MAX_COMMENTARY = 3000
MAX_ALT_TEXT = 4086
PART_SIZE = 4 * 1024 * 1024
VIDEO_MAX_BYTES = 500 * 1024 * 1024
VIDEO_SECONDS = (3.0, 1800.0)
IMAGE_MAX_PIXELS = 36_152_320
IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif"}
GIF_MAX_FRAMES = 250
ACCESS_TTL = 60 * 86400
REFRESH_TTL = 365 * 86400
CODE_TTL = 1800
VERSION_MONTHS = 12
VISIBILITIES = frozenset({"PUBLIC", "CONNECTIONS", "LOGGED_IN", "CONTAINER"})
REQUIRED = ("author", "commentary", "visibility", "distribution", "lifecycleState")

_SANDBOX_TOKEN = re.compile(r"^sandbox\.([A-Za-z0-9_-]+)\.\S+$")
_AUTHOR = re.compile(r"^urn:li:(person|organization):([A-Za-z0-9_-]+)$")
_VERSION = re.compile(r"^(\d{4})(\d{2})(?:\.\d{2})?$")
_MENTION = re.compile(r"@\[((?:\\.|[^\]\\])*)\]\((urn:li:(?:person|organization):[A-Za-z0-9_-]+)\)")
_HASHTAG = re.compile(r"#\w+")
_TEMPLATE = re.compile(r"\{hashtag\|\\?[#＃]\|([^{}|\\]+)\}")
_UNESCAPE = re.compile(r"\\(.)")
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def field_error(path: str, message: str, code: str | None = None) -> JSONResponse:
    """A 422 validation answer about one field of the request body."""
    details: dict[str, Any] = {}
    if code is not None:
        details["errorDetails"] = {
            "inputErrors": [
                {"code": code, "description": message, "input": {"inputPath": {"fieldPath": path}}}
            ]
        }
    return li_error(422, f"ERROR :: {path} :: {message}\n", **details)


@dataclass
class Display:
    """Little text as LinkedIn shows it."""

    text: str
    mentions: list[dict[str, Any]] = field(default_factory=list)
    truncated: bool = False


def parse_little(commentary: str) -> Display:
    """Render little text; an unescaped reserved character starting nothing valid cuts it there."""
    out: list[str] = []
    shown = Display("")
    i, n = 0, len(commentary)
    while i < n:
        c = commentary[i]
        if c not in RESERVED:
            out.append(c)
            i += 1
            continue
        if c == "\\" and i + 1 < n and commentary[i + 1] in RESERVED:
            out.append(commentary[i + 1])
            i += 2
            continue
        if c == "@" and (m := _MENTION.match(commentary, i)):
            name = _UNESCAPE.sub(r"\1", m.group(1))
            start = sum(len(p) for p in out)
            shown.mentions.append({"urn": m.group(2), "name": name, "start": start, "length": len(name)})
            out.append(name)
            i = m.end()
            continue
        if c == "#" and (m := _HASHTAG.match(commentary, i)):
            out.append(m.group())
            i = m.end()
            continue
        if c == "{" and (m := _TEMPLATE.match(commentary, i)):
            out.append("#" + m.group(1))
            i = m.end()
            continue
        shown.truncated = True
        break
    shown.text = "".join(out)
    return shown


def measure_image(data: bytes) -> tuple[dict[str, Any], str | None]:
    """The image's description and, when LinkedIn could not process it, why."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt, (width, height) = image.format or "", image.size
            frames = int(getattr(image, "n_frames", 1))
    except (UnidentifiedImageError, OSError, ValueError):
        return {"type": "image", "mimeType": None, "size": len(data)}, "The file is not a supported image"
    info = {
        "type": "image",
        "mimeType": IMAGE_FORMATS.get(fmt),
        "size": len(data),
        "width": width,
        "height": height,
    }
    if fmt not in IMAGE_FORMATS:
        return info, f"Unsupported image format {fmt}"
    if width * height > IMAGE_MAX_PIXELS:
        return info, f"Image has {width * height} pixels, more than {IMAGE_MAX_PIXELS}"
    if fmt == "GIF" and frames > GIF_MAX_FRAMES:
        return info, f"Animated GIF has {frames} frames, more than {GIF_MAX_FRAMES}"
    return info, None


def measure_video(data: bytes) -> tuple[dict[str, Any], str | None]:
    """The video's description and, when LinkedIn could not process it, why."""
    info: dict[str, Any] = {"type": "video", "mimeType": None, "size": len(data)}
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if "mp4" not in container.format.name.split(","):
                return info, f"Unsupported video container {container.format.name}"
            stream = next(iter(container.streams.video), None)
            if stream is None:
                return info, "The file has no video stream"
            seconds = container.duration / 1_000_000 if container.duration else 0.0
            info.update(
                mimeType="video/mp4", width=stream.codec_context.width, height=stream.codec_context.height
            )
    except (av.FFmpegError, ValueError, OSError):
        return info, "The file is not a readable video"
    info["duration"] = round(seconds, 3)
    low, high = VIDEO_SECONDS
    if not low <= seconds <= high:
        return info, f"Video duration {seconds:.1f} s is outside {low:.0f} s to {high / 60:.0f} min"
    return info, None


@dataclass
class Asset:
    """An uploaded image or video and its processing."""

    urn: str
    kind: str
    owner: str
    member: str
    status: str = "WAITING_UPLOAD"
    polls: int = 0  # PROCESSING answers still to give before the outcome
    failure: str | None = None
    fault: str | None = None
    marked: bool = False  # a post's media marker was applied
    size: int = 0
    token: str = ""
    parts: list[tuple[int, int]] = field(default_factory=list)
    received: dict[int, tuple[str, bytes]] = field(default_factory=dict)
    interrupted: bool = False
    info: dict[str, Any] = field(default_factory=dict)

    def current(self) -> str:
        """The status now: processing ends once its reads are used up."""
        if self.status == "PROCESSING" and self.polls <= 0:
            self.status = "PROCESSING_FAILED" if self.failure else "AVAILABLE"
        return self.status

    def read(self) -> str:
        """The status as a status read sees it (one read of processing used up)."""
        status = self.current()
        if status == "PROCESSING":
            self.polls -= 1
        return status

    def processed(self, failure: str | None, polls: int) -> None:
        self.failure = failure if self.fault != "media-processing-failed" else "MEDIA_ASSET_PROCESSING_FAILED"
        self.status, self.polls = "PROCESSING", polls


@dataclass
class Grant:
    """An authorization code or refresh token the fake issued."""

    member: str
    client_id: str
    scope: str
    expires_at: float
    redirect_uri: str = ""


@dataclass
class StoredPost:
    """A post as stored: its REST representation and how it displays."""

    json: dict[str, Any]
    member: str
    account: str
    display: Display


class LinkedInFake(Fake):
    """LinkedIn's OAuth, userinfo and versioned REST API for posts and media."""

    name = PLATFORM

    def __init__(
        self,
        world: World,
        *,
        part_size: int = PART_SIZE,
        processing_polls: int = 1,
        slow_polls: int = 3,
        daily_posts: int = 150,
    ) -> None:
        super().__init__(world)
        self.part_size = part_size
        self.processing_polls = processing_polls
        self.slow_polls = slow_polls
        self.daily_posts = daily_posts
        self.posts: dict[str, StoredPost] = {}
        self.by_author: dict[str, list[str]] = {}
        self.seen: dict[tuple[str, str, str], str] = {}  # (author, commentary, content) -> post URN
        self.daily: dict[tuple[str, str], int] = {}
        self.assets: dict[str, Asset] = {}
        self.uploads: dict[str, str] = {}  # upload key in the URL -> asset URN
        self.tokens: dict[str, Grant] = {}
        self.codes: dict[str, Grant] = {}
        self.refresh_tokens: dict[str, Grant] = {}
        self.last_id = 0
        self.insights = Insights(world, self._versioned, self._may_act_for)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/oauth/v2/authorization", self.authorize, methods=["GET"]),
            Route("/oauth/v2/accessToken", self.access_token, methods=["POST"]),
            Route("/v2/userinfo", self.userinfo, methods=["GET"]),
            Route("/rest/organizationAcls", self.organization_acls, methods=["GET"]),
            Route("/rest/organizations/{id}", self.organization, methods=["GET"]),
            Route("/rest/posts", self.create_post, methods=["POST"]),
            Route("/rest/posts/{urn}", self.get_post, methods=["GET"]),
            Route("/rest/images", self.images_action, methods=["POST"]),
            Route("/rest/images/{urn}", self.get_asset, methods=["GET"]),
            Route("/rest/videos", self.videos_action, methods=["POST"]),
            Route("/rest/videos/{urn}", self.get_asset, methods=["GET"]),
            Route("/dms-uploads/{key}", self.upload_image, methods=["PUT"]),
            Route("/dms-uploads/{key}/{part:int}", self.upload_part, methods=["PUT"]),
            *self.insights.routes(),
        ]

    def control_routes(self) -> list[BaseRoute]:
        return self.insights.control_routes()

    def forget(self, account: str | None = None) -> None:
        self.insights.forget(account)
        if account is None:
            for store in (self.posts, self.by_author, self.seen, self.daily, self.assets, self.uploads):
                store.clear()
            return
        for author in [a for a in self.by_author if _AUTHOR.match(a) and a.rsplit(":", 1)[1] == account]:
            for urn in self.by_author.pop(author):
                self.posts.pop(urn, None)
        for seen in [k for k in self.seen if k[0].rsplit(":", 1)[1] == account]:
            del self.seen[seen]
        for day in [k for k in self.daily if k[0] == account]:
            del self.daily[day]
        for urn in [u for u, a in self.assets.items() if account in (a.member, a.owner.rsplit(":", 1)[1])]:
            del self.assets[urn]

    # ----- helpers ---------------------------------------------------------------------

    def fault_response(self, fault: str) -> Response:
        if fault == "auth-expired":
            return li_error(
                401, "The token used in the request has expired", code="EXPIRED_ACCESS_TOKEN", service=65602
            )
        if fault == "invalid-content":
            return field_error("/commentary", "Content violates the Professional Community Policies")
        if fault == "rate-limited":
            hold = str(max(1, round(self.world.hold_seconds)))
            return li_error(429, "Too Many Requests", code="TOO_MANY_REQUESTS", headers={"Retry-After": hold})
        if fault == "server-error":
            return li_error(503, "Service Unavailable")
        return li_error(500, "Internal Server Error")  # server-error-after-commit

    def _member(self, request: Request) -> str | Response:
        """The member a bearer token stands for, or LinkedIn's 401."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return li_error(401, "Empty oauth2 access token", code="EMPTY_ACCESS_TOKEN", service=65604)
        grant = self.tokens.get(token)
        if grant is not None:
            if grant.expires_at <= self.world.clock():
                return li_error(
                    401,
                    "The token used in the request has expired",
                    code="EXPIRED_ACCESS_TOKEN",
                    service=65602,
                )
            return grant.member
        found = _SANDBOX_TOKEN.match(token)
        if found is None:
            return li_error(401, "Invalid access token", code="INVALID_ACCESS_TOKEN", service=65600)
        return found.group(1)

    def _versioned(self, request: Request) -> str | Response:
        """The caller of a ``/rest`` endpoint, after the version and protocol headers are checked."""
        member = self._member(request)
        if isinstance(member, Response):
            return member
        version = request.headers.get("linkedin-version")
        if not version:
            return li_error(
                426,
                "A version must be present. Please specify a version by adding the LinkedIn-Version header.",
                code="VERSION_MISSING",
            )
        found = _VERSION.match(version.strip())
        now = datetime.fromtimestamp(self.world.clock(), UTC)
        age = (now.year * 12 + now.month) - (int(found.group(1)) * 12 + int(found.group(2))) if found else -1
        if found is None or not 1 <= int(found.group(2)) <= 12 or not 0 <= age <= VERSION_MONTHS:
            return li_error(426, f"Requested version {version} is not active", code="NONEXISTENT_VERSION")
        if request.headers.get("x-restli-protocol-version") != "2.0.0":
            return li_error(400, "X-Restli-Protocol-Version 2.0.0 is required", code="ILLEGAL_ARGUMENT")
        return member

    def _keyed(self, request: Request) -> str | Response:
        """The caller of ``/rest/<resource>/{urn}``; Rest.li 2.0 wants the URN percent-encoded."""
        raw = request.scope.get("raw_path") or b""
        if b"/urn:" in raw:
            return li_error(400, "The key in the path must be URL-encoded", code="ILLEGAL_ARGUMENT")
        return self._versioned(request)

    def _may_act_for(self, member: str, owner: Any) -> bool:
        """A member acts for itself and (in the sandbox) for any organisation."""
        found = _AUTHOR.match(owner) if isinstance(owner, str) else None
        return found is not None and (found.group(1) == "organization" or found.group(2) == member)

    def _next_id(self) -> int:
        self.last_id = max(int(self.world.clock() * 1000) << 22, self.last_id + 1)
        return self.last_id

    def _queued_media_fault(self, account: str) -> str | None:
        """A media fault at the head of the account's control queue, taken for its next upload."""
        for queue in self.world.faults.pending():
            if (queue["platform"], queue["account"]) == (PLATFORM, account):
                faults = queue["faults"]
                if isinstance(faults, list) and faults and faults[0] in MEDIA:
                    return self.world.faults.pop(PLATFORM, account)
        return None

    def _new_asset(self, kind: str, owner: str, member: str) -> Asset:
        prefix = "C5F10AQ" if kind == "video" else "C4E10AQ"
        urn = f"urn:li:{kind}:{prefix}" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(12))
        asset = Asset(urn, kind, owner, member, fault=self._queued_media_fault(owner.rsplit(":", 1)[1]))
        self.assets[urn] = asset
        return asset

    # ----- OAuth and userinfo ----------------------------------------------------------

    async def authorize(self, request: Request) -> Response:
        """``GET /oauth/v2/authorization``: the member approves at once; back to the app with a code."""
        q = request.query_params
        for name in ("client_id", "redirect_uri"):
            if not q.get(name):
                return _oauth_error(400, "invalid_request", f'A required parameter "{name}" is missing')
        redirect = q["redirect_uri"]
        if q.get("response_type") != "code":
            return _redirect(redirect, error="unsupported_response_type", state=q.get("state"))
        member = q.get("member") or "".join(secrets.choice(_ID_ALPHABET) for _ in range(10))
        code = secrets.token_urlsafe(24)
        self.codes[code] = Grant(
            member, q["client_id"], q.get("scope", ""), self.world.clock() + CODE_TTL, redirect
        )
        return _redirect(redirect, code=code, state=q.get("state"))

    async def access_token(self, request: Request) -> Response:
        """``POST /oauth/v2/accessToken``: the authorization-code and refresh-token grants."""
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        grant_type = form.get("grant_type")
        wanted = {
            "authorization_code": ("code", "redirect_uri", "client_id", "client_secret"),
            "refresh_token": ("refresh_token", "client_id", "client_secret"),
        }.get(grant_type or "")
        if wanted is None:
            return _oauth_error(400, "unsupported_grant_type", f"Unsupported grant type {grant_type!r}")
        for name in wanted:
            if not form.get(name):
                return _oauth_error(400, "invalid_request", f'A required parameter "{name}" is missing')
        now = self.world.clock()
        store = self.codes if grant_type == "authorization_code" else self.refresh_tokens
        key = form["code"] if grant_type == "authorization_code" else form["refresh_token"]
        grant = store.get(key)
        if (
            grant is None
            or grant.expires_at <= now
            or (grant_type == "authorization_code" and grant.redirect_uri != form["redirect_uri"])
        ):
            message = "The provided authorization grant or refresh token is invalid, expired or revoked"
            return _oauth_error(400, "invalid_grant", message)
        if grant.client_id != form["client_id"]:
            return _oauth_error(401, "invalid_client", "Client authentication failed")
        token = f"sandbox.{grant.member}.{secrets.token_hex(16)}"
        self.tokens[token] = Grant(grant.member, grant.client_id, grant.scope, now + ACCESS_TTL)
        if grant_type == "authorization_code":
            del self.codes[key]
            key = secrets.token_urlsafe(32)
            grant = Grant(grant.member, grant.client_id, grant.scope, now + REFRESH_TTL)
            self.refresh_tokens[key] = grant
        return JSONResponse(
            {
                "access_token": token,
                "expires_in": ACCESS_TTL,
                "refresh_token": key,
                "refresh_token_expires_in": int(grant.expires_at - now),
                "scope": grant.scope.replace(" ", ","),
            }
        )

    async def userinfo(self, request: Request) -> Response:
        """``GET /v2/userinfo`` (OpenID Connect)."""
        member = self._member(request)
        if isinstance(member, Response):
            return member
        return JSONResponse(
            {
                "sub": member,
                "email_verified": True,
                "name": f"Sandbox Member {member}",
                "locale": {"country": "US", "language": "en"},
                "given_name": "Sandbox",
                "family_name": f"Member {member}",
                "email": f"{member.lower()}@sandbox.invalid",
            }
        )

    # ----- organisations ---------------------------------------------------------------

    async def organization_acls(self, request: Request) -> Response:
        """``GET /rest/organizationAcls?q=roleAssignee``: the two sandbox organisations a member runs."""
        member = self._versioned(request)
        if isinstance(member, Response):
            return member
        if request.query_params.get("q") != "roleAssignee":
            return li_error(400, "Unsupported finder", code="ILLEGAL_ARGUMENT")
        elements = [
            {
                "roleAssignee": f"urn:li:person:{member}",
                "role": "ADMINISTRATOR",
                "state": "APPROVED",
                "organization": f"urn:li:organization:{org}",
            }
            for org in sandbox_organizations(member)
        ]
        return JSONResponse(
            {"elements": elements, "paging": {"count": 100, "start": 0, "total": len(elements)}}
        )

    async def organization(self, request: Request) -> Response:
        """``GET /rest/organizations/{id}``: any numeric id is a sandbox organisation."""
        member = self._versioned(request)
        if isinstance(member, Response):
            return member
        org = request.path_params["id"]
        if not org.isascii() or not org.isdigit():
            return li_error(404, f"Organization {org} does not exist", code="NOT_FOUND")
        name = f"Sandbox Organization {org}"
        return JSONResponse({"id": int(org), "localizedName": name, "vanityName": f"sandbox-org-{org}"})

    # ----- media -----------------------------------------------------------------------

    async def images_action(self, request: Request) -> Response:
        """``POST /rest/images?action=initializeUpload``."""
        member = self._versioned(request)
        if isinstance(member, Response):
            return member
        if request.query_params.get("action") != "initializeUpload":
            return li_error(400, "Unsupported action", code="ILLEGAL_ARGUMENT")
        body = await _json_object(request)
        req = body.get("initializeUploadRequest") if body else None
        owner = req.get("owner") if isinstance(req, dict) else None
        if not self._may_act_for(member, owner):
            return _denied("POST /rest/images")
        asset = self._new_asset("image", str(owner), member)
        key = secrets.token_urlsafe(16)
        self.uploads[key] = asset.urn
        expires = int((self.world.clock() + 86400) * 1000)
        url = f"{_base(request)}/dms-uploads/{key}"
        return JSONResponse({"value": {"uploadUrlExpiresAt": expires, "uploadUrl": url, "image": asset.urn}})

    async def videos_action(self, request: Request) -> Response:
        """``POST /rest/videos?action=initializeUpload`` and ``?action=finalizeUpload``."""
        member = self._versioned(request)
        if isinstance(member, Response):
            return member
        body = await _json_object(request)
        action = request.query_params.get("action")
        if action == "initializeUpload":
            return self._open_video(request, member, body)
        if action == "finalizeUpload":
            return self._finalize(member, body)
        return li_error(400, "Unsupported action", code="ILLEGAL_ARGUMENT")

    def _open_video(self, request: Request, member: str, body: dict[str, Any] | None) -> Response:
        req = body.get("initializeUploadRequest") if body else None
        if not isinstance(req, dict):
            return field_error("/initializeUploadRequest", "field is required but not found")
        if not self._may_act_for(member, req.get("owner")):
            return _denied("POST /rest/videos")
        size = req.get("fileSizeBytes")
        if not isinstance(size, int) or isinstance(size, bool) or not 0 < size <= VIDEO_MAX_BYTES:
            return li_error(
                400, f"fileSizeBytes must be between 1 and {VIDEO_MAX_BYTES}", code="ILLEGAL_ARGUMENT"
            )
        asset = self._new_asset("video", str(req["owner"]), member)
        asset.size = size
        asset.parts = [
            (first, min(first + self.part_size, size) - 1) for first in range(0, size, self.part_size)
        ]
        asset.token = secrets.token_urlsafe(12) if len(asset.parts) > 1 else ""
        key = secrets.token_urlsafe(16)
        self.uploads[key] = asset.urn
        base = _base(request)
        instructions = [
            {"uploadUrl": f"{base}/dms-uploads/{key}/{i}", "firstByte": first, "lastByte": last}
            for i, (first, last) in enumerate(asset.parts)
        ]
        expires = int((self.world.clock() + 86400) * 1000)
        value = {
            "uploadUrlsExpireAt": expires,
            "video": asset.urn,
            "uploadInstructions": instructions,
            "uploadToken": asset.token,
        }
        return JSONResponse({"value": value})

    def _finalize(self, member: str, body: dict[str, Any] | None) -> Response:
        req = body.get("finalizeUploadRequest") if body else None
        if not isinstance(req, dict):
            return field_error("/finalizeUploadRequest", "field is required but not found")
        asset = self.assets.get(str(req.get("video")))
        if asset is None or asset.kind != "video":
            return li_error(404, f"Video {req.get('video')} does not exist", code="NOT_FOUND")
        if asset.member != member:
            return _denied("POST /rest/videos")
        if asset.status != "WAITING_UPLOAD":
            return li_error(400, "The upload of this video is already finalized", code="ILLEGAL_ARGUMENT")
        if (req.get("uploadToken") or "") != asset.token:
            return li_error(400, "Invalid uploadToken", code="ILLEGAL_ARGUMENT")
        etags = [asset.received[i][0] for i in sorted(asset.received)]
        if len(asset.received) != len(asset.parts) or req.get("uploadedPartIds") != etags:
            return li_error(400, "uploadedPartIds do not match the uploaded parts", code="ILLEGAL_ARGUMENT")
        data = b"".join(asset.received[i][1] for i in range(len(asset.parts)))
        asset.received = {i: (etag, b"") for i, (etag, _) in asset.received.items()}
        asset.info, failure = measure_video(data)
        slow = asset.fault == "media-slow"
        asset.processed(failure, self.slow_polls if slow else self.processing_polls)
        return Response(status_code=200)

    async def upload_image(self, request: Request) -> Response:
        """``PUT`` of an image's bytes to its upload URL (with the member's token)."""
        member = self._member(request)
        if isinstance(member, Response):
            return member
        asset = self.assets.get(self.uploads.get(request.path_params["key"], ""))
        if asset is None or asset.kind != "image":
            return li_error(404, "Upload URL not found", code="NOT_FOUND")
        if asset.member != member:
            return _denied("PUT upload")
        data = await request.body()
        if asset.fault == "upload-interrupted" and not asset.interrupted:
            asset.interrupted = True
            return li_error(500, "Upload interrupted")
        asset.info, failure = measure_image(data)
        asset.processed(failure, self.slow_polls if asset.fault == "media-slow" else 0)
        return Response(status_code=201)

    async def upload_part(self, request: Request) -> Response:
        """``PUT`` of one byte range of a video (the URL itself authorises it); answers its ETag."""
        asset = self.assets.get(self.uploads.get(request.path_params["key"], ""))
        part = request.path_params["part"]
        if asset is None or asset.kind != "video" or not 0 <= part < len(asset.parts):
            return li_error(404, "Upload URL not found", code="NOT_FOUND")
        if asset.status != "WAITING_UPLOAD":
            return li_error(400, "The upload of this video is already finalized", code="ILLEGAL_ARGUMENT")
        first, last = asset.parts[part]
        data = await request.body()
        if len(data) != last - first + 1:
            return li_error(400, f"Part {part} must hold bytes {first}-{last}", code="ILLEGAL_ARGUMENT")
        if asset.fault == "upload-interrupted" and not asset.interrupted and first <= asset.size // 2 <= last:
            asset.interrupted = True
            return li_error(500, "Upload interrupted")
        etag = f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}-{part}"'
        asset.received[part] = (etag, data)
        return Response(status_code=200, headers={"ETag": etag})

    async def get_asset(self, request: Request) -> Response:
        """``GET /rest/images/{urn}`` and ``GET /rest/videos/{urn}``: status and what was measured."""
        member = self._keyed(request)
        if isinstance(member, Response):
            return member
        kind = "video" if request.url.path.rstrip("/").split("/")[-2] == "videos" else "image"
        asset = self.assets.get(request.path_params["urn"])
        if asset is None or asset.kind != kind:
            return li_error(404, f"{request.path_params['urn']} does not exist", code="NOT_FOUND")
        if not self._may_act_for(member, asset.owner):
            return _denied(f"GET /rest/{kind}s")
        body: dict[str, Any] = {"id": asset.urn, "owner": asset.owner, "status": asset.read()}
        if asset.status == "PROCESSING_FAILED":
            body["processingFailureReason"] = asset.failure
        if asset.info.get("width"):
            body["aspectRatioWidth"], body["aspectRatioHeight"] = asset.info["width"], asset.info["height"]
        if "duration" in asset.info:
            body["duration"] = int(asset.info["duration"] * 1000)
        return JSONResponse(body)

    # ----- posts -----------------------------------------------------------------------

    async def create_post(self, request: Request) -> Response:
        """``POST /rest/posts``: 201 with the new post's URN in ``x-restli-id``."""
        member = self._versioned(request)
        if isinstance(member, Response):
            return member
        body = await _json_object(request)
        if body is None:
            return li_error(400, "Request body could not be converted to data map", code="ILLEGAL_ARGUMENT")
        author, raw = body.get("author"), body.get("commentary")
        commentary = raw if isinstance(raw, str) else ""
        shown = parse_little(commentary)
        account = author.rsplit(":", 1)[1] if isinstance(author, str) and _AUTHOR.match(author) else member
        fault = self.world.fault_for(PLATFORM, account, shown.text, f"{author}\n{commentary}")
        if self.rejects(fault):
            assert fault is not None
            return self.fault_response(fault)
        for name in REQUIRED:
            if name not in body:
                return field_error(f"/{name}", "field is required but not found and has no default value")
        if not self._may_act_for(member, author):
            return _denied("POST /rest/posts")
        problem = self._check_fields(body, shown)
        if problem is not None:
            return problem
        content = body.get("content")
        assets = self._content_assets(content, str(author))
        if isinstance(assets, Response):
            return assets
        self._mark(assets, fault if fault in MEDIA else media_fault(shown.text, PLATFORM))
        for asset in assets:
            if asset.current() != "AVAILABLE":
                return field_error("/content", f"{asset.urn} is not available: its status is {asset.status}")
        seen_key = (str(author), commentary, json.dumps(content, sort_keys=True))
        if seen_key in self.seen:
            existing = self.seen[seen_key]
            return field_error("/commentary", f"Content is a duplicate of {existing}", "DUPLICATE_POST")
        day = (account, datetime.fromtimestamp(self.world.clock(), UTC).date().isoformat())
        if self.daily.get(day, 0) >= self.daily_posts:
            return li_error(
                429, "Resource level throttle MEMBER DAY limit for calls to this resource is reached."
            )
        self.daily[day] = self.daily.get(day, 0) + 1
        urn = self._store(body, member, account, shown, assets)
        self.seen[seen_key] = urn
        response = Response(status_code=201, headers={"x-restli-id": urn, "x-linkedin-id": urn})
        return await self.finish(fault if fault not in MEDIA else None, response)

    def _check_fields(self, body: dict[str, Any], shown: Display) -> Response | None:
        if not isinstance(body["commentary"], str):
            return field_error("/commentary", "must be a string")
        if body["visibility"] not in VISIBILITIES:
            return field_error("/visibility", f"{body['visibility']!r} is not a valid visibility")
        if body["lifecycleState"] != "PUBLISHED":
            return field_error("/lifecycleState", "only PUBLISHED posts can be created")
        if not isinstance(body["distribution"], dict) or "feedDistribution" not in body["distribution"]:
            return field_error("/distribution/feedDistribution", "field is required but not found")
        if len(shown.text) > MAX_COMMENTARY:
            message = (
                f"length of {len(shown.text)} characters exceeds the maximum allowed length {MAX_COMMENTARY}"
            )
            return field_error("/commentary", message, "MAX_LENGTH_EXCEEDED")
        return None

    def _content_assets(self, content: Any, author: str) -> list[Asset] | Response:
        """The media a post's ``content`` names, checked; a 422 when it names them wrongly."""
        if content is None:
            return []
        if not isinstance(content, dict) or len(content) != 1 or not {"media", "multiImage"} & set(content):
            return field_error("/content", "must hold exactly one of media, multiImage")
        if "media" in content:
            items, path = [content["media"]], "/content/media"
        else:
            images = content["multiImage"].get("images") if isinstance(content["multiImage"], dict) else None
            if not isinstance(images, list) or not 2 <= len(images) <= 20:
                return field_error("/content/multiImage/images", "must hold 2 to 20 images")
            items, path = images, "/content/multiImage/images"
        found = []
        for item in items:
            asset = self.assets.get(str(item.get("id"))) if isinstance(item, dict) else None
            if asset is None or asset.owner != author:
                return field_error(f"{path}/id", f"{item!r} is not a media item of {author}")
            if path.startswith("/content/multiImage") and asset.kind != "image":
                return field_error(f"{path}/id", f"{asset.urn} is not an image")
            alt = item.get("altText")
            if alt is not None and (not isinstance(alt, str) or len(alt) > MAX_ALT_TEXT):
                return field_error(f"{path}/altText", f"length exceeds {MAX_ALT_TEXT}", "MAX_LENGTH_EXCEEDED")
            found.append(asset)
        return found

    def _mark(self, assets: list[Asset], fault: str | None) -> None:
        """Apply a post's media fault to its media, once per item."""
        if fault not in ("media-processing-failed", "media-slow"):
            return
        for asset in assets:
            if asset.marked:
                continue
            asset.marked = True
            if fault == "media-processing-failed":
                asset.status, asset.failure = "PROCESSING_FAILED", "MEDIA_ASSET_PROCESSING_FAILED"
            else:
                asset.status, asset.polls = "PROCESSING", self.slow_polls

    def _store(
        self, body: dict[str, Any], member: str, account: str, shown: Display, assets: list[Asset]
    ) -> str:
        now_ms = int(self.world.clock() * 1000)
        kind = "ugcPost" if assets else "share"
        urn = f"urn:li:{kind}:{self._next_id()}"
        stored = {
            key: body[key]
            for key in (*REQUIRED, "content", "isReshareDisabledByAuthor", "contentLandingPage")
            if key in body
        }
        stored.update(id=urn, createdAt=now_ms, publishedAt=now_ms, lastModifiedAt=now_ms)
        stored["lifecycleStateInfo"] = {"isEditedByAuthor": False}
        self.posts[urn] = StoredPost(stored, member, account, shown)
        self.by_author.setdefault(str(body["author"]), []).append(urn)
        self.world.accept(PLATFORM, account, urn, shown.text, None, [dict(a.info) for a in assets])
        return urn

    async def get_post(self, request: Request) -> Response:
        """``GET /rest/posts/{urn}``: the post as stored."""
        member = self._keyed(request)
        if isinstance(member, Response):
            return member
        post = self.posts.get(request.path_params["urn"])
        if post is None:
            return li_error(404, f"Post {request.path_params['urn']} does not exist", code="NOT_FOUND")
        return JSONResponse(post.json)


def sandbox_organizations(member: str) -> list[str]:
    """The ids of the organisations a sandbox member administers (two, derived from the member)."""
    digest = hashlib.sha256(member.encode()).digest()
    return [str(10_000_000 + int.from_bytes(digest[i : i + 4], "big") % 90_000_000) for i in (0, 4)]


def _base(request: Request) -> str:
    """Absolute URL of this fake's root (its mount point)."""
    host = request.headers.get("host", "sandbox.linkedin")
    return f"{request.url.scheme}://{host}{request.scope.get('root_path', '')}"


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status)


def _redirect(uri: str, **params: str | None) -> RedirectResponse:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return RedirectResponse(f"{uri}{'&' if '?' in uri else '?'}{query}", status_code=302)


async def _json_object(request: Request) -> dict[str, Any] | None:
    try:
        data = json.loads(await request.body())
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


FAKE = LinkedInFake
