"""The webhook dispatcher: claim due deliveries from the outbox, POST them, record attempts in batches.

It sleeps until the next delivery is due or until woken (NOTIFY postpost_webhooks on PostgreSQL,
the in-process signal otherwise), which `events.emit` triggers when the event's transaction
commits. Up to `webhook_concurrency` requests are in flight, at most
`webhook_concurrency_per_webhook` of them per webhook; each has a total timeout of
`webhook_timeout_seconds`. A dispatcher killed mid-delivery leaves its claims leased; they
return to the queue when the lease expires and are sent again with the same event id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import datetime, timedelta
from typing import Any

from postpost.config import Settings
from postpost.db.session import Database
from postpost.db.signals import WEBHOOKS
from postpost.engine.webhook_outbox import (
    Attempted,
    Job,
    claim_deliveries,
    next_delivery_time,
    record_attempts,
)
from postpost.ids import utcnow
from postpost.net.url_guard import UrlGuard
from postpost.net.webhook_client import WebhookClient
from postpost.security import SecretBox
from postpost.services.webhook_signing import signed_headers
from postpost.services.webhooks import signing_secrets

log = logging.getLogger("postpost.webhooks")
IDLE_CHECK_SECONDS = 30.0
CAPPED_RECHECK_SECONDS = 0.5  # due deliveries held back only by another process's per-webhook cap
CLAIM_BATCH = 64
RECORD_BATCH = 256
LEASE_MARGIN_SECONDS = 5.0


class WebhookDispatcher:
    """One dispatcher per process is enough: its requests are concurrent, its writes batched."""

    def __init__(self, settings: Settings, database: Database, *, guard: UrlGuard | None = None) -> None:
        self.settings = settings
        self.database = database
        self.box = SecretBox(settings.resolved_secret_key)
        self.guard = guard or UrlGuard(allow_private=settings.webhooks_allow_private)
        self.client = WebhookClient(self.guard, timeout=settings.webhook_timeout_seconds)
        self.lease = timedelta(
            seconds=max(
                settings.webhook_lease_seconds, settings.webhook_timeout_seconds + LEASE_MARGIN_SECONDS
            )
        )
        self._stop = asyncio.Event()
        self._waker = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._attempted: asyncio.Queue[Attempted] = asyncio.Queue()
        self._secrets: dict[tuple[str, str | None], list[str]] = {}

    def stop(self) -> None:
        self._stop.set()
        self._waker.set()

    def wake(self) -> None:
        self._waker.set()

    async def run(self) -> None:
        """Deliver until `stop()`; then finish in-flight requests and record them."""
        local = WEBHOOKS.subscribe()
        listener = await self._listen()
        recorder = asyncio.create_task(self._record_loop())
        relay = asyncio.create_task(self._relay(local))
        try:
            await self._claim_loop()
        finally:
            relay.cancel()
            if self._in_flight:
                await asyncio.gather(*self._in_flight, return_exceptions=True)
            await self._attempted.join()
            recorder.cancel()
            WEBHOOKS.unsubscribe(local)
            if listener is not None:
                await listener.close()
            await self.client.close()

    async def _claim_loop(self) -> None:
        concurrency = self.settings.webhook_concurrency
        while not self._stop.is_set():
            outstanding = len(self._in_flight) + self._attempted.qsize()
            self._waker.clear()  # before deciding: a wake-up from here on is not lost
            if outstanding >= concurrency:
                await self._wait(None)
                continue
            limit = min(concurrency - outstanding, CLAIM_BATCH)
            try:
                jobs, due = await self._claim(limit)
            except Exception:
                log.exception("claiming webhook deliveries failed; retrying in 1 s")
                await self._wait(1.0)
                continue
            for job in jobs:
                self._start(job)
            if len(jobs) == limit:
                continue
            delay = IDLE_CHECK_SECONDS if due is None else (due - utcnow()).total_seconds()
            if delay <= 0 and not jobs:
                delay = CAPPED_RECHECK_SECONDS
            if delay > 0:
                await self._wait(min(delay, IDLE_CHECK_SECONDS))

    async def _claim(self, limit: int) -> tuple[list[Job], datetime | None]:
        async with self.database.session() as session:
            jobs = await claim_deliveries(
                session,
                now=utcnow(),
                limit=limit,
                lease=self.lease,
                per_webhook=self.settings.webhook_concurrency_per_webhook,
            )
            due = await next_delivery_time(session) if len(jobs) < limit else None
            return jobs, due

    async def _wait(self, seconds: float | None) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._waker.wait(), seconds)

    def _start(self, job: Job) -> None:
        task = asyncio.create_task(self._deliver(job))
        self._in_flight.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._waker.set()

    async def _deliver(self, job: Job) -> None:
        body = job.payload.encode()
        headers = signed_headers(
            event=job.event,
            event_id=job.event_id,
            body=body,
            secrets=self._signing_secrets(job),
            timestamp=int(time.time()),
        )
        result = await self.client.post(job.url, body, headers)
        await self._attempted.put(Attempted(job, result, utcnow()))

    def _signing_secrets(self, job: Job) -> list[str]:
        """Decrypted secrets, cached by their ciphertexts (a rotation changes the key)."""
        now = utcnow()
        expires = job.previous_secret_expires_at
        previous = job.previous_secret if expires is not None and expires > now else None
        found = self._secrets.get((job.secret, previous))
        if found is None:
            if len(self._secrets) > 1024:
                self._secrets.clear()
            found = signing_secrets(self.box, job.secret, previous, expires, now)
            self._secrets[(job.secret, previous)] = found
        return found

    async def _record_loop(self) -> None:
        while True:
            batch = [await self._attempted.get()]
            while not self._attempted.empty() and len(batch) < RECORD_BATCH:
                batch.append(self._attempted.get_nowait())
            try:
                await self._record(batch)
            except Exception:
                log.exception("recording %d webhook attempts failed; their leases will expire", len(batch))
            finally:
                for _ in batch:
                    self._attempted.task_done()
                self._waker.set()

    async def _record(self, batch: list[Attempted]) -> None:
        for attempt in range(3):
            try:
                async with self.database.session() as session:
                    await record_attempts(
                        session, batch, retry_seconds=self.settings.webhook_retry_seconds, now=utcnow()
                    )
                return
            except Exception:
                if attempt == 2:
                    raise
                await asyncio.sleep(0.1 * (attempt + 1))

    async def _listen(self) -> Any:
        """LISTEN on PostgreSQL (events committed by other processes); None on SQLite."""
        if self.database.is_sqlite:
            return None
        return await WEBHOOKS.listen(self.database.url, self.wake)

    async def _relay(self, local: asyncio.Event) -> None:
        while True:
            await local.wait()
            local.clear()
            self._waker.set()
