"""Reading an X account's bookmarks (X API v2) and fetching the media they show. No database.

``GET /2/users/:id/bookmarks`` (OAuth 2.0 user token with ``tweet.read users.read bookmark.read``;
180 requests per 15 minutes per user; the 800 most recent bookmarks, newest first, 1 to 100 per
page, ``pagination_token`` for the next page). One request asks for the tweet's creation time,
metrics, attachments and references, and expands authors, media and (optionally) the referenced
tweets with their authors, so a page is complete in one call.

Media files are fetched only from X's media hosts (or from the sandbox for sandbox accounts):
the URLs come from a third party, so nothing else is ever requested.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from postpost.platforms import _http
from postpost.platforms.base import Credentials, ErrorCode, PlatformError
from postpost.platforms.twitter import classify

SCOPE = "bookmark.read"
PAGE_MAX = 100
MEDIA_HOSTS = frozenset({"pbs.twimg.com", "video.twimg.com"})
TWEET_FIELDS = "created_at,public_metrics,author_id,attachments,referenced_tweets,note_tweet"
MEDIA_FIELDS = "media_key,type,url,preview_image_url,variants,alt_text,duration_ms,width,height"
USER_FIELDS = "name,username,profile_image_url"
MEDIA_TYPES = ("photo", "video", "animated_gif")


@dataclass(frozen=True)
class BookmarkMedia:
    """A photo, video or GIF of a bookmarked tweet.

    `url` is what X shows (the photo, or the best MP4 of a video or GIF); `preview_url` a video's
    still; `download_url` the file worth keeping (the photo, or the best MP4).
    """

    media_key: str
    type: str
    url: str | None
    preview_url: str | None
    download_url: str | None
    alt_text: str | None = None


@dataclass(frozen=True)
class ReferencedTweet:
    """A tweet the bookmarked one quotes, replies to or retweets; text known when it was expanded."""

    type: str
    id: str
    text: str | None = None
    author_username: str | None = None


@dataclass(frozen=True)
class BookmarkedTweet:
    """One bookmarked tweet with everything a page told about it."""

    tweet_id: str
    text: str
    author_id: str | None
    author_username: str | None
    author_name: str | None
    created_at: datetime | None
    like_count: int
    retweet_count: int
    reply_count: int
    quote_count: int
    media: tuple[BookmarkMedia, ...]
    referenced: tuple[ReferencedTweet, ...]


@dataclass(frozen=True)
class BookmarkPage:
    """A page of bookmarks, newest first, and the token of the next one (None at the end)."""

    tweets: tuple[BookmarkedTweet, ...]
    next_token: str | None


async def fetch_page(
    http: aiohttp.ClientSession,
    creds: Credentials,
    *,
    max_results: int,
    pagination_token: str | None,
    referenced: bool,
    client_timeout: aiohttp.ClientTimeout,
) -> BookmarkPage:
    """One page of the account's bookmarks. Raises PlatformError (X's errors classified)."""
    token = creds.secrets.get("access_token")
    if not token:
        raise PlatformError(ErrorCode.PLATFORM_AUTH_EXPIRED, "No X access token stored", refreshable=True)
    expansions = ["author_id", "attachments.media_keys"]
    if referenced:
        expansions += ["referenced_tweets.id", "referenced_tweets.id.author_id"]
    params = {
        "max_results": str(max(1, min(max_results, PAGE_MAX))),
        "expansions": ",".join(expansions),
        "tweet.fields": TWEET_FIELDS,
        "media.fields": MEDIA_FIELDS,
        "user.fields": USER_FIELDS,
    }
    if pagination_token:
        params["pagination_token"] = pagination_token
    result = await _http.send(
        http,
        "GET",
        f"{creds.base_url}/2/users/{creds.account_id}/bookmarks",
        client_timeout=client_timeout,
        platform="X",
        headers={"Authorization": f"Bearer {token}"},
        params=params,
    )
    if result.status >= 300:
        raise classify(result, creating=False)
    return parse_page(_http.json_object(result.body))


def parse_page(body: Mapping[str, Any]) -> BookmarkPage:
    """A bookmarks answer (``data``, ``includes``, ``meta``) as values; malformed parts are skipped."""
    includes = body.get("includes") if isinstance(body.get("includes"), dict) else {}
    assert isinstance(includes, dict)
    users = _by(includes.get("users"), "id")
    media = _by(includes.get("media"), "media_key")
    tweets = _by(includes.get("tweets"), "id")
    found = [
        _tweet(item, users, media, tweets)
        for item in body.get("data") or []
        if isinstance(item, dict) and item.get("id")
    ]
    meta = body.get("meta") if isinstance(body.get("meta"), dict) else {}
    next_token = meta.get("next_token") if isinstance(meta, dict) else None
    return BookmarkPage(tuple(found), str(next_token) if next_token else None)


def is_bad_pagination_token(error: PlatformError) -> bool:
    """X refused the page token (expired or unknown): start again from the newest bookmark."""
    return error.status == 400 and "pagination_token" in (error.platform_error or "")


def may_fetch(url: str, sandbox_origin: str | None) -> bool:
    """Whether a media URL is on X's media hosts (over HTTPS), or in the sandbox it came from."""
    parts = urlsplit(url)
    if sandbox_origin is not None:
        origin = urlsplit(sandbox_origin)
        return (parts.scheme, parts.netloc) == (origin.scheme, origin.netloc)
    return parts.scheme == "https" and (parts.hostname or "") in MEDIA_HOSTS


