"""The worker loop: claim due posts, publish them concurrently, record outcomes in batches.

A worker sleeps until the next due time or until woken (PostgreSQL LISTEN/NOTIFY, or the
in-process signal when the API runs in the same process). Stop it with `stop()`; in-flight
publishes finish and are recorded first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from sqlalchemy import update

from postpost.config import Settings
from postpost.db import wakeup
from postpost.db.models import Connection
from postpost.db.session import Database
from postpost.engine.claims import claim_due, next_due_time
from postpost.engine.publisher import Outcome, publish_item, whole_post
from postpost.engine.recorder import Recorder
from postpost.engine.work import WorkItem, load_work
from postpost.ids import utcnow
from postpost.platforms.base import Credentials, ErrorCode, PlatformAdapter, PlatformError
from postpost.platforms.registry import ADAPTERS
from postpost.security import SecretBox

log = logging.getLogger("postpost.worker")
IDLE_CHECK_SECONDS = 30.0
RECORD_BATCH = 256


class Worker:
    """One worker: `concurrency` publishes in flight at most, one shared HTTP client."""

    def __init__(self, settings: Settings, database: Database, *, sandbox_url: str | None = None) -> None:
        self.settings = settings
        self.database = database
        self.box = SecretBox(settings.resolved_secret_key)
        self.sandbox_url = sandbox_url
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.recorder = Recorder(
            max_attempts=settings.max_attempts,
            retry_base_seconds=settings.retry_base_seconds,
            retry_max_seconds=settings.retry_max_seconds,
        )
        self._stop = asyncio.Event()
        self._waker = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._outcomes: asyncio.Queue[Outcome] = asyncio.Queue()
        self._adapters: dict[str, PlatformAdapter] = {}
        self._publishing = asyncio.Semaphore(settings.worker_concurrency)

    def stop(self) -> None:
        self._stop.set()
        self._waker.set()

    def wake(self) -> None:
        self._waker.set()

    async def run(self) -> None:
        """Work until `stop()`; then drain in-flight publishes and their records."""
        connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300)
        async with aiohttp.ClientSession(connector=connector) as http:
            self._adapters = {
                name: cls(http, timeout=self.settings.platform_timeout_seconds)
                for name, cls in ADAPTERS.items()
            }
            local = wakeup.subscribe()
            listener = await self._listen()
            recorder = asyncio.create_task(self._record_loop())
            relay = asyncio.create_task(self._relay(local))
            try:
                await self._claim_loop()
            finally:
                relay.cancel()
                if self._in_flight:
                    await asyncio.gather(*self._in_flight, return_exceptions=True)
                await self._outcomes.join()
                recorder.cancel()
                wakeup.unsubscribe(local)
                if listener is not None:
                    await listener.close()

    async def _claim_loop(self) -> None:
        """Claim in batches of about `concurrency` posts, keeping up to one batch waiting for a slot.

        Claims a new batch only when no more than one batch is outstanding, so claims stay
        large under load and a lone due post is claimed at once when idle.
        """
        lease = timedelta(seconds=self.settings.lease_seconds)
        concurrency = self.settings.worker_concurrency
        while not self._stop.is_set():
            # outcomes waiting to be recorded still hold their leases: count them as outstanding
            outstanding = len(self._in_flight) + self._outcomes.qsize()
            # Clear before deciding: a wake-up that arrives from here on is not lost.
            self._waker.clear()
            if outstanding > concurrency:
                await self._wait(None)
                continue
            limit = min(2 * concurrency - outstanding, self.settings.claim_batch)
            try:
                items, due = await self._claim(limit, lease)
            except Exception:
                log.exception("claiming failed; retrying in 1 s")
                await self._wait(1.0)
                continue
            for item in items:
                self._start(item)
            if len(items) == limit:
                continue
            delay = IDLE_CHECK_SECONDS if due is None else (due - utcnow()).total_seconds()
            if delay > 0:
                await self._wait(min(delay, IDLE_CHECK_SECONDS))

    async def _claim(self, limit: int, lease: timedelta) -> tuple[list[WorkItem], datetime | None]:
        """Claim and load up to `limit` posts; when fewer were due, also the next due time."""
        async with self.database.session() as session:
            claims = await claim_due(
                session, now=utcnow(), limit=limit, lease=lease, worker_id=self.worker_id
            )
            items = await load_work(session, claims, self.box, self.sandbox_url) if claims else []
            due = await next_due_time(session) if len(claims) < limit else None
            return items, due

    async def _wait(self, seconds: float | None) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._waker.wait(), seconds)

    def _start(self, item: WorkItem) -> None:
        task = asyncio.create_task(self._publish(item))
        self._in_flight.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._waker.set()

    async def _publish(self, item: WorkItem) -> None:
        try:
            async with self._publishing:
                outcome = await publish_item(
                    item, self._adapters.get(item.claim.platform), self._save_credentials
                )
        except Exception as exc:  # an adapter bug must still end in a recorded status
            log.exception("publishing %s crashed", item.claim.post_id)
            outcome = _crashed(item, exc)
        await self._outcomes.put(outcome)

    async def _record_loop(self) -> None:
        while True:
            batch = [await self._outcomes.get()]
            while not self._outcomes.empty() and len(batch) < RECORD_BATCH:
                batch.append(self._outcomes.get_nowait())
            try:
                await self._record(batch)
            except Exception:
                log.exception(
                    "recording %d outcomes failed; their leases will expire and be retried", len(batch)
                )
            finally:
                for _ in batch:
                    self._outcomes.task_done()
                self._waker.set()

    async def _record(self, batch: list[Outcome]) -> None:
        for attempt in range(3):
            try:
                async with self.database.session() as session:
                    await self.recorder.record(session, batch)
                return
            except Exception:
                if attempt == 2:
                    raise
                await asyncio.sleep(0.1 * (attempt + 1))

    async def _save_credentials(self, connection_id: str, creds: Credentials) -> None:
        async with self.database.session() as session:
            await session.execute(
                update(Connection)
                .where(Connection.id == connection_id)
                .values(secrets=self.box.encrypt(dict(creds.secrets)), updated_at=utcnow())
            )
            await session.commit()

    async def _listen(self) -> Any:
        """LISTEN for NOTIFY on PostgreSQL (other processes' new posts); None on SQLite."""
        if self.database.is_sqlite:
            return None
        import asyncpg

        url = self.database.url.replace("postgresql+asyncpg://", "postgresql://", 1)
        connection = await asyncpg.connect(url)
        await connection.add_listener(wakeup.CHANNEL, lambda *_args: self._waker.set())
        return connection

    async def _relay(self, local: asyncio.Event) -> None:
        while True:
            await local.wait()
            local.clear()
            self._waker.set()


def _crashed(item: WorkItem, exc: Exception) -> Outcome:
    outcome = Outcome(item, item.parts or [whole_post(item)])
    outcome.error = PlatformError(
        ErrorCode.UNKNOWN_ERROR, f"Internal error while publishing: {type(exc).__name__}"
    )
    outcome.failed_index = 0
    return outcome
