"""What the fakes of Meta's Graph platforms (Threads, Facebook Pages, Instagram) share.

- Graph answers: the error envelope ``{"error": {"message", "type", "code", "error_subcode",
  "is_transient", "fbtrace_id"}}``, parameters from the query string, a form, multipart or JSON,
  tokens from ``Authorization: Bearer|OAuth`` or ``access_token``, usage headers on throttling.
- Tokens are accepted statelessly: ``sandbox.<digits>.<anything>`` acts for account ``<digits>``.
- Containers (Threads, Instagram): made from a public media URL that the fake really fetches
  and measures (Pillow, PyAV), or from uploaded bytes; ``IN_PROGRESS`` for a number of status
  reads, then ``FINISHED`` (or ``ERROR``); ``EXPIRED`` after a day; ``PUBLISHED`` once published.
- OAuth for the connect flow: authorize (approved at once, or refused with ``sandbox_deny``; the
  account is ``sandbox_account`` when given), code exchange, long-lived exchange, refresh.
"""

from __future__ import annotations

import io
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode

import av
import httpx
from PIL import Image, UnidentifiedImageError
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import Receive, Scope, Send

from postpost.simulator.fake import Fake
from postpost.simulator.world import World

VERSION_RE = re.compile(r"^v\d+\.\d+$")
LONG_LIVED_SECONDS = 60 * 86400
CONTAINER_TTL = 86400.0
DAY = 86400.0
FETCH_TIMEOUT = 30.0
PROCESSING_POLLS = 1  # status reads a video container stays IN_PROGRESS
SLOW_POLLS = 3  # ... with #sandbox:media-slow
CODE_TTL = 600.0

INVALID_TOKEN = "Invalid OAuth access token - Cannot parse access token"
EXPIRED_TOKEN = "Error validating access token: Session has expired on Tuesday, 04-Mar-25 10:00:00 PST."


def graph_error(
    status: int,
    code: int,
    message: str,
    *,
    subcode: int | None = None,
    kind: str = "OAuthException",
    transient: bool | None = None,
    user_title: str | None = None,
    user_msg: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A Graph API error answer."""
    error: dict[str, Any] = {"message": message, "type": kind, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    if transient is not None:
        error["is_transient"] = transient
    if user_title is not None:
        error["error_user_title"] = user_title
    if user_msg is not None:
        error["error_user_msg"] = user_msg
    error["fbtrace_id"] = "A" + secrets.token_hex(10)
    return JSONResponse({"error": error}, status, headers=dict(headers or {}))


def invalid_token() -> JSONResponse:
    return graph_error(400, 190, INVALID_TOKEN)


def bad_param(message: str, *, subcode: int | None = None, user_msg: str | None = None) -> JSONResponse:
    return graph_error(400, 100, message, subcode=subcode, user_msg=user_msg)


def unknown_object(object_id: str) -> JSONResponse:
    message = (
        f"Unsupported request - method type: get. Object with ID '{object_id}' does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation."
    )
    return graph_error(400, 100, message, subcode=33, kind="GraphMethodException")


def graph_time(ts: float) -> str:
    """Graph's timestamp format: ``2026-05-20T10:00:00+0000``."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def account_of(token: str | None) -> str | None:
    """The account a ``sandbox.<digits>.<x>`` token acts for; None for anything else."""
    parts = (token or "").strip().split(".", 2)
    if len(parts) != 3 or parts[0] != "sandbox" or not (parts[1].isascii() and parts[1].isdigit()):
        return None
    return parts[1]


def new_token(account: str) -> str:
    return f"sandbox.{account}.{secrets.token_hex(12)}"


async def read_params(request: Request) -> dict[str, Any] | None:
    """Query, form, multipart (files as UploadFile) or JSON parameters; None for a malformed body."""
    params: dict[str, Any] = dict(request.query_params)
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        try:
            form = await request.form(max_part_size=1024**3)
        except Exception:  # a broken body is the caller's error, whatever the parser raised
            return None
        params.update(form.items())
        return params
    body = await request.body()
    if not body.strip():
        return params
    if ctype == "application/json":
        try:
            data = json.loads(body)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        params.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()})
        return params
    params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return params


def token_in(request: Request, params: Mapping[str, Any]) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() in ("bearer", "oauth") and token.strip():
        return token.strip()
    value = params.get("access_token")
    return value if isinstance(value, str) else None


def text_param(params: Mapping[str, Any], name: str) -> str | None:
    value = params.get(name)
    return value if isinstance(value, str) else None


