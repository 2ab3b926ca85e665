"""The list and export parameters of X bookmarks, checked in a fixed order.

1. every known parameter must be given once (`INVALID_PARAM_TYPE`), and `has_media` be
   `true`/`false`; 2. `q`: at most 200 characters (`SEARCH_QUERY_TOO_LONG`), some words left
   after sanitising (`EMPTY_QUERY`); 3. `q` with `sort` (`CONFLICTING_PARAMS`); `has_media=false`
   with `q` or `media_type` (`CONFLICTING_FILTERS`); 4. `from`/`to` (`INVALID_DATE`),
   `media_type` (`INVALID_MEDIA_TYPE`), `sort` (`INVALID_SORT`). `page` and `limit` are clamped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from postpost.db.search import search_terms
from postpost.services.x_bookmarks.errors import invalid

PARAMS = ("page", "limit", "q", "author", "from", "to", "has_media", "media_type", "sort")
QUERY_MAX = 200
PAGE_MAX = 500
LIST_LIMIT = (20, 100)  # default, maximum
EXPORT_LIMIT = (200, 200)
SORTS = ("tweet_date", "synced_at", "likes", "retweets")
MEDIA_BITS = {"photo": 1, "video": 2, "animated_gif": 4}


@dataclass(frozen=True)
class BookmarkQuery:
    """What to list: `terms` (a full-text search, sorted by relevance) or a `sort`, and filters."""

    page: int = 1
    limit: int = 20
    terms: tuple[str, ...] = ()
    author: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    has_media: bool | None = None
    media_bit: int | None = None
    sort: str = "tweet_date"

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


def parse_query(pairs: Sequence[tuple[str, str]], *, limits: tuple[int, int] = LIST_LIMIT) -> BookmarkQuery:
    """The query described by the request's parameters, or the contract's 400."""
    counts = Counter(name for name, _ in pairs)
    for name in PARAMS:
        if counts[name] > 1:
            raise invalid("INVALID_PARAM_TYPE", f"Query parameter '{name}' must be a single string")
    values = {name: value for name, value in pairs if name in PARAMS}
    has_media = values.get("has_media")
    if has_media is not None and has_media not in ("true", "false"):
        raise invalid("INVALID_PARAM_TYPE", "Query parameter 'has_media' must be 'true' or 'false'")
    terms: tuple[str, ...] = ()
    q = values.get("q")
    if q is not None:
        if len(q) > QUERY_MAX:
            raise invalid("SEARCH_QUERY_TOO_LONG", f"Search query must be at most {QUERY_MAX} characters")
        terms = tuple(search_terms(q))
        if not terms:
            raise invalid("EMPTY_QUERY", "Search query is empty after removing special characters")
        if "sort" in values:
            raise invalid(
                "CONFLICTING_PARAMS", "Search results are sorted by relevance: 'sort' cannot be used with 'q'"
            )
    if has_media == "false":
        other = "q" if q is not None else "media_type" if "media_type" in values else None
        if other is not None:
            raise invalid("CONFLICTING_FILTERS", f"'has_media=false' cannot be combined with '{other}'")
    since, until = _date(values, "from"), _date(values, "to")
    media_type = values.get("media_type")
    if media_type is not None and media_type not in MEDIA_BITS:
        raise invalid("INVALID_MEDIA_TYPE", "media_type must be one of photo, video, animated_gif")
    sort = values.get("sort", "tweet_date")
    if sort not in SORTS:
        raise invalid("INVALID_SORT", f"sort must be one of {', '.join(SORTS)}")
    default_limit, max_limit = limits
    author = (values.get("author") or "").strip().lstrip("@").strip()
    return BookmarkQuery(
        page=clamp(values.get("page"), 1, 1, PAGE_MAX),
        limit=clamp(values.get("limit"), default_limit, 1, max_limit),
        terms=terms,
        author=author.lower() or None,
        since=since,
        until=until,
        has_media=None if has_media is None else has_media == "true",
        media_bit=MEDIA_BITS[media_type] if media_type is not None else None,
        sort=sort,
    )


def clamp(raw: str | None, default: int, low: int, high: int) -> int:
    """An integer parameter: `default` when absent or not a number, then kept within low..high."""
    try:
        value = int(raw) if raw is not None else default
    except ValueError:
        value = default
    return max(low, min(value, high))


def _date(values: dict[str, str], name: str) -> datetime | None:
    """An ISO 8601 date or date-time (UTC unless it says otherwise)."""
    raw = values.get(name)
    if raw is None:
        return None
    try:
        when = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise invalid("INVALID_DATE", f"Invalid '{name}' date: use ISO 8601, e.g. 2026-03-01") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
