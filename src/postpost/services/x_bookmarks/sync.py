"""One sync of a user's X bookmarks, for the API (`api`) and the auto-sync job (`scheduled`).

Three short transactions around one X call, like the engine's claim/publish/record:

1. *Begin*, holding the user's state row: refuse while another sync holds the sync lease
   (`SYNC_IN_PROGRESS`, across processes), within 60 s of the last requested sync
   (`SYNC_RATE_LIMITED`, not for scheduled runs), or with the month's quota used up
   (`X_BOOKMARKS_LIMIT_REACHED`); then take the lease and note the resume cursor.
2. *Fetch* one page from X, outside any transaction: from the stored pagination token (a manual
   sync walks back through the bookmarks, one page per sync) or from the newest bookmark (the
   scheduled "latest" sync, which leaves the cursor alone). An expired access token is
   refreshed once; a pagination token X no longer accepts restarts from the newest bookmark.
3. *Store*: insert new bookmarks while the quota allows, update known ones (metrics change),
   queue their media, advance the cursor (cleared at the end of the list, so the next sync
   starts over from the newest), release the lease and log the run.
"""

from __future__ import annotations

import json
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import XBookmark, XBookmarkMedia, XBookmarkState, XBookmarkSyncLog
from postpost.db.session import Database
from postpost.ids import new_id, utcnow
from postpost.platforms._twitter_bookmarks import (
    BookmarkedTweet,
    BookmarkPage,
    fetch_page,
    is_bad_pagination_token,
)
from postpost.platforms.base import ErrorCode, PlatformError
from postpost.platforms.registry import Adapters
from postpost.services.auth import Principal
from postpost.services.credentials import CredentialStore, Versioned
from postpost.services.plans import Entitlements
from postpost.services.x_bookmarks.access import (
    PLATFORM,
    can_read_bookmarks,
    require_access,
    state_of,
    x_connection,
)
from postpost.services.x_bookmarks.errors import BookmarkError, invalid, not_connected
from postpost.services.x_bookmarks.quota import Balance, balance_of, count_inserts, month_of

SYNC_INTERVAL = timedelta(seconds=60)
SYNC_LEASE = timedelta(minutes=2)
MAX_TWEETS = 100
MEDIA_BITS = {"photo": 1, "video": 2, "animated_gif": 4}


@dataclass(frozen=True)
class SyncResult:
    """What one sync stored, and the quota after it."""

    inserted: int
    updated: int
    has_more: bool
    balance: Balance

    @property
    def total(self) -> int:
        return self.inserted + self.updated


@dataclass(frozen=True)
class _Plan:
    user_id: str
    connection_id: str
    sandbox: bool
    lease: str
    cursor: str | None
    latest: bool
    download_images: bool
    download_videos: bool
    referenced: bool


def max_tweets_of(raw: bytes) -> int:
    """`maxTweets` of a sync body (optional; default 100, clamped to 1..100)."""
    try:
        body = json.loads(raw) if raw.strip() else {}
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise invalid("INVALID_BODY", "The request body must be a JSON object")
    value = body.get("maxTweets", MAX_TWEETS)
    if value is None:
        return MAX_TWEETS
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise invalid("INVALID_BODY", "maxTweets must be a number from 1 to 100")
    return max(1, min(int(value), MAX_TWEETS))


