"""Listing, searching, reading and exporting stored bookmarks (always scoped to one user).

A search (`q`) is full-text on both engines and sorted by relevance, newest first among equals.
PostgreSQL matches `plainto_tsquery` and the user's owner lexeme against the generated `tsvector`
(one GIN lookup) and ranks with `ts_rank` (the text weighs more than the author); SQLite matches
the FTS5 table restricted to the user's owner token and ranks with `bm25`. One statement returns
the page and the number of matches. Without `q` the chosen sort reads one of the per-user indexes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal, literal_column, or_, select, text
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import XBookmark, XBookmarkMedia
from postpost.db.search import FTS_TABLE, PG_COLUMN, TS_CONFIG, fts_match, fts_owner
from postpost.db.session import dialect_name
from postpost.services.auth import Principal
from postpost.services.x_bookmarks.access import require_access, state_of
from postpost.services.x_bookmarks.errors import BookmarkError
from postpost.services.x_bookmarks.query import EXPORT_LIMIT, BookmarkQuery, parse_query
from postpost.storage.base import Storage

EXPORTS_PER_WINDOW = 5
EXPORT_WINDOW = timedelta(minutes=15)
STORED_URL_TTL = 7 * 86_400  # seconds a signed `s3Url` stays valid (S3's longest)
SORT_COLUMNS = {
    "tweet_date": XBookmark.tweet_created_at,
    "synced_at": XBookmark.synced_at,
    "likes": XBookmark.like_count,
    "retweets": XBookmark.retweet_count,
}
BM25_WEIGHTS = "0.0, 1.0, 0.4"  # owner, body, author
NEWEST = (XBookmark.tweet_created_at.desc(), XBookmark.seq.desc())


@dataclass(frozen=True)
class MediaView:
    """A bookmark's media item with its stored copy (`stored_url` once downloaded)."""

    media_key: str
    type: str
    url: str | None
    preview_url: str | None
    stored_url: str | None
    status: str | None


@dataclass(frozen=True)
class BookmarkView:
    """A stored bookmark as the API shows it."""

    id: str
    tweet_id: str
    text: str
    author_username: str | None
    author_name: str | None
    tweet_created_at: datetime
    like_count: int
    retweet_count: int
    reply_count: int
    quote_count: int
    media: tuple[MediaView, ...]
    referenced: tuple[dict[str, Any], ...]
    synced_at: datetime
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class BookmarkList:
    """One page of a list or search."""

    bookmarks: list[BookmarkView]
    page: int
    limit: int
    total: int

    @property
    def total_pages(self) -> int:
        return math.ceil(self.total / self.limit) if self.total else 0


async def list_bookmarks(
    session: AsyncSession, principal: Principal, storage: Storage, pairs: Sequence[tuple[str, str]]
) -> BookmarkList:
    """`GET /x-bookmarks`: a page of the user's bookmarks, filtered, sorted or searched."""
    await require_access(session, principal)
    query = parse_query(pairs)
    rows, total = await _page(session, principal.user_id, query, count=True)
    return BookmarkList(await _views(session, storage, rows), query.page, query.limit, total)


async def get_bookmark(
    session: AsyncSession, principal: Principal, storage: Storage, ident: str
) -> BookmarkView:
    """`GET /x-bookmarks/:id`: by tweet id or by the bookmark's own id."""
    await require_access(session, principal)
    row = await session.scalar(
        select(XBookmark).where(
            XBookmark.user_id == principal.user_id,
            or_(XBookmark.tweet_id == ident, XBookmark.id == ident.lower()),
        )
    )
    if row is None:
        raise BookmarkError(404, "BOOKMARK_NOT_FOUND", "Bookmark not found")
    return (await _views(session, storage, [row]))[0]


