"""Fake of the X API v2 subset a publishing service uses, with X's OAuth 2.0 endpoints.

Tokens and the OAuth endpoints are in `_twitter_oauth`, media uploads in `_twitter_media`,
bookmarks (and the media files bookmarked tweets point at) in `_twitter_bookmarks`.
Answers follow X: RFC 7807 problem bodies, ``x-rate-limit-*`` headers on every authenticated
answer (POST /2/tweets is held to 100 per 15 minutes per user and carries the app's 24-hour
budget too), the 403 on duplicate text, tweet text returned with links wrapped as t.co and HTML
entities escaped. Media faults (``media-processing-failed``, ``media-slow``,
``upload-interrupted``) cannot come from post text here, since X uploads media before the text is
sent: they come from the control fault queue and are taken by the next upload of that account.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import anyio
import regex
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from postpost.simulator import _twitter_media as media
from postpost.simulator._twitter_bookmarks import Author, BookmarkRoutes, BookmarkStore, Stored
from postpost.simulator._twitter_oauth import OAuthServer
from postpost.simulator.fake import Fake
from postpost.simulator.faults import MEDIA
from postpost.simulator.world import World, iso_timestamp

TWEET_LIMIT = 280
URL_WEIGHT = 23
WINDOW = 900.0
DAY = 86_400.0
DUPLICATE_WINDOW = DAY
ALT_TEXT_MAX = 1000
TWITTER_EPOCH_MS = 1_288_834_974_657
# requests per 15 minutes per user, by endpoint family
LIMITS = {"tweets": 100, "timeline": 900, "me": 75, "media": 500, "bookmarks": 180, "bookmarks-write": 50}
TWEET_FIELDS = frozenset(
    {"created_at", "referenced_tweets", "attachments", "author_id", "conversation_id", "in_reply_to_user_id"}
)
PROBLEMS = "https://api.twitter.com/2/problems/"
DUPLICATE = "You are not allowed to create a Tweet with duplicate content."
INVALID_PARAMS = "One or more parameters to your request was invalid."

_URL = re.compile(r"https?://[^\s<>\"]*[^\s<>\".,;:!?'()\[\]]", re.IGNORECASE)
_GRAPHEME = regex.compile(r"\X")
_EMOJI = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}]")
_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z$")


def weighted_length(text: str) -> int:
    """X's weighted length: NFC text, URLs 23, emoji 2, code points outside X's light ranges 2."""
    text = unicodedata.normalize("NFC", text)
    total, position = 0, 0
    for url in _URL.finditer(text):
        total += _plain_weight(text[position : url.start()]) + URL_WEIGHT
        position = url.end()
    return total + _plain_weight(text[position:])


def _plain_weight(text: str) -> int:
    if text.isascii():
        return len(text)
    total = 0
    for cluster in _GRAPHEME.findall(text):
        if _EMOJI.search(cluster):
            total += 2
        else:
            total += sum(1 if _light(ord(c)) else 2 for c in cluster)
    return total


def _light(point: int) -> bool:
    return point <= 4351 or 8192 <= point <= 8205 or 8208 <= point <= 8223 or 8242 <= point <= 8247


def tco(url: str) -> str:
    """The t.co link X shows for `url` (stable per URL)."""
    digest = base64.b32encode(hashlib.sha256(url.encode()).digest()).decode().lower()
    return f"https://t.co/{digest[:10]}"


def problem(status: int, title: str, detail: str, kind: str = "about:blank", **extra: Any) -> dict[str, Any]:
    """An RFC 7807 problem body as X writes it."""
    return {"title": title, "detail": detail, "type": kind, "status": status, **extra}


def invalid_request(message: str, parameter: str | None = None, value: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message}
    if parameter is not None:
        error["parameters"] = {parameter: [str(value)]}
    return problem(400, "Invalid Request", INVALID_PARAMS, PROBLEMS + "invalid-request", errors=[error])


def username_for(account: str) -> str:
    """The screen name of a sandbox user (15 characters at most, as on X)."""
    return f"sandbox{account[-8:]}"


@dataclass
class Tweet:
    id: str
    account: str
    text: str
    created: float
    reply_to: str | None
    media_keys: list[str]

    def render(self, fields: frozenset[str]) -> dict[str, Any]:
        text = html.escape(_URL.sub(lambda m: tco(m.group()), self.text), quote=False)
        if self.media_keys:
            text = f"{text} {tco('media:' + self.id)}".strip()
        out: dict[str, Any] = {"id": self.id, "text": text, "edit_history_tweet_ids": [self.id]}
        if "created_at" in fields:
            out["created_at"] = iso_timestamp(self.created)
        if "author_id" in fields:
            out["author_id"] = self.account
        if "referenced_tweets" in fields and self.reply_to is not None:
            out["referenced_tweets"] = [{"type": "replied_to", "id": self.reply_to}]
        if "attachments" in fields and self.media_keys:
            out["attachments"] = {"media_keys": list(self.media_keys)}
        return out


@dataclass
class Budget:
    limit: int
    reset: float
    used: int = 0


@dataclass
class Caller:
    """The authenticated user of a request and its rate-limit headers."""

    account: str
    headers: dict[str, str] = field(default_factory=dict)


class TwitterFake(Fake):
    """X: tweets, user timelines, media upload (one-shot and chunked), OAuth 2.0 with PKCE."""

    name = "twitter"

    def __init__(
        self,
        world: World,
        *,
        processing_seconds: float = 1.0,
        app_daily_limit: int = 10_000,
    ) -> None:
        super().__init__(world)
        self.processing_seconds = processing_seconds
        self.app_daily_limit = app_daily_limit
        self.tweets: dict[str, Tweet] = {}
        self.timelines: dict[str, list[str]] = {}
        self.media: dict[str, media.MediaItem] = {}
        self.oauth = OAuthServer(world)
        self.budgets: dict[tuple[str, str], Budget] = {}
        self.last_id = 0
        self.bookmarks = BookmarkStore(world, self.next_id, self._bookmarkable)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/2/tweets", self.create_tweet, methods=["POST"]),
            Route("/2/users/me", self.me, methods=["GET"]),
            Route("/2/users/{id}/tweets", self.user_tweets, methods=["GET"]),
            Route("/2/media/upload", self.upload, methods=["POST"]),
            Route("/2/media/upload", self.upload_status, methods=["GET"]),
            Route("/2/media/upload/initialize", self.initialize, methods=["POST"]),
            Route("/2/media/upload/{id}/append", self.append, methods=["POST"]),
            Route("/2/media/upload/{id}/finalize", self.finalize, methods=["POST"]),
            Route("/2/media/metadata", self.metadata, methods=["POST"]),
            Route("/i/oauth2/authorize", self.oauth.authorize, methods=["GET"]),
            Route("/2/oauth2/token", self.oauth.token, methods=["POST"]),
            *BookmarkRoutes(self.bookmarks, self._caller, self._limited, self._read_fault).routes(),
        ]

    def forget(self, account: str | None = None) -> None:
        if account is None:
            for store in (self.tweets, self.timelines, self.media, self.budgets):
                store.clear()
            self.oauth.forget(None)
            self.bookmarks.forget(None)
            return
        for tweet_id in self.timelines.pop(account, []):
            self.tweets.pop(tweet_id, None)
        for media_id in [k for k, v in self.media.items() if v.account == account]:
            del self.media[media_id]
        for key in [k for k in self.budgets if k[0] == account]:
            del self.budgets[key]
        self.oauth.forget(account)
        self.bookmarks.forget(account)

    def next_id(self) -> str:
        """A snowflake: milliseconds since X's epoch above 22 bits of sequence, strictly increasing."""
        ms = int(self.world.clock() * 1000) - TWITTER_EPOCH_MS
        self.last_id = max(ms << 22, self.last_id + 1)
        return str(self.last_id)

    # ----- faults and limits --------------------------------------------------------------

    def fault_response(self, fault: str) -> Response:
        if fault == "auth-expired":
            return JSONResponse(problem(401, "Unauthorized", "Unauthorized"), 401)
        if fault == "invalid-content":
            body = invalid_request("The Tweet text contains content that is not allowed.", "text")
            return JSONResponse(body, 400)
        if fault == "rate-limited":
            reset = int(self.world.clock() + self.world.hold_seconds + 0.999)
            headers = {"x-rate-limit-limit": str(LIMITS["tweets"]), "x-rate-limit-remaining": "0"}
            headers["x-rate-limit-reset"] = str(reset)
            return JSONResponse(problem(429, "Too Many Requests", "Too Many Requests"), 429, headers=headers)
        if fault == "server-error":
            return JSONResponse(problem(503, "Service Unavailable", "Service Unavailable"), 503)
        return JSONResponse(problem(500, "Internal Server Error", "Internal Server Error"), 500)

    def _spend(self, key: tuple[str, str], limit: int, window: float) -> tuple[Budget, bool]:
        now = self.world.clock()
        budget = self.budgets.get(key)
        if budget is None or budget.reset <= now:
            budget = self.budgets[key] = Budget(limit, int(now + window))
        allowed = budget.used < budget.limit
        budget.used += allowed
        return budget, allowed

    def _limited(self, caller: Caller, family: str) -> Response | None:
        """Count one request of `family`; the 429 when the user's window is used up."""
        budget, allowed = self._spend((caller.account, family), LIMITS[family], WINDOW)
        caller.headers |= {
            "x-rate-limit-limit": str(budget.limit),
            "x-rate-limit-remaining": str(budget.limit - budget.used),
            "x-rate-limit-reset": str(int(budget.reset)),
        }
        if family == "tweets":
            daily, day_ok = self._spend(("", "app-24h"), self.app_daily_limit, DAY)
            caller.headers |= {
                "x-app-limit-24hour-limit": str(daily.limit),
                "x-app-limit-24hour-remaining": str(daily.limit - daily.used),
                "x-app-limit-24hour-reset": str(int(daily.reset)),
            }
            allowed = allowed and day_ok
        if allowed:
            return None
        body = problem(429, "Too Many Requests", "Too Many Requests", errors=[{"code": 88}])
        body["errors"][0]["message"] = "Rate limit exceeded"
        return JSONResponse(body, 429, headers=caller.headers)

    def _media_fault(self, account: str) -> str | None:
        """Take a media fault queued for `account` if it is next in its queue."""
        for queue in self.world.faults.pending():
            if queue["platform"] == self.name and queue["account"] == account:
                faults = queue["faults"]
                if isinstance(faults, list) and faults and faults[0] in MEDIA:
                    return self.world.faults.pop(self.name, account)
        return None

    async def _read_fault(self, account: str) -> Response | None:
        """A queued fault (not a media one) played on a read: X's error answer, or a delay first."""
        queue = next(
            (q for q in self.world.faults.pending() if (q["platform"], q["account"]) == (self.name, account)),
            None,
        )
        faults = queue["faults"] if queue is not None else None
        if not isinstance(faults, list) or not faults or faults[0] in MEDIA:
            return None
        fault = self.world.faults.pop(self.name, account)
        if fault in ("slow", "timeout-after-commit"):
            await anyio.sleep(self.world.slow_seconds if fault == "slow" else self.world.stall_seconds)
            return None
        return self.fault_response(str(fault))

    # ----- authentication -----------------------------------------------------------------

    def _caller(self, request: Request, *scopes: str) -> Caller | Response:
        """The user of a valid bearer token holding every one of `scopes`, or X's 401/403 answer."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        found = self.oauth.bearer(token.strip()) if scheme.lower() == "bearer" else None
        if found is None:
            return JSONResponse(problem(401, "Unauthorized", "Unauthorized"), 401)
        account, granted = found
        if not set(scopes) <= granted:
            detail = "You are not permitted to perform this action."
            return JSONResponse(problem(403, "Forbidden", detail), 403)
        return Caller(account)

    def _bookmarkable(self, tweet_id: str) -> Stored | None:
        """A tweet posted through this fake, as the bookmark endpoints show it."""
        tweet = self.tweets.get(tweet_id)
        if tweet is None:
            return None
        author = Author(tweet.account, username_for(tweet.account), f"Sandbox user {tweet.account}")
        kinds = {"3": "photo", "16": "animated_gif"}
        media = tuple((key, kinds.get(key.split("_")[0], "video")) for key in tweet.media_keys)
        return Stored(tweet.id, author, tweet.text, tweet.created, media=media)

    # ----- users and tweets ---------------------------------------------------------------

    async def me(self, request: Request) -> Response:
        """``GET /2/users/me``."""
        caller = self._caller(request, "users.read")
        if isinstance(caller, Response):
            return caller
        limited = self._limited(caller, "me")
        if limited is not None:
            return limited
        account = caller.account
        data = {"id": account, "name": f"Sandbox user {account}", "username": username_for(account)}
        return JSONResponse({"data": data}, headers=caller.headers)

    async def create_tweet(self, request: Request) -> Response:
        """``POST /2/tweets``: text, media ids and a reply target; 201 with the new tweet."""
        caller = self._caller(request, "tweet.write")
        if isinstance(caller, Response):
            return caller
        limited = self._limited(caller, "tweets")
        if limited is not None:
            return limited
        headers = caller.headers
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return JSONResponse(invalid_request("The request body is not valid JSON."), 400, headers=headers)
        text = body.get("text", "")
        reply = body.get("reply")
        reply_to = reply.get("in_reply_to_tweet_id") if isinstance(reply, dict) else None
        attempt_key = f"{reply_to}:{text}"
        fault = self.world.fault_for(
            self.name, caller.account, text if isinstance(text, str) else "", attempt_key
        )
        if self.rejects(fault):
            assert fault is not None
            return self.fault_response(fault)
        refused = self._check_tweet(caller.account, body, text, reply_to)
        if refused is not None:
            status = int(refused["status"])
            return JSONResponse(refused, status, headers=headers)
        items = [self.media[str(m)] for m in (body.get("media") or {}).get("media_ids", [])]
        tweet = Tweet(
            self.next_id(),
            caller.account,
            text,
            self.world.clock(),
            None if reply_to is None else str(reply_to),
            [item.key for item in items],
        )
        self.tweets[tweet.id] = tweet
        self.timelines.setdefault(caller.account, []).append(tweet.id)
        self.world.accept(
            self.name, caller.account, tweet.id, text, tweet.reply_to, [dict(i.info) for i in items]
        )
        data = tweet.render(frozenset())
        return await self.finish(fault, JSONResponse({"data": data}, 201, headers=headers))

    def _check_tweet(
        self, account: str, body: dict[str, Any], text: Any, reply_to: Any
    ) -> dict[str, Any] | None:
        """The problem body refusing this tweet, or None."""
        if not isinstance(text, str):
            return invalid_request("`text` must be a string.", "text", text)
        raw_media = body.get("media")
        ids = raw_media.get("media_ids") if isinstance(raw_media, dict) else None
        if raw_media is not None and not (isinstance(ids, list) and ids):
            return invalid_request("`media.media_ids` must be a non-empty list.", "media.media_ids", ids)
        ids = ids or []
        if not text.strip() and not ids:
            return invalid_request("Post text or media is required.", "text", text)
        if weighted_length(text) > TWEET_LIMIT:
            detail = (
                "Your Tweet text is too long. For more information on how X counts characters, "
                "visit https://docs.x.com/fundamentals/counting-characters."
            )
            return problem(400, "Invalid Request", detail, PROBLEMS + "invalid-request")
        items = [self.media.get(str(m)) for m in ids]
        found = [i for i in items if i is not None and i.account == account]
        reason = "Your media IDs are invalid." if len(found) != len(items) else media.check_attachable(found)
        if reason is not None:
            return invalid_request(reason, "media.media_ids", ids)
        if "reply" in body and reply_to is None:
            return invalid_request("`reply.in_reply_to_tweet_id` is required.", "reply", body["reply"])
        if reply_to is not None and str(reply_to) not in self.tweets:
            message = "The Tweet you are replying to has been deleted or is not visible to you."
            return invalid_request(message, "reply.in_reply_to_tweet_id", reply_to)
        if text.strip():
            since = self.world.clock() - DUPLICATE_WINDOW
            for tweet_id in reversed(self.timelines.get(account, [])):
                tweet = self.tweets[tweet_id]
                if tweet.created < since:
                    break
                if tweet.text.strip() == text.strip():
                    return problem(403, "Forbidden", DUPLICATE)
        return None

    async def user_tweets(self, request: Request) -> Response:
        """``GET /2/users/:id/tweets``: newest first, with time and id bounds and pagination."""
        caller = self._caller(request, "tweet.read")
        if isinstance(caller, Response):
            return caller
        limited = self._limited(caller, "timeline")
        if limited is not None:
            return limited
        headers = caller.headers
        q = request.query_params
        raw_max = q.get("max_results", "10")
        if not (raw_max.isdigit() and 5 <= int(raw_max) <= 100):
            message = f"The `max_results` query parameter value [{raw_max}] is not between 5 and 100"
            return JSONResponse(invalid_request(message, "max_results", raw_max), 400, headers=headers)
        bounds: dict[str, float] = {}
        for name in ("start_time", "end_time"):
            value = q.get(name)
            if value is None:
                continue
            if not _TIME.match(value):
                message = f"Invalid '{name}':'{value}'. '{name}' must be a valid RFC 3339 timestamp."
                return JSONResponse(invalid_request(message, name, value), 400, headers=headers)
            bounds[name] = _epoch(value)
        fields = frozenset(f for f in q.get("tweet.fields", "").split(",") if f)
        unknown = fields - TWEET_FIELDS - {"id", "text", "edit_history_tweet_ids"}
        if unknown:
            first = sorted(unknown)[0]
            message = f"The `tweet.fields` query parameter value [{first}] is not one of the allowed values"
            return JSONResponse(
                invalid_request(message, "tweet.fields", ",".join(sorted(unknown))), 400, headers=headers
            )
        token = q.get("pagination_token")
        if token is not None and not (token.isascii() and token.isdigit()):
            message = f"The `pagination_token` query parameter value [{token}] is not valid"
            return JSONResponse(invalid_request(message, "pagination_token", token), 400, headers=headers)
        found: list[Tweet] = []
        for tweet_id in reversed(self.timelines.get(request.path_params["id"], [])):
            tweet = self.tweets[tweet_id]
            if token is not None and int(tweet_id) > int(token):
                continue
            if "start_time" in bounds and tweet.created < bounds["start_time"]:
                break
            if "end_time" in bounds and tweet.created >= bounds["end_time"]:
                continue
            found.append(tweet)
            if len(found) > int(raw_max):
                break
        page = found[: int(raw_max)]
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta |= {"newest_id": page[0].id, "oldest_id": page[-1].id}
        if len(found) > len(page):
            meta["next_token"] = found[len(page)].id
        out: dict[str, Any] = {"meta": meta}
        if page:
            out["data"] = [t.render(fields) for t in page]
        return JSONResponse(out, headers=headers)

    # ----- media ----------------------------------------------------------------------------

    async def upload(self, request: Request) -> Response:
        """``POST /2/media/upload``: one-shot, or the ``command=INIT|APPEND|FINALIZE`` form."""
        caller = self._caller(request, "media.write")
        if isinstance(caller, Response):
            return caller
        limited = self._limited(caller, "media")
        if limited is not None:
            return limited
        form = await request.form()
        params: dict[str, Any] = {**request.query_params, **form}
        command = str(params.get("command") or "").upper()
        try:
            if command == "INIT":
                return self._initialize(caller, params)
            if command == "APPEND":
                return await self._append(caller, str(params.get("media_id") or ""), params)
            if command == "FINALIZE":
                return self._finalize(caller, str(params.get("media_id") or ""))
            if command:
                raise media.MediaError(400, f"Invalid command: {command}")
            return await self._one_shot(caller, params)
        except media.MediaError as exc:
            return self._media_refusal(exc, caller)

    async def _one_shot(self, caller: Caller, params: Mapping[str, Any]) -> Response:
        upload = params.get("media")
        if not isinstance(upload, UploadFile):
            raise media.MediaError(400, "The `media` field is required.")
        data = await upload.read()
        category = str(params.get("media_category") or "tweet_image")
        mime_type = str(params.get("media_type") or upload.content_type or "")
        if category != "tweet_image":
            raise media.MediaError(400, f"media_category {category} requires a chunked upload")
        media.check_new_upload(category, mime_type, len(data))
        item = self._new_item(caller.account, category, mime_type, len(data))
        if item.fault == "media-processing-failed":
            del self.media[item.id]
            raise media.MediaError(400, f"Invalid or Unsupported media, Reason: {media.UNSUPPORTED}")
        media.add_segment(item, 0, data)
        try:
            media.finalize(item, self.world.clock(), self.processing_seconds)
        except media.MediaError:
            del self.media[item.id]
            raise
        return JSONResponse({"data": item.upload_json(self.world.clock())}, headers=caller.headers)

    def _new_item(self, account: str, category: str, mime_type: str, total: int) -> media.MediaItem:
        item = media.MediaItem(self.next_id(), account, category, mime_type, total, self.world.clock())
        item.fault = self._media_fault(account)
        self.media[item.id] = item
        return item

    async def initialize(self, request: Request) -> Response:
        """``POST /2/media/upload/initialize`` (JSON body)."""
        caller = self._caller(request, "media.write")
        if isinstance(caller, Response):
            return caller
        limited = self._limited(caller, "media")
        if limited is not None:
            return limited
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return JSONResponse(
                invalid_request("The request body is not valid JSON."), 400, headers=caller.headers
            )
        try:
            return self._initialize(caller, body)
        except media.MediaError as exc:
            return self._media_refusal(exc, caller)

    def _initialize(self, caller: Caller, params: Mapping[str, Any]) -> Response:
        mime_type = str(params.get("media_type") or "")
        category = str(params.get("media_category") or "")
        total = params.get("total_bytes")
        total_bytes = -1
        if isinstance(total, int | str) and not isinstance(total, bool) and str(total).isdigit():
            total_bytes = int(total)
        if not category:
            category = "tweet_video" if mime_type.startswith("video/") else "tweet_image"
        media.check_new_upload(category, mime_type, total_bytes)
        item = self._new_item(caller.account, category, mime_type, total_bytes)
        data = {"id": item.id, "media_key": item.key, "expires_after_secs": media.EXPIRES_AFTER}
        return JSONResponse({"data": data}, headers=caller.headers)

    async def append(self, request: Request) -> Response:
        """``POST /2/media/upload/:id/append`` (multipart ``media`` and ``segment_index``)."""
        caller = self._caller(request, "media.write")
        if isinstance(caller, Response):
            return caller
        limited = self._limited(caller, "media")
        if limited is not None:
            return limited
        params = dict(await request.form())
        try:
            return await self._append(caller, request.path_params["id"], params)
        except media.MediaError as exc:
            return self._media_refusal(exc, caller)

    async def _append(self, caller: Caller, media_id: str, params: Mapping[str, Any]) -> Response:
        item = self._item(caller, media_id)
        raw_index = str(params.get("segment_index", ""))
        if not raw_index.isdigit():
            raise media.MediaError(400, "segment_index is required and must be an integer")
        upload = params.get("media")
        if isinstance(upload, UploadFile):
            data = await upload.read()
        elif isinstance(params.get("media_data"), str):
            try:
                data = base64.b64decode(params["media_data"], validate=True)
            except binascii.Error:
                raise media.MediaError(400, "media_data is not valid base64") from None
        else:
            raise media.MediaError(400, "The `media` field is required.")
        if item.fault == "upload-interrupted" and item.received + len(data) > item.total_bytes // 2:
            item.fault = None  # cut once, after half of the bytes
            return JSONResponse(problem(503, "Service Unavailable", "Service Unavailable"), 503)
        media.add_segment(item, int(raw_index), data)
        data_out = {"expires_at": int(item.created + media.EXPIRES_AFTER)}
        return JSONResponse({"data": data_out}, headers=caller.headers)

    async def finalize(self, request: Request) -> Response:
        """``POST /2/media/upload/:id/finalize``."""
        caller = self._caller(request, "media.write")
        if isinstance(caller, Response):
            return caller
        limited = self._limited(caller, "media")
        if limited is not None:
            return limited
        try:
            return self._finalize(caller, request.path_params["id"])
        except media.MediaError as exc:
            return self._media_refusal(exc, caller)

    def _finalize(self, caller: Caller, media_id: str) -> Response:
        item = self._item(caller, media_id)
        delay = self.processing_seconds
        if item.fault == "media-slow":
            delay = max(delay * 10, self.world.slow_seconds)
        media.finalize(item, self.world.clock(), delay)
        return JSONResponse({"data": item.upload_json(self.world.clock())}, headers=caller.headers)

    async def upload_status(self, request: Request) -> Response:
        """``GET /2/media/upload?command=STATUS&media_id=…``: processing state."""
        caller = self._caller(request, "media.write")
        if isinstance(caller, Response):
            return caller
        limited = self._limited(caller, "media")
        if limited is not None:
            return limited
        q = request.query_params
        try:
            if q.get("command", "").upper() != "STATUS":
                raise media.MediaError(400, "command must be STATUS")
            item = self._item(caller, q.get("media_id", ""))
        except media.MediaError as exc:
            return self._media_refusal(exc, caller)
        if item.state == "uploading":
            return self._media_refusal(media.MediaError(400, "The media has not been finalized."), caller)
        now = self.world.clock()
        media.poll(item, now)
        return JSONResponse({"data": item.upload_json(now)}, headers=caller.headers)

    async def metadata(self, request: Request) -> Response:
        """``POST /2/media/metadata``: alt text of an uploaded media."""
        caller = self._caller(request, "media.write")
        if isinstance(caller, Response):
            return caller
        limited = self._limited(caller, "media")
        if limited is not None:
            return limited
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        alt = body.get("metadata", {}).get("alt_text", {}) if isinstance(body, dict) else None
        text = alt.get("text") if isinstance(alt, dict) else None
        try:
            if not isinstance(text, str):
                raise media.MediaError(400, "metadata.alt_text.text is required")
            if len(text) > ALT_TEXT_MAX:
                raise media.MediaError(400, f"Alt text is longer than {ALT_TEXT_MAX} characters.")
            item = self._item(caller, str(body.get("id") if isinstance(body, dict) else ""))
        except media.MediaError as exc:
            return self._media_refusal(exc, caller)
        item.alt_text = text
        item.info["altText"] = text
        data = {"id": item.id, "associated_metadata": {"alt_text": {"text": text}}}
        return JSONResponse({"data": data}, headers=caller.headers)

    def _item(self, caller: Caller, media_id: str) -> media.MediaItem:
        item = self.media.get(media_id)
        if item is None or item.account != caller.account or item.expired(self.world.clock()):
            raise media.MediaError(400, f"Invalid media_id: {media_id or '(none)'}")
        return item

    @staticmethod
    def _media_refusal(exc: media.MediaError, caller: Caller) -> Response:
        return JSONResponse(invalid_request(exc.detail), exc.status, headers=caller.headers)


def _epoch(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


FAKE = TwitterFake
