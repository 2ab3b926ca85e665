"""Fake of the Mastodon REST API subset a publishing service uses.

Tokens are accepted statelessly: ``Bearer sandbox.<digits>.<anything>``
authenticates account ``<digits>`` (sandbox accounts are made that way).

Media (``POST /api/v2/media``, ``GET /api/v1/media/:id``) lives in `_mastodon_media`. The
instance sees a post's text only when the status is created, after its media was uploaded and
processed, so a post's ``media-processing-failed`` / ``media-slow`` marker acts then: the
status is refused as not ready (422) and its media fails, or is processed again for the world's
`slow_seconds`. A media fault queued through the control API is taken by the account's next
upload instead.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from postpost.simulator._mastodon_media import PROCESSING_ERROR, MediaStore, Refused, media_configuration
from postpost.simulator._mastodon_oauth import InstanceOAuth
from postpost.simulator.fake import Fake
from postpost.simulator.faults import MEDIA, media_fault
from postpost.simulator.world import World, iso_timestamp

URL_LENGTH = 23
RATE_LIMIT = 300
RATE_WINDOW = 300
VISIBILITIES = frozenset({"public", "unlisted", "private", "direct"})
IDEMPOTENCY_TTL_SECONDS = 3600.0


def instance_configuration(max_characters: int) -> dict[str, Any]:
    """`configuration` of the instance endpoints, for a given status length."""
    return {
        "statuses": {
            "max_characters": max_characters,
            "max_media_attachments": 4,
            "characters_reserved_per_url": URL_LENGTH,
        },
        "media_attachments": media_configuration(),
    }


_URL_RE = re.compile(r"https?://[^\s<>\"]*[^\s<>\".,;:!?'()\[\]]", re.IGNORECASE)
_REMOTE_MENTION_RE = re.compile(r"(?<![/\w])@\w+(@[\w.-]*\w)")

_INVALID_TOKEN = {"error": "The access token is invalid"}
_NOT_FOUND = {"error": "Record not found"}


def status_length(text: str) -> int:
    """Count characters the way Mastodon does: code points, each URL as 23, ``@u@domain`` as ``@u``."""
    total = len(text)
    if "://" in text:
        for m in _URL_RE.finditer(text):
            total += URL_LENGTH - len(m.group(0))
    if "@" in text:
        for m in _REMOTE_MENTION_RE.finditer(text):
            total -= len(m.group(1))
    return total


def render_content(text: str) -> str:
    """Render plain text as Mastodon-style HTML paragraphs."""
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join(f"<p>{html.escape(p, quote=False).replace(chr(10), '<br />')}</p>" for p in paragraphs)


def bearer_account(request: Request) -> str | None:
    """Return the account id of a valid ``sandbox.<id>.<x>`` bearer token, else None."""
    auth = request.headers.get("authorization")
    if not auth:
        return None
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer":
        return None
    parts = token.strip().split(".", 2)
    if len(parts) != 3 or parts[0] != "sandbox" or not (parts[1].isascii() and parts[1].isdigit()):
        return None
    return parts[1]


def base_url(request: Request) -> str:
    """Absolute URL of the instance root (the mount point of this sub-app)."""
    host = request.headers.get("host", "sandbox.mastodon")
    return f"{request.url.scheme}://{host}{request.scope.get('root_path', '')}"


async def read_params(request: Request) -> dict[str, Any] | None:
    """Merge query, JSON or form body parameters the way Rails does; None if the body is malformed."""
    params: dict[str, Any] = {}
    for k, v in request.query_params.multi_items():
        _put(params, k, v)
    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype == "multipart/form-data":
        try:
            form = await request.form()
        except Exception:  # python-multipart missing or malformed body
            return None
        for k, item in form.multi_items():
            if isinstance(item, str):
                _put(params, k, item)
        return params
    body = await request.body()
    if not body.strip():
        return params
    if ctype == "application/json" or ctype.endswith("+json"):
        try:
            data = json.loads(body)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        for k, v in data.items():
            params[k[:-2] if k.endswith("[]") else k] = v
        return params
    for k, v in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        _put(params, k, v)
    return params


def _put(params: dict[str, Any], key: str, value: str) -> None:
    if key.endswith("[]"):
        params.setdefault(key[:-2], []).append(value)
    else:
        params[key] = value


def _opt_str(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("1", "true", "t", "on", "yes"))


class MastodonFake(Fake):
    """A Mastodon instance: statuses, media, accounts and the instance's configuration.

    `processing_seconds`: how long a video or an animated GIF is processed.
    """

    name = "mastodon"

    def __init__(self, world: World, *, max_characters: int = 500, processing_seconds: float = 2.0) -> None:
        super().__init__(world)
        self.max_characters = max_characters
        self.statuses: dict[str, dict[str, Any]] = {}
        self.by_account: dict[str, list[str]] = {}
        self.idempotency: dict[tuple[str, str], tuple[str, float]] = {}
        self.last_id = 0
        self.media = MediaStore(world, processing_seconds, self.next_status_id)
        self.oauth = InstanceOAuth(world)

    def routes(self) -> list[BaseRoute]:
        """Routes relative to the instance base URL."""
        return [
            Route("/api/v1/statuses", self.create_status, methods=["POST"]),
            Route("/api/v1/statuses/{id}", self.get_status, methods=["GET"]),
            Route("/api/v2/media", self.upload_media, methods=["POST"]),
            Route("/api/v1/media/{id}", self.get_media, methods=["GET"]),
            Route("/api/v1/accounts/verify_credentials", self.verify_credentials, methods=["GET"]),
            Route("/api/v1/accounts/{id}/statuses", self.account_statuses, methods=["GET"]),
            Route("/api/v2/instance", self.instance_v2, methods=["GET"]),
            Route("/api/v1/instance", self.instance_v1, methods=["GET"]),
            Route("/api/v1/apps", self.oauth.register, methods=["POST"]),
            Route("/oauth/authorize", self.oauth.authorize, methods=["GET"]),
            Route("/oauth/token", self.oauth.token, methods=["POST"]),
        ]

    def forget(self, account: str | None = None) -> None:
        self.media.forget(account)
        if account is None:
            self.statuses.clear()
            self.by_account.clear()
            self.idempotency.clear()
            self.oauth.forget()
            return
        for status_id in self.by_account.pop(account, []):
            self.statuses.pop(status_id, None)
        for used in [k for k in self.idempotency if k[0] == account]:
            del self.idempotency[used]

    def next_status_id(self) -> str:
        """A snowflake-like id: ``(unix ms << 16) | seq``, strictly increasing."""
        self.last_id = max(int(self.world.clock() * 1000) << 16, self.last_id + 1)
        return str(self.last_id)

    def idempotent_status(self, account: str, key: str) -> dict[str, Any] | None:
        """The status created earlier with this Idempotency-Key, if still valid."""
        hit = self.idempotency.get((account, key))
        if hit is None:
            return None
        status_id, at = hit
        if self.world.clock() - at > IDEMPOTENCY_TTL_SECONDS:
            del self.idempotency[(account, key)]
            return None
        return self.statuses.get(status_id)

    # ----- helpers ---------------------------------------------------------

    def _rl_headers(self, *, remaining: int = RATE_LIMIT - 1, reset: float | None = None) -> dict[str, str]:
        now = self.world.clock()
        if reset is None:
            reset = (int(now) // RATE_WINDOW + 1) * RATE_WINDOW
        return {
            "X-RateLimit-Limit": str(RATE_LIMIT),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": iso_timestamp(reset),
        }

    def _account_json(self, base: str, account_id: str) -> dict[str, Any]:
        username = f"user{account_id}"
        avatar = f"{base}/avatars/original/missing.png"
        return {
            "id": account_id,
            "username": username,
            "acct": username,
            "display_name": f"Sandbox user {account_id}",
            "locked": False,
            "bot": False,
            "created_at": "2024-01-01T00:00:00.000Z",
            "note": "",
            "url": f"{base}/@{username}",
            "avatar": avatar,
            "avatar_static": avatar,
            "followers_count": 0,
            "following_count": 0,
            "statuses_count": len(self.by_account.get(account_id, ())),
        }

    def fault_response(self, fault: str) -> Response:
        if fault == "auth-expired":
            return JSONResponse(_INVALID_TOKEN, 401)
        if fault == "invalid-content":
            body = {"error": "Validation failed: Text contains disallowed content"}
            return JSONResponse(body, 422, headers=self._rl_headers())
        if fault == "rate-limited":
            hold = self.world.hold_seconds
            headers = self._rl_headers(remaining=0, reset=self.world.clock() + hold)
            headers["Retry-After"] = str(max(1, round(hold)))
            return JSONResponse({"error": "Too many requests"}, 429, headers=headers)
        if fault == "server-error":
            return JSONResponse({"error": "Service Unavailable"}, 503)
        return JSONResponse({"error": "Internal Server Error"}, 500)  # server-error-after-commit

    # ----- handlers --------------------------------------------------------

    async def create_status(self, request: Request) -> Response:
        """``POST /api/v1/statuses``."""
        account = bearer_account(request)
        if account is None:
            return JSONResponse(_INVALID_TOKEN, 401)
        params = await read_params(request)
        if params is None:
            return JSONResponse({"error": "Invalid request body"}, 400, headers=self._rl_headers())
        key = request.headers.get("idempotency-key") or None
        raw_text = params.get("status")
        text = "" if raw_text is None else str(raw_text)
        fault = self.world.fault_for("mastodon", account, text, key if key is not None else "text:" + text)
        if self.rejects(fault):
            assert fault is not None
            return self.fault_response(fault)
        if key is not None:
            existing = self.idempotent_status(account, key)
            if existing is not None:
                return await self.finish(fault, JSONResponse(existing, headers=self._rl_headers()))

        headers = self._rl_headers()
        reply_to = _opt_str(params.get("in_reply_to_id"))
        parent = self.statuses.get(reply_to) if reply_to is not None else None
        if reply_to is not None and parent is None:
            return JSONResponse(_NOT_FOUND, 404, headers=headers)
        raw_media = params.get("media_ids") or []
        media_ids = [str(m) for m in (raw_media if isinstance(raw_media, list) else [raw_media])]
        marker = fault if fault in MEDIA else media_fault(text, self.name)
        try:
            attachments = self.media.for_status(account, media_ids, marker)
        except Refused as refused:
            return JSONResponse({"error": refused.error}, refused.status, headers=headers)
        spoiler = str(params.get("spoiler_text") or "")
        if not text.strip() and not media_ids:
            return JSONResponse({"error": "Validation failed: Text can't be blank"}, 422, headers=headers)
        limit = self.max_characters
        if status_length(text) + status_length(spoiler) > limit:
            body = {"error": f"Validation failed: Text character limit of {limit} exceeded"}
            return JSONResponse(body, 422, headers=headers)
        visibility = str(params.get("visibility") or "public")
        if visibility not in VISIBILITIES:
            return JSONResponse({"error": f"'{visibility}' is not a valid visibility"}, 422, headers=headers)

        base = base_url(request)
        sid = self.next_status_id()
        username = f"user{account}"
        status: dict[str, Any] = {
            "id": sid,
            "created_at": iso_timestamp(self.world.clock()),
            "in_reply_to_id": reply_to,
            "in_reply_to_account_id": parent["account"]["id"] if parent is not None else None,
            "sensitive": bool(spoiler) or _truthy(params.get("sensitive")),
            "spoiler_text": spoiler,
            "visibility": visibility,
            "language": _opt_str(params.get("language")),
            "uri": f"{base}/users/{username}/statuses/{sid}",
            "url": f"{base}/@{username}/{sid}",
            "replies_count": 0,
            "reblogs_count": 0,
            "favourites_count": 0,
            "edited_at": None,
            "content": render_content(text),
            "reblog": None,
            "account": self._account_json(base, account),
            "media_attachments": [a.as_json(base, self.world.clock()) for a in attachments],
            "mentions": [],
            "tags": [],
            "emojis": [],
            "card": None,
            "poll": None,
        }
        self.statuses[sid] = status
        self.by_account.setdefault(account, []).append(sid)
        for attachment in attachments:
            attachment.status_id = sid
        if key is not None:
            self.idempotency[(account, key)] = (sid, self.world.clock())
        media = [a.measured.listing() for a in attachments]
        self.world.accept("mastodon", account, sid, text, reply_to, media)
        return await self.finish(fault, JSONResponse(status, headers=headers))

    async def upload_media(self, request: Request) -> Response:
        """``POST /api/v2/media`` (multipart ``file``, ``description``): 200 processed, 202 processing."""
        account = bearer_account(request)
        if account is None:
            return JSONResponse(_INVALID_TOKEN, 401)
        headers = self._rl_headers()
        try:
            form = await request.form()
        except Exception:  # python-multipart refuses a malformed body
            return JSONResponse({"error": "Invalid request body"}, 400, headers=headers)
        try:
            item = await self.media.upload(
                account, form.get("file"), form.get("description"), self._queued_media_fault(account)
            )
        except Refused as refused:
            return JSONResponse({"error": refused.error}, refused.status, headers=headers)
        finally:
            await form.close()
        now = self.world.clock()
        code = 200 if item.state(now) == "processed" else 202
        return JSONResponse(item.as_json(base_url(request), now), code, headers=headers)

    async def get_media(self, request: Request) -> Response:
        """``GET /api/v1/media/:id``: 206 while processing, 200 when done, 422 when processing failed."""
        account = bearer_account(request)
        if account is None:
            return JSONResponse(_INVALID_TOKEN, 401)
        headers = self._rl_headers()
        item = self.media.unattached(account, request.path_params["id"])
        if item is None:
            return JSONResponse(_NOT_FOUND, 404, headers=headers)
        now = self.world.clock()
        state = item.state(now)
        if state == "failed":
            return JSONResponse({"error": PROCESSING_ERROR}, 422, headers=headers)
        return JSONResponse(
            item.as_json(base_url(request), now), 206 if state == "processing" else 200, headers=headers
        )

    def _queued_media_fault(self, account: str) -> str | None:
        """A processing fault at the head of the account's control queue, taken by this upload."""
        for queue in self.world.faults.pending():
            if (queue["platform"], queue["account"]) == (self.name, account):
                faults = queue["faults"]
                if (
                    isinstance(faults, list)
                    and faults
                    and faults[0] in ("media-slow", "media-processing-failed")
                ):
                    return self.world.faults.pop(self.name, account)
        return None

    async def get_status(self, request: Request) -> Response:
        """``GET /api/v1/statuses/:id`` (public; a bad token still yields 401)."""
        headers = None
        if "authorization" in request.headers:
            if bearer_account(request) is None:
                return JSONResponse(_INVALID_TOKEN, 401)
            headers = self._rl_headers()
        status = self.statuses.get(request.path_params["id"])
        if status is None:
            return JSONResponse(_NOT_FOUND, 404, headers=headers)
        return JSONResponse(status, headers=headers)

    async def account_statuses(self, request: Request) -> Response:
        """``GET /api/v1/accounts/:id/statuses`` newest first; ``limit``, ``max_id``, ``since_id``."""
        headers = None
        if "authorization" in request.headers:
            if bearer_account(request) is None:
                return JSONResponse(_INVALID_TOKEN, 401)
            headers = self._rl_headers()
        account_id = request.path_params["id"]
        if not (account_id.isascii() and account_id.isdigit()):
            return JSONResponse(_NOT_FOUND, 404, headers=headers)
        q = request.query_params
        try:
            limit = max(1, min(40, int(q.get("limit", "20"))))
            max_id = int(q["max_id"]) if q.get("max_id") else None
            since_id = int(q["since_id"]) if q.get("since_id") else None
        except ValueError:
            return JSONResponse({"error": "Invalid pagination parameter"}, 400, headers=headers)
        out: list[dict[str, Any]] = []
        for sid in reversed(self.by_account.get(account_id, [])):
            n = int(sid)
            if max_id is not None and n >= max_id:
                continue
            if since_id is not None and n <= since_id:
                break
            out.append(self.statuses[sid])
            if len(out) >= limit:
                break
        return JSONResponse(out, headers=headers)

    async def verify_credentials(self, request: Request) -> Response:
        """``GET /api/v1/accounts/verify_credentials``."""
        account = bearer_account(request)
        if account is None:
            return JSONResponse(_INVALID_TOKEN, 401)
        return JSONResponse(self._account_json(base_url(request), account), headers=self._rl_headers())

    async def instance_v2(self, request: Request) -> Response:
        """``GET /api/v2/instance``."""
        return JSONResponse(
            {
                "domain": "sandbox.mastodon",
                "title": "Sandbox",
                "version": "4.3.0",
                "configuration": instance_configuration(self.max_characters),
            }
        )

    async def instance_v1(self, request: Request) -> Response:
        """``GET /api/v1/instance`` (legacy shape)."""
        return JSONResponse(
            {
                "uri": "sandbox.mastodon",
                "title": "Sandbox",
                "version": "4.3.0",
                "max_toot_chars": self.max_characters,
                "configuration": instance_configuration(self.max_characters),
            }
        )


FAKE = MastodonFake