async def export_bookmarks(
    session: AsyncSession,
    principal: Principal,
    storage: Storage,
    pairs: Sequence[tuple[str, str]],
    now: datetime,
) -> list[BookmarkView]:
    """`GET /x-bookmarks/export`: up to 200 bookmarks; 5 exports per 15 minutes per user."""
    await require_access(session, principal)
    query = parse_query(pairs, limits=EXPORT_LIMIT)
    state = await state_of(session, principal.user_id, lock=True)
    recent = sorted(t for t in state.export_times if datetime.fromisoformat(t) > now - EXPORT_WINDOW)
    if len(recent) >= EXPORTS_PER_WINDOW:
        wait = datetime.fromisoformat(recent[-EXPORTS_PER_WINDOW]) + EXPORT_WINDOW - now
        raise BookmarkError(
            429,
            "EXPORT_RATE_LIMITED",
            f"At most {EXPORTS_PER_WINDOW} exports per 15 minutes",
            retryAfter=max(1, math.ceil(wait.total_seconds())),
        )
    state.export_times = [*recent, now.isoformat()]
    await session.commit()
    rows, _total = await _page(session, principal.user_id, query, count=False)
    return await _views(session, storage, rows)


async def _page(
    session: AsyncSession, user_id: str, query: BookmarkQuery, *, count: bool
) -> tuple[list[XBookmark], int]:
    """The page's bookmarks and (when `count`) how many the query finds in all."""
    dialect = dialect_name(session)
    if not query.terms:
        rows = list(await session.scalars(list_statement(user_id, query)))
        total = await session.scalar(count_statement(dialect, user_id, query)) if count else 0
        return rows, total or 0
    found = (await session.execute(search_statement(dialect, user_id, query))).all()
    if found:
        return [row for row, _ in found], found[0][1]
    beyond = count and query.page > 1  # past the last page: count the matches on their own
    return [], (await session.scalar(count_statement(dialect, user_id, query)) or 0) if beyond else 0


def filters(user_id: str, query: BookmarkQuery) -> list[ColumnElement[bool]]:
    """The WHERE conditions of a list or search (the user first: every index starts with it)."""
    found: list[ColumnElement[bool]] = [XBookmark.user_id == user_id]
    if query.author:
        found.append(func.lower(XBookmark.author_username).contains(query.author, autoescape=True))
    if query.since is not None:
        found.append(XBookmark.tweet_created_at >= query.since)
    if query.until is not None:
        found.append(XBookmark.tweet_created_at < query.until)
    if query.has_media is not None:
        found.append(XBookmark.media_kinds != 0 if query.has_media else XBookmark.media_kinds == 0)
    if query.media_bit is not None:
        found.append(XBookmark.media_kinds.op("&")(query.media_bit) != 0)
    return found


def list_statement(user_id: str, query: BookmarkQuery) -> Select[XBookmark]:
    """One page of a list: the chosen sort, newest first among equals (read from an index)."""
    key = SORT_COLUMNS[query.sort]
    order = (key.desc(), XBookmark.seq.desc()) if key is not XBookmark.tweet_created_at else NEWEST
    return (
        select(XBookmark)
        .where(*filters(user_id, query))
        .order_by(*order)
        .limit(query.limit)
        .offset(query.offset)
    )


def search_statement(dialect: str, user_id: str, query: BookmarkQuery) -> Select[XBookmark, int]:
    """One page of a search, by relevance, with the number of matches (one pass over them)."""
    total = func.count().over().label("total")
    if dialect == "postgresql":
        vector, words, mine = _pg_search(user_id, query)
        statement = select(XBookmark, total).where(*_pg_filters(user_id, query))
        statement = statement.where(vector.op("@@")(words.op("&&")(mine)))
        order = func.ts_rank(vector, words).desc()
    else:
        statement = select(XBookmark, total).where(*filters(user_id, query))
        hits = _fts_hits(user_id, query)
        statement = statement.join(hits, hits.c.seq == XBookmark.seq)
        order = hits.c.score
    return statement.order_by(order, *NEWEST).limit(query.limit).offset(query.offset)


