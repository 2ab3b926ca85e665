"""The worker loop: claim due posts, publish them concurrently, record outcomes in batches.

A worker sleeps until the next due time or until woken (PostgreSQL LISTEN/NOTIFY, reconnected
after a drop, or the in-process signal when the API runs in the same process). While a publish
is in flight its lease is renewed (heartbeat), so a long upload is never taken over; a publish
that exceeds the ceiling is abandoned and recorded as a timeout. Each platform may use only part
of the worker's slots, so one slow platform cannot hold them all. Stop it with `stop()`;
in-flight publishes finish and are recorded first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from datetime import datetime, timedelta

from postpost.config import Settings
from postpost.db import wakeup
from postpost.db.session import Database
from postpost.engine.claims import claim_due, next_due_time, release, renew_leases
from postpost.engine.media import MediaFiles
from postpost.engine.pacing import Candidate, admit
from postpost.engine.publisher import Outcome, Publisher
from postpost.engine.recorder import Recorder
from postpost.engine.work import WorkItem, load_work
from postpost.ids import utcnow
from postpost.platforms.base import ErrorCode, PlatformError
from postpost.platforms.registry import Adapters, adapter_classes, descriptor
from postpost.security import SecretBox
from postpost.services.credentials import CredentialStore
from postpost.storage import open_storage

log = logging.getLogger("postpost.worker")
IDLE_CHECK_SECONDS = 30.0
RECORD_BATCH = 256
LISTEN_RETRY_SECONDS = 1.0


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
        self.storage = open_storage(settings)
        self.publisher = Publisher(
            CredentialStore(database, self.box, sandbox_url), MediaFiles(database, self.storage)
        )
        self.adapters = Adapters(
            timeout=settings.platform_timeout_seconds, app_credentials=settings.platform_app
        )
        self.lease = timedelta(seconds=settings.lease_seconds)
        self._stop = asyncio.Event()
        self._waker = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._held: dict[str, str] = {}  # post id → lease token, from claim until recorded
        self._outcomes: asyncio.Queue[Outcome] = asyncio.Queue()
        self._publishing = asyncio.Semaphore(settings.worker_concurrency)
        self._platform_slots: dict[str, asyncio.Semaphore] = {}

    def stop(self) -> None:
        self._stop.set()
        self._waker.set()

    def wake(self) -> None:
        self._waker.set()

    async def run(self) -> None:
        """Work until `stop()`; then drain in-flight publishes and their records."""
        adapter_classes()  # import every platform now, not inside the first claim's lease
        local = wakeup.subscribe()
        background = [
            asyncio.create_task(self._record_loop()),
            asyncio.create_task(self._relay(local)),
            asyncio.create_task(self._heartbeat()),
            asyncio.create_task(self._listen()),
        ]
        try:
            await self._claim_loop()
        finally:
            if self._in_flight:
                await asyncio.gather(*self._in_flight, return_exceptions=True)
            await self._outcomes.join()
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            wakeup.unsubscribe(local)
            await self.adapters.close()
            await self.storage.close()

    async def _claim_loop(self) -> None:
        """Claim in batches of about `concurrency` posts, keeping up to one batch waiting for a slot.

        Claims a new batch only when no more than one batch is outstanding, so claims stay
        large under load and a lone due post is claimed at once when idle.
        """
        concurrency = self.settings.worker_concurrency
        while not self._stop.is_set():
            # outcomes waiting to be recorded still hold their leases: count them as outstanding
            outstanding = len(self._held)
            # Clear before deciding: a wake-up that arrives from here on is not lost.
            self._waker.clear()
            if outstanding > concurrency:
                await self._wait(None)
                continue
            limit = min(2 * concurrency - outstanding, self.settings.claim_batch)
            try:
                items, claimed, due = await self._claim(limit)
            except Exception:
                log.exception("claiming failed; retrying in 1 s")
                await self._wait(1.0)
                continue
            for item in items:
                self._start(item)
            if claimed == limit:
                continue
            delay = IDLE_CHECK_SECONDS if due is None else (due - utcnow()).total_seconds()
            if delay > 0:
                await self._wait(min(delay, IDLE_CHECK_SECONDS))

    async def _claim(self, limit: int) -> tuple[list[WorkItem], int, datetime | None]:
        """Claim, load and pace up to `limit` posts in one transaction; when fewer were due, also
        the next due time. Returns the items to publish and how many rows were claimed."""
        async with self.database.writing(), self.database.session() as session:
            now = utcnow()
            claims = await claim_due(
                session, now=now, limit=limit, lease=self.lease, worker_id=self.worker_id, exclude=self._held
            )
            items = await load_work(session, claims, self.box, self.sandbox_url) if claims else []
            waiting = await admit(session, [c for item in items if (c := _candidate(item))], now)
            if waiting:
                await release(
                    session,
                    [(i.claim, waiting[i.claim.post_id]) for i in items if i.claim.post_id in waiting],
                )
                items = [i for i in items if i.claim.post_id not in waiting]
            await session.commit()
            for item in items:
                self._held[item.claim.post_id] = item.claim.lease_token
            due = await next_due_time(session, utcnow()) if len(claims) < limit else None
            return items, len(claims), due

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

    def _slots(self, platform: str) -> asyncio.Semaphore:
        if platform not in self._platform_slots:
            described = descriptor(platform)
            cap = described.pacing.concurrency if described and described.pacing.concurrency else None
            default = max(1, self.settings.worker_concurrency * 3 // 4)
            self._platform_slots[platform] = asyncio.Semaphore(min(cap or default, default))
        return self._platform_slots[platform]

    async def _publish(self, item: WorkItem) -> None:
        outcome = Outcome(item)
        adapter = self.adapters.get(item.claim.platform)
        ceiling = self.settings.publish_ceiling_seconds
        try:
            async with self._slots(item.claim.platform), self._publishing:
                await asyncio.wait_for(self.publisher.run(outcome, adapter), ceiling)
        except TimeoutError:
            abandoned = PlatformError(
                ErrorCode.TIMEOUT_ERROR,
                f"Publishing took longer than {ceiling:g} s and was abandoned",
                maybe_published=True,
            )
            outcome.stop(abandoned, adapter.descriptor if adapter else None)
        except Exception as exc:  # an adapter bug must still end in a recorded status
            log.exception("publishing %s crashed", item.claim.post_id)
            crashed = PlatformError(
                ErrorCode.UNKNOWN_ERROR,
                f"Internal error while publishing: {type(exc).__name__}",
                maybe_published=True,
                retryable=False,
            )
            outcome.stop(crashed)
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
                for outcome in batch:
                    self._held.pop(outcome.item.claim.post_id, None)
                    self._outcomes.task_done()
                self._waker.set()

    async def _record(self, batch: list[Outcome]) -> None:
        for attempt in range(3):
            try:
                async with self.database.writing(), self.database.session() as session:
                    await self.recorder.record(session, batch)
                return
            except Exception:
                if attempt == 2:
                    raise
                await asyncio.sleep(0.1 * (attempt + 1))

    async def _heartbeat(self) -> None:
        """Renew the leases of held posts every third of a lease."""
        interval = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(interval)
            held = list(self._held.items())
            if not held:
                continue
            try:
                async with self.database.writing(), self.database.session() as session:
                    await renew_leases(session, held, utcnow() + self.lease)
            except Exception:
                log.exception("renewing %d leases failed; trying again", len(held))

    async def _listen(self) -> None:
        """LISTEN for other processes' NOTIFY on PostgreSQL, reconnecting after a drop."""
        if self.database.is_sqlite:
            return
        import asyncpg

        url = self.database.url.replace("postgresql+asyncpg://", "postgresql://", 1)
        while True:
            dropped = asyncio.Event()
            try:
                connection = await asyncpg.connect(url)
            except Exception as exc:  # noqa: BLE001 - the database may be briefly unreachable
                log.warning("LISTEN connection failed (%s); retrying", exc)
                await asyncio.sleep(LISTEN_RETRY_SECONDS)
                continue
            try:
                connection.add_termination_listener(lambda *_args, ended=dropped: ended.set())
                await connection.add_listener(wakeup.CHANNEL, lambda *_args: self._waker.set())
                self._waker.set()  # anything announced while we were not listening
                await dropped.wait()
                log.warning("LISTEN connection dropped; reconnecting")
            except Exception as exc:  # noqa: BLE001
                log.warning("LISTEN failed (%s); reconnecting", exc)
                await asyncio.sleep(LISTEN_RETRY_SECONDS)
            finally:
                with contextlib.suppress(Exception):
                    await connection.close(timeout=1)

    async def _relay(self, local: asyncio.Event) -> None:
        while True:
            await local.wait()
            local.clear()
            self._waker.set()


def _candidate(item: WorkItem) -> Candidate | None:
    """The pacing request of a claimed post, or None when it has no budget to respect."""
    described = descriptor(item.claim.platform)
    if item.is_sandbox or described is None or item.claim.connection_id is None:
        return None
    if item.claim.step_state is not None:  # a later step of a post already paid for
        return None
    return Candidate(item.claim.post_id, item.claim.platform, item.claim.connection_id, described.pacing)