class BookmarkSyncer:
    """Syncs users' bookmarks through their X connection (one instance per process part)."""

    def __init__(self, database: Database, credentials: CredentialStore, adapters: Adapters) -> None:
        self.database = database
        self.credentials = credentials  # its sandbox URL sends sandbox accounts to the simulator
        self.adapters = adapters

    async def sync_request(self, session: AsyncSession, principal: Principal, raw: bytes) -> SyncResult:
        """`POST /x-bookmarks/sync`: the gate, the body, then one sync from the stored cursor."""
        await require_access(session, principal)
        max_tweets = max_tweets_of(raw)
        await session.rollback()  # the sync writes through its own transactions
        return await self.sync(
            principal.user_id, principal.entitlements, max_tweets=max_tweets, trigger="api"
        )

    async def sync(
        self,
        user_id: str,
        entitlements: Entitlements,
        *,
        max_tweets: int,
        trigger: str,
        latest: bool = False,
    ) -> SyncResult:
        """One sync; `latest` reads from the newest bookmark without touching the cursor."""
        started = utcnow()
        plan = await self._begin(user_id, entitlements, trigger, latest, started)
        try:
            page = await self._fetch(plan, max_tweets)
            return await self._store(plan, page, entitlements, started, trigger)
        except Exception as exc:
            message = exc.message if isinstance(exc, BookmarkError) else "Sync failed unexpectedly"
            await self._fail(plan, started, trigger, message)
            raise

    async def _begin(
        self, user_id: str, entitlements: Entitlements, trigger: str, latest: bool, now: datetime
    ) -> _Plan:
        async with self.database.session() as session:
            connection = await x_connection(session, user_id)
            if connection is None:
                raise not_connected()
            if not can_read_bookmarks(connection):
                raise BookmarkError(
                    400,
                    "NOT_CONNECTED",
                    "The connected X account has not granted the bookmark.read scope: reconnect it",
                )
            state = await state_of(session, user_id, lock=True)
            if state.sync_lease_until is not None and state.sync_lease_until > now:
                raise BookmarkError(409, "SYNC_IN_PROGRESS", "A sync of your bookmarks is already running")
            last = state.last_requested_sync_at
            if trigger != "scheduled" and last is not None and now - last < SYNC_INTERVAL:
                wait = (last + SYNC_INTERVAL - now).total_seconds()
                raise BookmarkError(
                    429,
                    "SYNC_RATE_LIMITED",
                    "Bookmarks can be synced once every 60 seconds",
                    retryAfter=max(1, math.ceil(wait)),
                )
            balance = await balance_of(session, user_id, entitlements, now)
            if balance.room() == 0 and trigger != "scheduled":
                raise balance.reached()
            if state.account_id != connection.account_id:
                state.account_id, state.pagination_token = connection.account_id, None
            state.sync_lease_token = lease = secrets.token_hex(8)
            state.sync_lease_until = now + SYNC_LEASE
            if trigger != "scheduled":
                state.last_requested_sync_at = now
            plan = _Plan(
                user_id=user_id,
                connection_id=connection.id,
                sandbox=connection.is_sandbox,
                lease=lease,
                cursor=None if latest else state.pagination_token,
                latest=latest,
                download_images=state.download_images,
                download_videos=state.download_videos,
                referenced=state.fetch_referenced_tweets,
            )
            await session.commit()
            return plan

    async def _fetch(self, plan: _Plan, max_tweets: int) -> BookmarkPage:
        adapter = self.adapters.get(PLATFORM)
        assert adapter is not None
        cursor, refreshed = plan.cursor, False
        try:
            current = await self.credentials.load(plan.connection_id)
            current = await self.credentials.usable(plan.connection_id, current, adapter)
            while True:
                try:
                    page = await fetch_page(
                        adapter.http,
                        current.creds,
                        max_results=max_tweets,
                        pagination_token=cursor,
                        referenced=plan.referenced,
                        client_timeout=adapter.timeout,
                    )
                    return page
                except PlatformError as error:
                    if error.refreshable and not refreshed:
                        refreshed = True
                        current = await self._refresh(plan, current)
                    elif cursor is not None and is_bad_pagination_token(error):
                        cursor = None
                    else:
                        raise
        except PlatformError as error:
            raise x_error(error) from error

    async def _refresh(self, plan: _Plan, current: Versioned) -> Versioned:
        adapter = self.adapters.get(PLATFORM)
        assert adapter is not None
        return await self.credentials.refresh(plan.connection_id, current, adapter)

    async def _store(
        self, plan: _Plan, page: BookmarkPage, entitlements: Entitlements, started: datetime, trigger: str
    ) -> SyncResult:
        now = utcnow()
        async with self.database.session() as session:
            state = await state_of(session, plan.user_id, lock=True)
            if state.sync_lease_token != plan.lease:
                raise BookmarkError(409, "SYNC_IN_PROGRESS", "A sync of your bookmarks is already running")
            balance = await balance_of(session, plan.user_id, entitlements, now)
            known = await _known(session, plan.user_id, [t.tweet_id for t in page.tweets])
            new = [t for t in page.tweets if t.tweet_id not in known]
            room = balance.room()
            cut = room is not None and len(new) > room
            new = new[:room] if room is not None else new
            seqs = await _insert(session, plan, new, now)
            updated = [t for t in page.tweets if t.tweet_id in known]
            await _update(session, known, updated, now)
            await _queue_media(session, plan, [(seqs[t.tweet_id], t) for t in new], now)
            await _queue_media(session, plan, [(known[t.tweet_id], t) for t in updated], now)
            await count_inserts(session, plan.user_id, month_of(now)[2], len(new))
            if not plan.latest and not cut:
                state.pagination_token = page.next_token
            has_more = cut or page.next_token is not None
            _release(state, "success", now)
            result = SyncResult(len(new), len(updated), has_more, _after(balance, len(new)))
            session.add(_log(plan.user_id, started, now, "success", trigger, result=result))
            await session.commit()
        return result

    async def _fail(self, plan: _Plan, started: datetime, trigger: str, message: str) -> None:
        now = utcnow()
        async with self.database.session() as session:
            state = await state_of(session, plan.user_id, lock=True)
            if state.sync_lease_token == plan.lease:
                _release(state, "failed", now)
            session.add(_log(plan.user_id, started, now, "failed", trigger, error=message))
            await session.commit()


def x_error(error: PlatformError) -> BookmarkError:
    """An X failure in the contract's terms."""
    if error.code is ErrorCode.PLATFORM_AUTH_EXPIRED:
        return BookmarkError(401, "AUTH_EXPIRED", "X authentication expired: reconnect your X account")
    if error.code is ErrorCode.RATE_LIMITED:
        wait = (error.retry_at - utcnow()).total_seconds() if error.retry_at else 60.0
        return BookmarkError(
            429, "RATE_LIMITED", "X API rate limit reached", retryAfter=max(1, math.ceil(wait))
        )
    if error.status == 403:
        return BookmarkError(
            400,
            "NOT_CONNECTED",
            "X refused to show this account's bookmarks: reconnect it with bookmark.read",
        )
    return BookmarkError(502, "X_API_ERROR", f"X API error: {error.message}")