def count_statement(dialect: str, user_id: str, query: BookmarkQuery) -> Select[int]:
    """How many bookmarks the query finds in all."""
    statement = select(func.count()).select_from(XBookmark)
    if not query.terms:
        return statement.where(*filters(user_id, query))
    if dialect == "postgresql":
        vector, words, mine = _pg_search(user_id, query)
        return statement.where(*_pg_filters(user_id, query), vector.op("@@")(words.op("&&")(mine)))
    statement = statement.where(*filters(user_id, query))
    hits = _fts_hits(user_id, query)
    return statement.join(hits, hits.c.seq == XBookmark.seq)


def _pg_filters(user_id: str, query: BookmarkQuery) -> list[ColumnElement[bool]]:
    """The filters of a PostgreSQL search. The tenant check is written so that it filters the GIN
    index's matches (already only the user's, through the owner lexeme) instead of making the
    planner intersect them with every row of the user from a B-tree index (tens of thousands for
    a heavy user: most of the query's time)."""
    return [func.coalesce(XBookmark.user_id, "") == user_id, *filters(user_id, query)[1:]]


def _pg_search(user_id: str, query: BookmarkQuery) -> tuple[ColumnElement[Any], ...]:
    """The vector, the query's words, and the user's owner lexeme (so the GIN index alone finds
    the user's matches)."""
    vector: ColumnElement[Any] = literal_column(f"{XBookmark.__tablename__}.{PG_COLUMN}")
    words = func.plainto_tsquery(literal_column(f"'{TS_CONFIG}'::regconfig"), " ".join(query.terms))
    return vector, words, literal(fts_owner(user_id), TSQUERY)


def _fts_hits(user_id: str, query: BookmarkQuery) -> Any:
    """The user's FTS5 matches with their bm25 score (lower is better), computed once."""
    return (
        select(
            literal_column("rowid").label("seq"),
            literal_column(f"bm25({FTS_TABLE}, {BM25_WEIGHTS})").label("score"),
        )
        .select_from(text(FTS_TABLE))
        .where(text(f"{FTS_TABLE} MATCH :match").bindparams(match=fts_match(user_id, list(query.terms))))
        .cte("hits")
        .prefix_with("MATERIALIZED")
    )


async def _views(session: AsyncSession, storage: Storage, rows: list[XBookmark]) -> list[BookmarkView]:
    """The rows as views, with each media item's download state and stored URL."""
    stored: dict[tuple[int, str], XBookmarkMedia] = {}
    if rows:
        found = await session.scalars(
            select(XBookmarkMedia).where(XBookmarkMedia.bookmark_seq.in_([row.seq for row in rows]))
        )
        stored = {(m.bookmark_seq, m.media_key): m for m in found}
    return [_view(row, stored, storage) for row in rows]


def _view(row: XBookmark, stored: dict[tuple[int, str], XBookmarkMedia], storage: Storage) -> BookmarkView:
    media = []
    for item in row.media:
        copy = stored.get((row.seq, str(item.get("mediaKey"))))
        key = copy.storage_key if copy is not None and copy.status == "completed" else None
        media.append(
            MediaView(
                media_key=str(item.get("mediaKey")),
                type=str(item.get("type")),
                url=item.get("url"),
                preview_url=item.get("previewImageUrl"),
                stored_url=storage.signed_fetch_url(key, STORED_URL_TTL) if key else None,
                status=copy.status if copy else None,
            )
        )
    return BookmarkView(
        id=row.id,
        tweet_id=row.tweet_id,
        text=row.text,
        author_username=row.author_username,
        author_name=row.author_name,
        tweet_created_at=row.tweet_created_at,
        like_count=row.like_count,
        retweet_count=row.retweet_count,
        reply_count=row.reply_count,
        quote_count=row.quote_count,
        media=tuple(media),
        referenced=tuple(row.referenced_tweets),
        synced_at=row.synced_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