class CutResponse(Response):
    """An answer that breaks off half way, as when the connection drops mid-upload."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", b"64")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"succ', "more_body": True})
        # returning with the body unfinished makes the server drop the connection


# ----- media ---------------------------------------------------------------------------------


class MediaFetchError(Exception):
    """The media URL could not be fetched."""


async def fetch_media(url: str, max_bytes: int) -> tuple[bytes, str]:
    """GET a public media URL as the platform does (no redirects); its bytes and content type."""
    if not url.lower().startswith(("http://", "https://")):
        raise MediaFetchError(f"unsupported URL scheme: {url[:40]}")
    try:
        async with (
            httpx.AsyncClient(timeout=FETCH_TIMEOUT, follow_redirects=False) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                raise MediaFetchError(f"HTTP {response.status_code}")
            data = bytearray()
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) > max_bytes:
                    raise MediaFetchError(f"larger than {max_bytes} bytes")
            return bytes(data), response.headers.get("content-type", "")
    except httpx.HTTPError as exc:
        raise MediaFetchError(type(exc).__name__) from exc


async def fetch_measured(url: str, max_bytes: int) -> dict[str, Any]:
    """Fetch a media URL and measure it; MediaFetchError when either fails."""
    data, content_type = await fetch_media(url, max_bytes)
    found = measure(data, content_type)
    if found is None:
        raise MediaFetchError("not a photo or a video")
    return found


def measure(data: bytes, content_type: str = "") -> dict[str, Any] | None:
    """What a file really is: ``{"type", "mimeType", "size", "width", "height"}`` (+ ``duration``)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            mime = Image.MIME.get(image.format or "", content_type or "application/octet-stream")
            return {
                "type": "image",
                "mimeType": mime,
                "size": len(data),
                "width": image.width,
                "height": image.height,
            }
    except (UnidentifiedImageError, OSError, ValueError):
        pass
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            stream = container.streams.video[0]
            duration = container.duration / 1_000_000 if container.duration else 0.0
            quicktime = data[8:12] == b"qt  " or content_type == "video/quicktime"
            return {
                "type": "video",
                "mimeType": "video/quicktime" if quicktime else "video/mp4",
                "size": len(data),
                "width": stream.codec_context.width,
                "height": stream.codec_context.height,
                "duration": round(duration, 3),
            }
    except (av.FFmpegError, IndexError, ValueError, OSError):
        return None


# ----- containers ----------------------------------------------------------------------------


@dataclass
class Container:
    """A media container: created, processed over status reads, published once."""

    id: str
    account: str
    media_type: str
    text: str
    created_at: float
    media: list[dict[str, Any]] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    extras: dict[str, str] = field(default_factory=dict)
    polls_left: int = 0
    failure: str | None = None  # the error detail it ends in, once processed
    fault: str | None = None  # a post-commit fault played when it is published
    published_id: str | None = None
    received: bytearray | None = None  # the bytes of a resumable upload still arriving
    uploaded: int = 0  # bytes a resumable upload has received so far
    interrupt: bool = False  # cut the first upload after half of its bytes

    def status(self, now: float, *, read: bool = False) -> str:
        """The container's state; a status read (`read`) moves processing along."""
        if self.published_id is not None:
            return "PUBLISHED"
        if now - self.created_at > CONTAINER_TTL:
            return "EXPIRED"
        if self.received is not None:  # waiting for its bytes
            return "IN_PROGRESS"
        if self.polls_left > 0:
            if read:
                self.polls_left -= 1
            return "IN_PROGRESS"
        return "ERROR" if self.failure else "FINISHED"