def _after(balance: Balance, inserted: int) -> Balance:
    return Balance(
        balance.used + inserted, balance.limit, balance.period_start, balance.period_end, balance.month_key
    )


def _release(state: XBookmarkState, status: str, now: datetime) -> None:
    state.sync_lease_token = state.sync_lease_until = None
    state.last_sync_at, state.last_sync_status = now, status


def _log(
    user_id: str,
    started: datetime,
    now: datetime,
    status: str,
    trigger: str,
    *,
    result: SyncResult | None = None,
    error: str | None = None,
) -> XBookmarkSyncLog:
    return XBookmarkSyncLog(
        user_id=user_id,
        synced_at=started,
        status=status,
        inserted=result.inserted if result else 0,
        updated=result.updated if result else 0,
        total=result.total if result else 0,
        has_more=result.has_more if result else False,
        duration_ms=int((now - started).total_seconds() * 1000),
        trigger=trigger,
        error=error,
    )


async def _known(session: AsyncSession, user_id: str, tweet_ids: list[str]) -> dict[str, int]:
    """The user's stored bookmarks among `tweet_ids`: tweet id → seq."""
    if not tweet_ids:
        return {}
    rows = await session.execute(
        select(XBookmark.tweet_id, XBookmark.seq).where(
            XBookmark.user_id == user_id, XBookmark.tweet_id.in_(tweet_ids)
        )
    )
    return {tweet_id: seq for tweet_id, seq in rows}


def _values(tweet: BookmarkedTweet, now: datetime) -> dict[str, Any]:
    """The columns a sync sets (on insert and on every later sync)."""
    return {
        "text": tweet.text,
        "author_id": tweet.author_id,
        "author_username": tweet.author_username,
        "author_name": tweet.author_name,
        "tweet_created_at": tweet.created_at or now,
        "like_count": tweet.like_count,
        "retweet_count": tweet.retweet_count,
        "reply_count": tweet.reply_count,
        "quote_count": tweet.quote_count,
        "media_kinds": sum({MEDIA_BITS.get(m.type, 0) for m in tweet.media}),
        "media": [
            {"mediaKey": m.media_key, "type": m.type, "url": m.url, "previewImageUrl": m.preview_url}
            for m in tweet.media
        ],
        "referenced_tweets": [
            {
                "type": r.type,
                "id": r.id,
                "content": None if r.text is None else {"text": r.text, "authorUsername": r.author_username},
            }
            for r in tweet.referenced
        ],
        "synced_at": now,
        "updated_at": now,
    }


async def _insert(
    session: AsyncSession, plan: _Plan, tweets: list[BookmarkedTweet], now: datetime
) -> dict[str, int]:
    if not tweets:
        return {}
    rows = [
        {
            "id": new_id(),
            "user_id": plan.user_id,
            "tweet_id": t.tweet_id,
            "created_at": now,
            **_values(t, now),
        }
        for t in tweets
    ]
    table = cast(Table, XBookmark.__table__)
    inserted = await session.execute(insert(table).returning(table.c.tweet_id, table.c.seq), rows)
    return {tweet_id: seq for tweet_id, seq in inserted}


async def _update(
    session: AsyncSession, known: dict[str, int], tweets: list[BookmarkedTweet], now: datetime
) -> None:
    if tweets:
        await session.execute(
            update(XBookmark), [{"seq": known[t.tweet_id], **_values(t, now)} for t in tweets]
        )


async def _queue_media(
    session: AsyncSession, plan: _Plan, found: list[tuple[int, BookmarkedTweet]], now: datetime
) -> None:
    """Queue every media item not seen before: `pending`, or `skipped` when the settings say so."""
    if not found:
        return
    seqs = [seq for seq, _ in found]
    existing = await session.execute(
        select(XBookmarkMedia.bookmark_seq, XBookmarkMedia.media_key).where(
            XBookmarkMedia.bookmark_seq.in_(seqs)
        )
    )
    seen = {(seq, key) for seq, key in existing}
    rows = []
    for seq, tweet in found:
        for item in tweet.media:
            if (seq, item.media_key) in seen:
                continue
            wanted = plan.download_images if item.type == "photo" else plan.download_videos
            status = "pending" if wanted and item.download_url else "skipped"
            rows.append(
                {
                    "id": new_id(),
                    "user_id": plan.user_id,
                    "bookmark_seq": seq,
                    "media_key": item.media_key,
                    "type": item.type,
                    "source_url": item.download_url,
                    "sandbox": plan.sandbox,
                    "status": status,
                    "attempts": 0,
                    "due_at": now if status == "pending" else None,
                    "error": None if item.download_url else "X gave no downloadable file",
                    "created_at": now,
                    "updated_at": now,
                }
            )
    if rows:
        await session.execute(insert(cast(Table, XBookmarkMedia.__table__)), rows)
