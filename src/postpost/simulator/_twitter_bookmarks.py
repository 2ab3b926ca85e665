"""Bookmarks for the fake X: ``GET/POST /2/users/:id/bookmarks``, ``DELETE …/bookmarks/:tweet_id``,
and the media files the bookmarked tweets point at.

Every account starts with `SEEDED` bookmarks of plain English tweets by a few made-up authors,
chosen deterministically from the account id: some carry photos, some a video or an animated GIF,
some quote another tweet. Tweets the account posted (or seeded ones) can be bookmarked and
unbookmarked with X's own endpoints. The list is in bookmark order, newest first, and pages
with opaque ``pagination_token`` values bound to the account, as on X. Answers carry the
``x-rate-limit-*`` headers of the user's 15-minute window (180 lookups, 50 changes). A fault
queued for the account through the control API is played on the next lookup.

Expansions (``author_id``, ``attachments.media_keys``, ``referenced_tweets.id``,
``referenced_tweets.id.author_id``) fill ``includes``; ``tweet.fields``, ``user.fields`` and
``media.fields`` choose what the objects show. Media are served under ``/pbs/media/<key>.jpg``
and ``/video/<key>.mp4`` (generated pictures and a short H.264 clip).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import io
import json
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from postpost.simulator.world import World, iso_timestamp

SEEDED = 24
PICTURE_ROUTE = "x_fake_picture"
VIDEO_ROUTE = "x_fake_video"
DAY = 86_400.0
TWEET_FIELDS = frozenset(
    {
        "article", "attachments", "author_id", "card_uri", "context_annotations", "conversation_id",
        "created_at", "display_text_range", "edit_controls", "edit_history_tweet_ids", "entities", "geo",
        "id", "in_reply_to_user_id", "lang", "note_tweet", "possibly_sensitive", "public_metrics",
        "referenced_tweets", "reply_settings", "source", "text", "withheld",
    }
)  # fmt: skip
USER_FIELDS = frozenset(
    {"created_at", "description", "id", "location", "name", "pinned_tweet_id", "profile_image_url",
     "protected", "public_metrics", "url", "username", "verified", "verified_type"}
)  # fmt: skip
MEDIA_FIELDS = frozenset(
    {"alt_text", "duration_ms", "height", "media_key", "preview_image_url", "public_metrics", "type",
     "url", "variants", "width"}
)  # fmt: skip
EXPANSIONS = frozenset(
    {"attachments.media_keys", "attachments.poll_ids", "author_id", "edit_history_tweet_ids",
     "entities.mentions.username", "geo.place_id", "in_reply_to_user_id", "referenced_tweets.id",
     "referenced_tweets.id.author_id"}
)  # fmt: skip
AUTHORS = [
    ("2244994945", "xdevelopers", "Developers"),
    ("1478320512", "ada_codes", "Ada Lindqvist"),
    ("3390271804", "brewlab", "The Brew Lab"),
    ("9012384756", "orbitnotes", "Orbit Notes"),
    ("5567123409", "greenthumb", "Maya Green"),
    ("7781234560", "trailrunner", "Sam Okafor"),
    ("6642099871", "kitchenlines", "Kitchen Lines"),
    ("8834561207", "oldmaps", "Old Maps Daily"),
]
TEXTS = [
    "Machine learning models are only as good as the data you feed them. Clean your data first.",
    "A gentle introduction to neural networks: layers, weights and a lot of patience.",
    "Python tip: use dataclasses for simple records and keep your functions small.",
    "Why every team should write down how their database migrations are reviewed.",
    "The best coffee is the one you brew slowly on a quiet Sunday morning.",
    "Cold brew coffee tastes smoother because the beans never meet hot water.",
    "Tonight the space station passes overhead twice. Look west just after sunset.",
    "New telescope images show the spiral arms of a distant galaxy in great detail.",
    "Tomatoes love sunlight. Give them at least six hours a day and water them deeply.",
    "Planting garlic in autumn gives you a bigger harvest next summer.",
    "Trail running tip: shorten your stride on steep climbs and keep your cadence steady.",
    "Marathon training is mostly easy miles. Run slow to get fast.",
    "Salt & pepper are not the only seasonings: try smoked paprika on roasted vegetables.",
    "A simple bread recipe: flour, water, salt, yeast and time. Mostly time.",
    "This map from 1750 shows the river before the city grew around it.",
    "Old maps remind us how much the coastline has changed in three hundred years.",
    "Reading the documentation first saves hours of debugging later.",
    "Photography tip: the golden hour light makes every landscape look warmer.",
    "Travel light: one bag, two pairs of shoes and a good book.",
    "Learning a language is easier when you read stories you actually enjoy.",
    "Open source projects grow when maintainers answer questions kindly.",
    "Deep learning needs a lot of compute, but small models still solve most problems.",
    "Ten minutes of stretching after a run keeps your legs happy the next day.",
    "Fresh herbs on the windowsill: basil, mint and parsley grow well indoors.",
]


@dataclass(frozen=True)
class Author:
    id: str
    username: str
    name: str


@dataclass(frozen=True)
class Stored:
    """A tweet as the bookmark endpoints show it."""

    id: str
    author: Author
    text: str
    created: float
    metrics: dict[str, int] = field(default_factory=dict)
    media: tuple[tuple[str, str], ...] = ()  # (media key, type)
    quoted: str | None = None


@dataclass
class Entry:
    seq: int
    tweet_id: str


Lookup = Callable[[str], Stored | None]
Authorize = Callable[..., Any]
Limit = Callable[[Any, str], Response | None]
Fault = Callable[[str], Awaitable[Response | None]]


def _problem(status: int, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"title": title, "detail": detail, "type": "about:blank", "status": status, **extra}


def _invalid(message: str, parameter: str, value: str) -> JSONResponse:
    body = _problem(400, "Invalid Request", "One or more parameters to your request was invalid.")
    body["type"] = "https://api.twitter.com/2/problems/invalid-request"
    body["errors"] = [{"message": message, "parameters": {parameter: [value]}}]
    return JSONResponse(body, 400)


class BookmarkStore:
    """Every account's bookmarks (seeded on first use) and the seeded tweets they point at."""

    def __init__(self, world: World, next_id: Callable[[], str], posted: Lookup) -> None:
        self.world = world
        self.next_id = next_id
        self.posted = posted
        self.tweets: dict[str, Stored] = {}
        self.lists: dict[str, list[Entry]] = {}
        self.seq = 0

    def forget(self, account: str | None) -> None:
        if account is None:
            self.lists.clear()
            self.tweets.clear()
        else:
            self.lists.pop(account, None)

    def lookup(self, tweet_id: str) -> Stored | None:
        return self.tweets.get(tweet_id) or self.posted(tweet_id)

    def entries(self, account: str) -> list[Entry]:
        """The account's bookmarks, newest first."""
        if account not in self.lists:
            entries = [Entry(self._next_seq(), tweet_id) for tweet_id in self._seed(account)]
            self.lists[account] = entries[::-1]
        return self.lists[account]

    def add(self, account: str, tweet_id: str) -> None:
        entries = self.entries(account)
        if not any(e.tweet_id == tweet_id for e in entries):
            entries.insert(0, Entry(self._next_seq(), tweet_id))

    def remove(self, account: str, tweet_id: str) -> None:
        self.lists[account] = [e for e in self.entries(account) if e.tweet_id != tweet_id]

    def token(self, account: str, seq: int) -> str:
        mac = hmac.new(self.world.secret, f"{account}:{seq}".encode(), hashlib.sha256).hexdigest()
        return f"{mac[:12]}{seq:x}"

    def position(self, account: str, token: str) -> int | None:
        """The bookmark sequence a pagination token of `account` resumes at; None if not one."""
        try:
            seq = int(token[12:], 16)
        except ValueError:
            return None
        return seq if hmac.compare_digest(self.token(account, seq), token) else None

    def _next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def _seed(self, account: str) -> list[str]:
        """The account's first bookmarks, oldest first (deterministic per account)."""
        rng = random.Random(f"bookmarks:{account}")
        now = self.world.clock()
        ids: list[str] = []
        for index in range(SEEDED):
            author = Author(*AUTHORS[rng.randrange(len(AUTHORS))])
            kind = ("photo", "photo", "video", "animated_gif", None, None)[index % 6]
            media: tuple[tuple[str, str], ...] = ()
            if kind is not None:
                count = 1 + (kind == "photo" and rng.random() < 0.5)
                prefix = {"photo": "3", "video": "7", "animated_gif": "16"}[kind]
                media = tuple((f"{prefix}_{self.next_id()}", kind) for _ in range(count))
            quoted = None
            if index % 5 == 3:
                original = Author(*AUTHORS[rng.randrange(len(AUTHORS))])
                text = f"Worth reading: {TEXTS[rng.randrange(len(TEXTS))].lower()}"
                first = Stored(self.next_id(), original, text, now - rng.uniform(30, 90) * DAY)
                self.tweets[first.id] = first
                quoted = first.id
            tweet = Stored(
                self.next_id(),
                author,
                TEXTS[(index * 7 + rng.randrange(3)) % len(TEXTS)],
                now - rng.uniform(1, 30) * DAY,
                {
                    "retweet_count": rng.randrange(500),
                    "reply_count": rng.randrange(100),
                    "like_count": rng.randrange(5000),
                    "quote_count": rng.randrange(50),
                    "bookmark_count": rng.randrange(300),
                    "impression_count": rng.randrange(10**6),
                },
                media,
                quoted,
            )
            self.tweets[tweet.id] = tweet
            ids.append(tweet.id)
        return ids


