"""The webhook dispatcher: claim due deliveries from the outbox, POST them, record the attempts.

One loop does the database work: each turn is one transaction that records the attempts
finished since the last turn and claims the next batch, so a busy dispatcher writes in batches
and an idle one sleeps until the next delivery is due or until woken (NOTIFY postpost_webhooks
on PostgreSQL, the in-process signal otherwise), which `events.emit` triggers when the event's
transaction commits.

Up to `webhook_concurrency` requests are in flight, at most `webhook_concurrency_per_webhook`
of them per webhook, so a slow or dead receiver holds only its own share of the slots; each
request has a total timeout of `webhook_timeout_seconds`. A webhook may have up to eight
deliveries leased per slot of its share (so a busy fast webhook is claimed in large batches), and
up to CLAIM_BATCH claimed deliveries may wait for a free slot.

A dispatcher killed mid-delivery leaves its claims leased; they return to the queue when the
lease expires and are sent again with the same event id. The lease covers the waiting as well
as the request: at least nine timeouts plus a margin.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

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
from postpost.net.webhook_client import PostResult, WebhookClient
from postpost.security import SecretBox
from postpost.services.webhook_signing import signed_headers
from postpost.services.webhooks import signing_secrets

log = logging.getLogger("postpost.webhooks")
IDLE_CHECK_SECONDS = 30.0
PACE_SECONDS = 0.05  # pause when due deliveries are held back by their webhook's share
CLAIM_BATCH = 128
LEASED_PER_SLOT = 8
LEASE_MARGIN_SECONDS = 5.0


def _unsynchronised_engine(database: Database) -> AsyncEngine:
    """PostgreSQL connections whose commits do not wait for the WAL flush: a commit lost in a
    database crash only means a delivery is claimed or sent again after its lease."""
    return create_async_engine(
        database.url,
        pool_size=2,
        max_overflow=2,
        connect_args={"server_settings": {"synchronous_commit": "off"}},
    )


class _Gate:
    """One webhook's share of the request slots, kept while any of its deliveries is here."""

    def __init__(self, slots: int) -> None:
        self.slots = asyncio.Semaphore(slots)
        self.users = 0


