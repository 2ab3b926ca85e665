"""The X bookmarks work of the worker processes: the auto-sync and the media downloads.

`AutoSync` syncs the latest 20 bookmarks of every enabled user with an X connection, three
times a day (every `x_bookmarks_sync_interval_seconds`), as the scheduled job
`x-bookmarks-auto-sync`: whichever process takes its lease runs it. The media downloader runs
in every process; claims keep them from downloading the same file twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

import aiohttp
from sqlalchemy import exists, select

from postpost.config import Settings
from postpost.db.models import Connection, User
from postpost.db.session import Database
from postpost.ids import utcnow
from postpost.platforms.registry import Adapters
from postpost.security import SecretBox
from postpost.services import scheduled_jobs
from postpost.services.credentials import CredentialStore
from postpost.services.x_bookmarks.access import PLATFORM, entitlements_of
from postpost.services.x_bookmarks.downloads import MediaDownloader
from postpost.services.x_bookmarks.errors import BookmarkError
from postpost.services.x_bookmarks.sync import BookmarkSyncer
from postpost.storage.base import Storage

log = logging.getLogger("postpost.x_bookmarks")

JOB_NAME = "x-bookmarks-auto-sync"
LATEST = 20
JOB_LEASE = timedelta(minutes=10)
CHECK_EVERY = 60.0  # seconds between looks at whether the auto-sync is due


class AutoSync:
    """One auto-sync run over every eligible user, when due and not taken by another process."""

    def __init__(self, database: Database, syncer: BookmarkSyncer, interval: timedelta) -> None:
        self.database = database
        self.syncer = syncer
        self.interval = interval

    async def run_if_due(self) -> int | None:
        """Run when due and free: how many users were synced (None when not run)."""
        job = await scheduled_jobs.take(self.database, JOB_NAME, now=utcnow(), lease=JOB_LEASE)
        if job is None:
            return None
        synced, error = 0, None
        try:
            for user_id in await self._users():
                if not await scheduled_jobs.renew(self.database, job, now=utcnow(), lease=JOB_LEASE):
                    return synced  # another process took the job over
                synced += await self._sync(user_id)
        except Exception as exc:
            log.exception("X bookmarks auto-sync failed")
            error = repr(exc)
        finally:
            now = utcnow()
            next_run = scheduled_jobs.next_slot(now, self.interval)
            await scheduled_jobs.finish(self.database, job, now=now, next_run_at=next_run, error=error)
        return synced

    async def _users(self) -> list[str]:
        """Users with the beta switched on and an X connection, oldest first."""
        connected = exists().where(Connection.user_id == User.id, Connection.platform == PLATFORM)
        async with self.database.session() as session:
            found = await session.scalars(
                select(User.id).where(User.x_bookmarks_enabled.is_(True), connected).order_by(User.created_at)
            )
            return list(found)

    async def _sync(self, user_id: str) -> int:
        async with self.database.session() as session:
            user = await session.get(User, user_id)
            entitlements = await entitlements_of(session, user) if user is not None else None
        if entitlements is None or not entitlements.x_bookmarks:
            return 0
        try:
            await self.syncer.sync(user_id, entitlements, max_tweets=LATEST, trigger="scheduled", latest=True)
        except BookmarkError as exc:
            log.info("X bookmarks auto-sync of user %s: %s (%s)", user_id, exc.message, exc.code)
            return 0
        return 1


class XBookmarkJobs:
    """Runs the auto-sync checks and the media downloader until stopped (`run()`/`stop()`)."""

    def __init__(
        self, settings: Settings, database: Database, storage: Storage, *, sandbox_url: str | None
    ) -> None:
        self.settings = settings
        self.database = database
        self.storage = storage
        self.sandbox_url = sandbox_url
        self.adapters = Adapters(
            timeout=settings.platform_timeout_seconds, app_credentials=settings.platform_app
        )
        credentials = CredentialStore(database, SecretBox(settings.resolved_secret_key), sandbox_url)
        self.syncer = BookmarkSyncer(database, credentials, self.adapters)
        interval = timedelta(seconds=settings.x_bookmarks_sync_interval_seconds)
        self.auto_sync = AutoSync(database, self.syncer, interval) if interval.total_seconds() > 0 else None
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        async with aiohttp.ClientSession() as http:
            downloader = MediaDownloader(
                self.database,
                self.storage,
                http,
                sandbox_url=self.sandbox_url,
                timeout=max(self.settings.platform_timeout_seconds, 60.0),
            )
            try:
                await asyncio.gather(self._auto_sync_loop(), self._download_loop(downloader))
            finally:
                await self.adapters.close()

    def stop(self) -> None:
        self._stopping.set()

    async def _auto_sync_loop(self) -> None:
        if self.auto_sync is None:
            return
        wait = min(CHECK_EVERY, self.settings.x_bookmarks_poll_seconds * 12)
        while not self._stopping.is_set():
            try:
                await self.auto_sync.run_if_due()
            except Exception:
                log.exception("X bookmarks auto-sync check failed")
            await self._sleep(wait)

    async def _download_loop(self, downloader: MediaDownloader) -> None:
        while not self._stopping.is_set():
            try:
                claimed = await downloader.run_once()
            except Exception:
                log.exception("X bookmarks media download pass failed")
                claimed = 0
            if not claimed:
                await self._sleep(self.settings.x_bookmarks_poll_seconds)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