class Renderer:
    """Tweets, users and media as one bookmarks answer shows them."""

    def __init__(self, store: BookmarkStore, query: dict[str, frozenset[str]], base_url: str) -> None:
        self.store = store
        self.fields = query["tweet.fields"]
        self.user_fields = query["user.fields"]
        self.media_fields = query["media.fields"]
        self.expansions = query["expansions"]
        self.base_url = base_url
        self.users: dict[str, dict[str, Any]] = {}
        self.media: dict[str, dict[str, Any]] = {}
        self.tweets: dict[str, dict[str, Any]] = {}

    def answer(self, tweets: list[Stored], next_token: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if tweets:
            out["data"] = [self.tweet(t, top=True) for t in tweets]
        includes = {"users": self.users, "media": self.media, "tweets": self.tweets}
        found = {name: list(items.values()) for name, items in includes.items() if items}
        if found:
            out["includes"] = found
        meta: dict[str, Any] = {"result_count": len(tweets)}
        if next_token is not None:
            meta["next_token"] = next_token
        out["meta"] = meta
        return out

    def tweet(self, tweet: Stored, *, top: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"id": tweet.id, "text": html.escape(tweet.text, quote=False)}
        out["edit_history_tweet_ids"] = [tweet.id]
        if "created_at" in self.fields:
            out["created_at"] = iso_timestamp(tweet.created)
        if "author_id" in self.fields or "author_id" in self.expansions:
            out["author_id"] = tweet.author.id
        if "public_metrics" in self.fields:
            out["public_metrics"] = dict(tweet.metrics) or _zero_metrics()
        if tweet.media and ("attachments" in self.fields or "attachments.media_keys" in self.expansions):
            out["attachments"] = {"media_keys": [key for key, _ in tweet.media]}
        if tweet.quoted and ("referenced_tweets" in self.fields or "referenced_tweets.id" in self.expansions):
            out["referenced_tweets"] = [{"type": "quoted", "id": tweet.quoted}]
        if not top:
            return out
        if "author_id" in self.expansions:
            self.users[tweet.author.id] = self.user(tweet.author)
        if "attachments.media_keys" in self.expansions:
            for key, kind in tweet.media:
                self.media[key] = self.medium(key, kind)
        if tweet.quoted and "referenced_tweets.id" in self.expansions:
            quoted = self.store.lookup(tweet.quoted)
            if quoted is not None:
                self.tweets[quoted.id] = self.tweet(quoted, top=False)
                if "referenced_tweets.id.author_id" in self.expansions:
                    self.users[quoted.author.id] = self.user(quoted.author)
        return out

    def user(self, author: Author) -> dict[str, Any]:
        out: dict[str, Any] = {"id": author.id, "name": author.name, "username": author.username}
        if "profile_image_url" in self.user_fields:
            out["profile_image_url"] = f"{self.base_url}/pbs/media/avatar_{author.id}.jpg"
        if "verified" in self.user_fields:
            out["verified"] = False
        return out

    def medium(self, key: str, kind: str) -> dict[str, Any]:
        out: dict[str, Any] = {"media_key": key, "type": kind}
        picture = f"{self.base_url}/pbs/media/{key}.jpg"
        if kind == "photo" and "url" in self.media_fields:
            out["url"] = picture
        if kind != "photo" and "preview_image_url" in self.media_fields:
            out["preview_image_url"] = picture
        if kind != "photo" and "variants" in self.media_fields:
            mp4 = {"content_type": "video/mp4", "url": f"{self.base_url}/video/{key}.mp4"}
            if kind == "video":
                out["variants"] = [
                    {"bit_rate": 256_000, **mp4, "url": mp4["url"] + "?tag=low"},
                    {"bit_rate": 832_000, **mp4},
                    {"content_type": "application/x-mpegURL", "url": f"{self.base_url}/video/{key}.m3u8"},
                ]
            else:
                out["variants"] = [{"bit_rate": 0, **mp4}]
        if kind == "video" and "duration_ms" in self.media_fields:
            out["duration_ms"] = 400
        if "width" in self.media_fields:
            out["width"] = 64
        if "height" in self.media_fields:
            out["height"] = 48
        return out


def _zero_metrics() -> dict[str, int]:
    return {"retweet_count": 0, "reply_count": 0, "like_count": 0, "quote_count": 0, "bookmark_count": 0}


class BookmarkRoutes:
    """The HTTP side. From the fake: `authorize(request, *scopes)`, `limit(caller, family)`, and
    `fault(account)`, a queued fault's answer (or delay) for a lookup."""

    def __init__(self, store: BookmarkStore, authorize: Authorize, limit: Limit, fault: Fault) -> None:
        self.store = store
        self.authorize = authorize
        self.limit = limit
        self.fault = fault

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/2/users/{id}/bookmarks", self.lookup, methods=["GET"]),
            Route("/2/users/{id}/bookmarks", self.bookmark, methods=["POST"]),
            Route("/2/users/{id}/bookmarks/{tweet_id}", self.unbookmark, methods=["DELETE"]),
            Route("/pbs/media/{name}", self.picture, methods=["GET"], name=PICTURE_ROUTE),
            Route("/video/{name}", self.video, methods=["GET"], name=VIDEO_ROUTE),
        ]

    def _caller(self, request: Request, family: str, *scopes: str) -> Any:
        caller = self.authorize(request, "tweet.read", "users.read", *scopes)
        if isinstance(caller, Response):
            return caller
        limited = self.limit(caller, family)
        if limited is not None:
            return limited
        if request.path_params["id"] != caller.account:
            detail = "You are not permitted to use OAuth2 on behalf of another user."
            return JSONResponse(_problem(403, "Forbidden", detail), 403, headers=caller.headers)
        return caller

    async def lookup(self, request: Request) -> Response:
        """``GET /2/users/:id/bookmarks``."""
        caller = self._caller(request, "bookmarks", "bookmark.read")
        if isinstance(caller, Response):
            return caller
        failed = await self.fault(caller.account)
        if failed is not None:
            return failed
        q = request.query_params
        raw_max = q.get("max_results", "100")
        if not (raw_max.isascii() and raw_max.isdigit() and 1 <= int(raw_max) <= 100):
            message = f"The `max_results` query parameter value [{raw_max}] is not between 1 and 100"
            return _with(caller, _invalid(message, "max_results", raw_max))
        query: dict[str, frozenset[str]] = {}
        for name, allowed in (
            ("tweet.fields", TWEET_FIELDS),
            ("user.fields", USER_FIELDS),
            ("media.fields", MEDIA_FIELDS),
            ("expansions", EXPANSIONS),
        ):
            values = frozenset(v for v in q.get(name, "").split(",") if v)
            unknown = sorted(values - allowed)
            if unknown:
                message = (
                    f"The `{name}` query parameter value [{unknown[0]}] is not one of the allowed values"
                )
                return _with(caller, _invalid(message, name, ",".join(unknown)))
            query[name] = values
        entries = self.store.entries(caller.account)
        token = q.get("pagination_token")
        if token is not None:
            start = self.store.position(caller.account, token)
            if start is None:
                message = f"The `pagination_token` query parameter value [{token}] is not valid"
                return _with(caller, _invalid(message, "pagination_token", token))
            entries = [e for e in entries if e.seq <= start]
        found = [(e, t) for e in entries if (t := self.store.lookup(e.tweet_id)) is not None]
        page = found[: int(raw_max)]
        rest = found[len(page) :]
        next_token = self.store.token(caller.account, rest[0][0].seq) if rest else None
        base = str(request.url_for(PICTURE_ROUTE, name="x")).removesuffix("/pbs/media/x")
        body = Renderer(self.store, query, base).answer([t for _, t in page], next_token)
        return JSONResponse(body, headers=caller.headers)

    async def bookmark(self, request: Request) -> Response:
        """``POST /2/users/:id/bookmarks`` with ``{"tweet_id"}``."""
        caller = self._caller(request, "bookmarks-write", "bookmark.write")
        if isinstance(caller, Response):
            return caller
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        tweet_id = body.get("tweet_id") if isinstance(body, dict) else None
        if not isinstance(tweet_id, str) or self.store.lookup(tweet_id) is None:
            return _with(caller, _invalid("Invalid or unknown tweet_id.", "tweet_id", str(tweet_id)))
        self.store.add(caller.account, tweet_id)
        return JSONResponse({"data": {"bookmarked": True}}, headers=caller.headers)

    async def unbookmark(self, request: Request) -> Response:
        """``DELETE /2/users/:id/bookmarks/:tweet_id``."""
        caller = self._caller(request, "bookmarks-write", "bookmark.write")
        if isinstance(caller, Response):
            return caller
        self.store.remove(caller.account, request.path_params["tweet_id"])
        return JSONResponse({"data": {"bookmarked": False}}, headers=caller.headers)

    async def picture(self, request: Request) -> Response:
        """A generated JPEG for any ``<key>.jpg`` (photos, video previews, avatars)."""
        name: str = request.path_params["name"]
        if not name.endswith(".jpg"):
            return Response(status_code=404)
        return Response(_jpeg(name.removesuffix(".jpg")), media_type="image/jpeg")

    async def video(self, request: Request) -> Response:
        """A short H.264 MP4 for any ``<key>.mp4``."""
        if not request.path_params["name"].endswith(".mp4"):
            return Response(status_code=404)
        return Response(_mp4(), media_type="video/mp4")


def _with(caller: Any, response: Response) -> Response:
    response.headers.update(caller.headers)
    return response


@cache
def _jpeg(key: str) -> bytes:
    from PIL import Image

    digest = hashlib.sha256(key.encode()).digest()
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (digest[0], digest[1], digest[2])).save(out, format="JPEG", quality=80)
    return out.getvalue()


@cache
def _mp4() -> bytes:
    import av
    from PIL import Image

    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=10, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for index in range(4):
            picture = Image.new("RGB", (64, 48), (index * 60, 90, 160))
            frame = av.VideoFrame.from_image(picture)  # type: ignore[no-untyped-call]
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()