class WebhookDispatcher:
    """One dispatcher per process is enough: its requests are concurrent, its writes batched."""

    def __init__(self, settings: Settings, database: Database, *, guard: UrlGuard | None = None) -> None:
        self.settings = settings
        self.database = database
        self.box = SecretBox(settings.resolved_secret_key)
        self.guard = guard or UrlGuard(allow_private=settings.webhooks_allow_private)
        self.client = WebhookClient(self.guard, timeout=settings.webhook_timeout_seconds)
        timeout = settings.webhook_timeout_seconds
        self.lease = timedelta(
            seconds=max(
                settings.webhook_lease_seconds, (LEASED_PER_SLOT + 1) * timeout + LEASE_MARGIN_SECONDS
            )
        )
        self._engine = database.engine if database.is_sqlite else _unsynchronised_engine(database)
        self._stop = asyncio.Event()
        self._waker = asyncio.Event()
        self._sending = asyncio.Semaphore(settings.webhook_concurrency)
        self._gates: dict[str, _Gate] = {}
        self._held_back = 0  # deliveries waiting for their webhook's share of the slots
        self._in_flight: set[asyncio.Task[None]] = set()
        self._finished: list[Attempted] = []
        self._claim_wanted = True  # something may be due: new events, a due time reached, a full claim
        self._wakes = 0  # counts wake(), so a wake-up during a claim is not forgotten
        self._next_due: datetime | None = None
        self._secrets: dict[tuple[str, str | None], list[str]] = {}

    def stop(self) -> None:
        self._stop.set()
        self._waker.set()

    def wake(self) -> None:
        """New deliveries were committed."""
        self._claim_wanted = True
        self._wakes += 1
        self._waker.set()

    async def run(self) -> None:
        """Deliver until `stop()`; then finish in-flight requests and record them."""
        local = WEBHOOKS.subscribe()
        listener = await self._listen()
        relay = asyncio.create_task(self._relay(local))
        try:
            await self._loop()
        finally:
            relay.cancel()
            if self._in_flight:
                await asyncio.gather(*self._in_flight, return_exceptions=True)
            await self._flush()
            WEBHOOKS.unsubscribe(local)
            if listener is not None:
                await listener.close()
            await self.client.close()
            if self._engine is not self.database.engine:
                await self._engine.dispose()

    # --- the database loop ---------------------------------------------------------------------------

    async def _loop(self) -> None:
        while not self._stop.is_set():
            self._waker.clear()  # before deciding: a wake-up from here on is not lost
            if self._next_due is not None and self._next_due <= utcnow():
                self._claim_wanted, self._next_due = True, None
            finished, self._finished = self._finished, []  # recorded before this turn's claim
            if finished:  # recording them frees their webhooks' shares: claim in the same turn
                self._claim_wanted = True
            limit = self._claim_limit() if self._claim_wanted else 0
            if not finished and not limit:
                await self._wait(self._sleep_seconds())
                continue
            wakes = self._wakes
            try:
                jobs, due, retry_due = await self._sync(finished, limit)
            except Exception:
                log.exception("webhook outbox transaction failed; retrying in 1 s")
                self._finished[:0] = finished
                await self._wait(1.0)
                continue
            for job in jobs:
                self._start(job)
            self._plan(limit, len(jobs), due, retry_due, woken=self._wakes != wakes)

    def _claim_limit(self) -> int:
        """How many to claim now: nothing until at least half a batch fits."""
        outstanding = len(self._in_flight) - self._held_back + len(self._finished)
        room = self.settings.webhook_concurrency + CLAIM_BATCH - outstanding
        return min(room, CLAIM_BATCH) if room >= CLAIM_BATCH // 2 else 0

    def _plan(
        self, limit: int, claimed: int, due: datetime | None, retry_due: datetime | None, *, woken: bool
    ) -> None:
        """After a turn: claim again at once after a full claim or a wake-up during it, else at
        the next due time."""
        if limit and claimed < limit and not woken:
            self._claim_wanted = False
            if due is not None and due <= utcnow():  # held back by a webhook's share, or locked
                due = utcnow() + timedelta(seconds=PACE_SECONDS)
            self._next_due = due
        if retry_due is not None and (self._next_due is None or retry_due < self._next_due):
            self._next_due = retry_due

    def _sleep_seconds(self) -> float:
        if self._next_due is None:
            return IDLE_CHECK_SECONDS
        return min(max((self._next_due - utcnow()).total_seconds(), 0.0), IDLE_CHECK_SECONDS)

    async def _sync(
        self, finished: Sequence[Attempted], limit: int
    ) -> tuple[list[Job], datetime | None, datetime | None]:
        """One transaction: record `finished`, claim up to `limit`, and the next due time when
        fewer were due."""
        async with self.database.writing(), self._engine.connect() as conn:
            now = utcnow()
            retry_due = await record_attempts(
                conn, finished, retry_seconds=self.settings.webhook_retry_seconds, now=now
            )
            jobs = await claim_deliveries(
                conn,
                now=now,
                limit=limit,
                lease=self.lease,
                per_webhook=LEASED_PER_SLOT * self.settings.webhook_concurrency_per_webhook,
            )
            due = await next_delivery_time(conn) if limit and len(jobs) < limit else None
            await conn.commit()
        return jobs, due, retry_due

    async def _flush(self) -> None:
        """Record what finished before stopping (their leases would expire otherwise)."""
        for attempt in range(3):
            finished, self._finished = self._finished, []
            if not finished:
                return
            try:
                await self._sync(finished, 0)
                return
            except Exception:
                log.exception("recording %d webhook attempts failed (attempt %d)", len(finished), attempt + 1)
                self._finished[:0] = finished
                await asyncio.sleep(0.2)

    async def _wait(self, seconds: float | None) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._waker.wait(), seconds)

    # --- sending -------------------------------------------------------------------------------------

    def _start(self, job: Job) -> None:
        task = asyncio.create_task(self._deliver(job))
        self._in_flight.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._waker.set()

    async def _deliver(self, job: Job) -> None:
        gate = self._gates.get(job.webhook_id)
        if gate is None:
            gate = self._gates[job.webhook_id] = _Gate(self.settings.webhook_concurrency_per_webhook)
        gate.users += 1
        held = gate.slots.locked()
        self._held_back += held
        try:
            async with gate.slots:
                self._held_back -= held
                held = False
                async with self._sending:
                    try:
                        result = await self._send(job)
                    except Exception as exc:  # e.g. an undecryptable secret: a failed attempt all the same
                        log.exception("sending delivery %s failed", job.delivery_id)
                        result = PostResult(None, f"Internal error: {type(exc).__name__}", 0)
        finally:
            self._held_back -= held
            gate.users -= 1
            if gate.users == 0:
                del self._gates[job.webhook_id]
        self._finished.append(Attempted(job, result, utcnow()))

    async def _send(self, job: Job) -> PostResult:
        body = job.payload.encode()
        headers = signed_headers(
            event=job.event,
            event_id=job.event_id,
            body=body,
            secrets=self._signing_secrets(job),
            timestamp=int(time.time()),
        )
        return await self.client.post(job.url, body, headers)

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

    # --- wake-ups ------------------------------------------------------------------------------------

    async def _listen(self) -> Any:
        """LISTEN on PostgreSQL (events committed by other processes); None on SQLite."""
        if self.database.is_sqlite:
            return None
        return await WEBHOOKS.listen(self.database.url, self.wake)

    async def _relay(self, local: asyncio.Event) -> None:
        while True:
            await local.wait()
            local.clear()
            self.wake()