async def fetch_media(
    http: aiohttp.ClientSession, url: str, *, max_bytes: int, client_timeout: aiohttp.ClientTimeout
) -> tuple[bytes, str]:
    """The file at `url` and its content type; PlatformError when refused, missing or too large."""
    try:
        async with http.get(url, timeout=client_timeout, allow_redirects=False) as resp:
            if resp.status != 200:
                raise PlatformError(
                    ErrorCode.UNKNOWN_ERROR if resp.status < 500 else ErrorCode.PLATFORM_SERVER_ERROR,
                    f"X media answered HTTP {resp.status}",
                    status=resp.status,
                )
            if (resp.content_length or 0) > max_bytes:
                raise _too_large(max_bytes)
            chunks: list[bytes] = []
            total = 0
            async for chunk in resp.content.iter_chunked(256 * 1024):
                total += len(chunk)
                if total > max_bytes:
                    raise _too_large(max_bytes)
                chunks.append(chunk)
            content_type = resp.headers.get("Content-Type", "application/octet-stream")
            return b"".join(chunks), content_type.split(";", 1)[0].strip()
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise PlatformError(ErrorCode.NETWORK_ERROR, f"Could not fetch X media: {exc!r}") from exc


def _too_large(max_bytes: int) -> PlatformError:
    return PlatformError(ErrorCode.CONTENT_TOO_LARGE, f"The media file is larger than {max_bytes} bytes")


def _by(items: Any, key: str) -> dict[str, dict[str, Any]]:
    if not isinstance(items, list):
        return {}
    return {str(i[key]): i for i in items if isinstance(i, dict) and i.get(key)}


def _tweet(
    item: dict[str, Any],
    users: dict[str, dict[str, Any]],
    media: dict[str, dict[str, Any]],
    tweets: dict[str, dict[str, Any]],
) -> BookmarkedTweet:
    author = users.get(str(item.get("author_id")), {})
    metrics = item.get("public_metrics") if isinstance(item.get("public_metrics"), dict) else {}
    assert isinstance(metrics, dict)
    attachments = item.get("attachments") if isinstance(item.get("attachments"), dict) else {}
    keys = attachments.get("media_keys") if isinstance(attachments, dict) else None
    refs = item.get("referenced_tweets") if isinstance(item.get("referenced_tweets"), list) else []
    return BookmarkedTweet(
        tweet_id=str(item["id"]),
        text=_text(item),
        author_id=str(item["author_id"]) if item.get("author_id") else None,
        author_username=_str(author.get("username")),
        author_name=_str(author.get("name")),
        created_at=_http.parse_time(_str(item.get("created_at"))),
        like_count=_count(metrics.get("like_count")),
        retweet_count=_count(metrics.get("retweet_count")),
        reply_count=_count(metrics.get("reply_count")),
        quote_count=_count(metrics.get("quote_count")),
        media=tuple(_medium(media[str(k)]) for k in keys or [] if str(k) in media),
        referenced=tuple(
            _referenced(r, tweets, users) for r in refs or [] if isinstance(r, dict) and r.get("id")
        ),
    )


def _text(item: dict[str, Any]) -> str:
    """The full text (a long post's ``note_tweet`` when present), with X's HTML escapes undone."""
    note = item.get("note_tweet")
    text = note.get("text") if isinstance(note, dict) and note.get("text") else item.get("text")
    return html.unescape(str(text or ""))


def _medium(item: dict[str, Any]) -> BookmarkMedia:
    kind = str(item.get("type") or "photo")
    url = _str(item.get("url"))
    best = _best_mp4(item.get("variants"))
    if kind == "photo":
        return BookmarkMedia(str(item["media_key"]), kind, url, None, url, _str(item.get("alt_text")))
    preview = _str(item.get("preview_image_url"))
    return BookmarkMedia(str(item["media_key"]), kind, best or url, preview, best, _str(item.get("alt_text")))


def _best_mp4(variants: Any) -> str | None:
    """The URL of the MP4 variant with the highest bit rate."""
    if not isinstance(variants, list):
        return None
    mp4 = [
        v for v in variants if isinstance(v, dict) and v.get("content_type") == "video/mp4" and v.get("url")
    ]
    if not mp4:
        return None
    return str(max(mp4, key=lambda v: _count(v.get("bit_rate")))["url"])


def _referenced(
    ref: dict[str, Any], tweets: dict[str, dict[str, Any]], users: dict[str, dict[str, Any]]
) -> ReferencedTweet:
    found = tweets.get(str(ref["id"]))
    if found is None:
        return ReferencedTweet(str(ref.get("type") or "quoted"), str(ref["id"]))
    author = users.get(str(found.get("author_id")), {})
    return ReferencedTweet(
        str(ref.get("type") or "quoted"), str(ref["id"]), _text(found), _str(author.get("username"))
    )


def _str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0