class GraphFake(Fake):
    """Shared behaviour of the Meta fakes: ids, tokens, errors, faults, quotas, OAuth."""

    title: ClassVar[str]
    rate_code: ClassVar[int] = 4
    rate_message: ClassVar[str] = "Application request limit reached"
    usage_type: ClassVar[str] = "pages"
    redirect_fragment: ClassVar[str] = ""  # Instagram appends "#_" to its redirect

    def __init__(self, world: World, **options: Any) -> None:
        super().__init__(world)
        self.last_id = 17_840_000_000_000_000 + secrets.randbelow(10**12)
        self.containers: dict[str, Container] = {}
        self.publishes: dict[tuple[str, str], list[float]] = {}  # (account, kind) -> publish times
        self.codes: dict[str, tuple[str, str, str, float]] = {}  # code -> account, client, redirect, expiry

    def next_id(self) -> str:
        self.last_id += 1 + secrets.randbelow(50)
        return str(self.last_id)

    def forget(self, account: str | None = None) -> None:
        if account is None:
            self.containers.clear()
            self.publishes.clear()
            return
        for container_id in [k for k, c in self.containers.items() if c.account == account]:
            del self.containers[container_id]
        for used in [k for k in self.publishes if k[0] == account]:
            del self.publishes[used]

    # ----- answers ------------------------------------------------------------------------

    def usage_headers(self, minutes: int = 0, percent: int = 10) -> dict[str, str]:
        entry = {
            "type": self.usage_type,
            "call_count": percent,
            "total_cputime": percent // 2,
            "total_time": percent // 2,
            "estimated_time_to_regain_access": minutes,
        }
        return {"X-Business-Use-Case-Usage": json.dumps({self.next_id(): [entry]})}

    def fault_response(self, fault: str) -> Response:
        if fault == "auth-expired":
            return graph_error(400, 190, EXPIRED_TOKEN, subcode=463)
        if fault == "invalid-content":
            return graph_error(
                400,
                100,
                "Invalid parameter",
                user_title="Content not allowed",
                user_msg="The post contains content that is not allowed.",
            )
        if fault == "rate-limited":
            minutes = int(self.world.hold_seconds // 60)
            headers = self.usage_headers(minutes=minutes, percent=100)
            return graph_error(400, self.rate_code, self.rate_message, transient=True, headers=headers)
        message = "An unexpected error has occurred. Please retry your request later."
        return graph_error(500, 2, message, transient=True)

    def account(self, request: Request, params: Mapping[str, Any]) -> str | JSONResponse:
        """The account the request's token acts for, or the Graph error."""
        account = account_of(token_in(request, params))
        return account if account is not None else invalid_token()

    @staticmethod
    def version_ok(request: Request) -> bool:
        return bool(VERSION_RE.match(request.path_params.get("version", "")))

    # ----- publishing quotas (rolling day) --------------------------------------------------

    def used(self, account: str, kind: str) -> int:
        now = self.world.clock()
        times = [t for t in self.publishes.get((account, kind), []) if now - t < DAY]
        self.publishes[(account, kind)] = times
        return len(times)

    def count_publish(self, account: str, kind: str) -> None:
        self.publishes.setdefault((account, kind), []).append(self.world.clock())

    # ----- containers -----------------------------------------------------------------------

    def container_of(self, account: str, container_id: str | None) -> Container | None:
        found = self.containers.get(container_id or "")
        return found if found is not None and found.account == account else None

    def new_container(self, account: str, media_type: str, text: str, **values: Any) -> Container:
        container = Container(self.next_id(), account, media_type, text, self.world.clock(), **values)
        self.containers[container.id] = container
        return container

    @staticmethod
    def processing(media_fault: str | None, video: bool) -> int:
        if media_fault == "media-slow":
            return SLOW_POLLS
        return PROCESSING_POLLS if video else 0

    # ----- OAuth --------------------------------------------------------------------------

    async def authorize(self, request: Request) -> Response:
        """The consent page, approved at once: redirect back with a code (and the state).

        With ``sandbox_deny`` the person declines: back with ``error=access_denied`` as Meta sends it.
        """
        q = request.query_params
        redirect, client = q.get("redirect_uri"), q.get("client_id")
        if not redirect or not client or q.get("response_type", "code") != "code":
            return JSONResponse({"error": "invalid_request"}, 400)
        account = q.get("sandbox_account") or str(secrets.randbelow(9 * 10**16) + 10**16)
        if not (account.isascii() and account.isdigit()):
            return JSONResponse({"error": "invalid_request"}, 400)
        state = {"state": q["state"]} if q.get("state") else {}
        if q.get("sandbox_deny"):
            query: dict[str, str] = {
                "error": "access_denied",
                "error_reason": "user_denied",
                "error_description": "The user denied your request.",
                **state,
            }
        else:
            code = secrets.token_urlsafe(24)
            self.codes[code] = (account, client, redirect, self.world.clock() + CODE_TTL)
            query = {"code": code, **state}
        sep = "&" if "?" in redirect else "?"
        return RedirectResponse(f"{redirect}{sep}{urlencode(query)}{self.redirect_fragment}", status_code=302)

    def redeem(self, params: Mapping[str, Any]) -> str | None:
        """The account an authorization code was issued for (each code works once)."""
        code = text_param(params, "code") or ""
        issued = self.codes.pop(code.removesuffix("#_"), None)
        if issued is None or not text_param(params, "client_secret"):
            return None
        account, client, redirect, expiry = issued
        if (
            expiry < self.world.clock()
            or client != params.get("client_id")
            or redirect != params.get("redirect_uri")
        ):
            return None
        return account

    def long_lived(self, account: str) -> JSONResponse:
        return JSONResponse(
            {"access_token": new_token(account), "token_type": "bearer", "expires_in": LONG_LIVED_SECONDS}
        )
