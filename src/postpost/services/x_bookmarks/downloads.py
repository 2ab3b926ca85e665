"""Copying bookmarked media into the media storage, so it outlives the tweet.

Media rows are claimed like posts: `pending` rows that are due (or `downloading` rows whose
holder's lease ran out) move to `downloading` with a lease, `FOR UPDATE SKIP LOCKED` on
PostgreSQL, so any number of worker processes share the work. The claim commits before the
download; the outcome is written only while the lease is still held. A failed download is tried
again later (three attempts in all), then marked `failed`. Files are kept under
`x-bookmarks/<user id>/<media key>.<ext>`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiohttp
from sqlalchemy import or_, select, update

from postpost.db.models import XBookmarkMedia
from postpost.db.session import Database, dialect_name
from postpost.ids import utcnow
from postpost.platforms._twitter_bookmarks import fetch_media, may_fetch
from postpost.platforms.base import PlatformError
from postpost.storage.base import Storage

log = logging.getLogger("postpost.x_bookmarks")

KEY_PREFIX = "x-bookmarks"
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 3
RETRY_AFTER = timedelta(seconds=30)  # doubled after each failed attempt
MAX_BYTES = 128 * 1024 * 1024
BATCH = 8
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/gif": "gif",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
}


@dataclass(frozen=True)
class Download:
    """A claimed media row."""

    id: str
    user_id: str
    media_key: str
    source_url: str | None
    sandbox: bool
    attempts: int
    lease: str


async def claim(database: Database, *, now: datetime, limit: int = BATCH) -> list[Download]:
    """Claim up to `limit` due downloads (committed before returning)."""
    lease = secrets.token_hex(8)
    async with database.session() as session:
        due = (
            select(XBookmarkMedia.id)
            .where(
                or_(
                    (XBookmarkMedia.status == "pending") & (XBookmarkMedia.due_at <= now),
                    (XBookmarkMedia.status == "downloading") & (XBookmarkMedia.lease_until < now),
                )
            )
            .order_by(XBookmarkMedia.due_at)
            .limit(limit)
        )
        if dialect_name(session) == "postgresql":
            due = due.with_for_update(skip_locked=True)
        claimed = await session.execute(
            update(XBookmarkMedia)
            .where(XBookmarkMedia.id.in_(due.scalar_subquery()))
            .values(
                status="downloading",
                lease_token=lease,
                lease_until=now + LEASE,
                attempts=XBookmarkMedia.attempts + 1,
                updated_at=now,
            )
            .returning(
                XBookmarkMedia.id,
                XBookmarkMedia.user_id,
                XBookmarkMedia.media_key,
                XBookmarkMedia.source_url,
                XBookmarkMedia.sandbox,
                XBookmarkMedia.attempts,
            )
        )
        found = [Download(*row, lease=lease) for row in claimed]
        await session.commit()
    return found


class Refused(Exception):
    """A download refused before any request was made."""


class MediaDownloader:
    """Downloads claimed media with one HTTP session and stores them (`run_once` per pass)."""

    def __init__(
        self,
        database: Database,
        storage: Storage,
        http: aiohttp.ClientSession,
        *,
        sandbox_url: str | None,
        timeout: float = 60.0,
    ) -> None:
        self.database = database
        self.storage = storage
        self.http = http
        self.sandbox_url = sandbox_url
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def run_once(self) -> int:
        """Claim and download one batch; how many were claimed."""
        claimed = await claim(self.database, now=utcnow())
        await asyncio.gather(*(self._download(item) for item in claimed))
        return len(claimed)

    async def _download(self, item: Download) -> None:
        try:
            if not item.source_url:
                raise Refused("X gave no downloadable file")
            if item.sandbox and self.sandbox_url is None:
                raise Refused("The media is in the sandbox, which is turned off")
            if not may_fetch(item.source_url, self.sandbox_url if item.sandbox else None):
                raise Refused("The media URL is not on X's media hosts")
            data, content_type = await fetch_media(
                self.http, item.source_url, max_bytes=MAX_BYTES, client_timeout=self.timeout
            )
            key = f"{KEY_PREFIX}/{item.user_id}/{item.media_key}.{EXTENSIONS.get(content_type, 'bin')}"
            await self.storage.put(key, data, content_type)
        except (PlatformError, Refused, OSError) as exc:
            await self._record_failure(item, str(exc))
            return
        except Exception as exc:
            log.exception("downloading X bookmark media %s failed", item.id)
            await self._record_failure(item, f"Unexpected error: {exc!r}")
            return
        await self._record(
            item, status="completed", storage_key=key, content_type=content_type, size=len(data), error=None
        )

    async def _record_failure(self, item: Download, error: str) -> None:
        if item.attempts >= MAX_ATTEMPTS:
            await self._record(item, status="failed", error=error)
        else:
            wait = RETRY_AFTER * 2 ** (item.attempts - 1)
            await self._record(item, status="pending", error=error, due_at=utcnow() + wait)

    async def _record(self, item: Download, **values: object) -> None:
        async with self.database.session() as session:
            await session.execute(
                update(XBookmarkMedia)
                .where(XBookmarkMedia.id == item.id, XBookmarkMedia.lease_token == item.lease)
                .values(lease_token=None, lease_until=None, updated_at=utcnow(), **values)
            )
            await session.commit()
