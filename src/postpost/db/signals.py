"""Named wake-up channels: wake sleepers once a transaction that created work for them commits.

PostgreSQL: `NOTIFY <name>` inside the writing transaction, delivered on commit to every process
listening on any host. In-process: an asyncio.Event per subscriber, set after the commit.
(`wakeup.py` is the same mechanism for due posts.)
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from postpost.db.session import dialect_name


class WakeChannel:
    """One channel: `announce(session)` in a transaction, `subscribe()` to be woken after it commits."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._listeners: set[asyncio.Event] = set()

    def subscribe(self) -> asyncio.Event:
        waker = asyncio.Event()
        self._listeners.add(waker)
        return waker

    def unsubscribe(self, waker: asyncio.Event) -> None:
        self._listeners.discard(waker)

    def wake_local(self) -> None:
        for waker in list(self._listeners):
            waker.set()

    async def announce(self, session: AsyncSession) -> None:
        """Wake the subscribers (here and, on PostgreSQL, everywhere) once the transaction commits."""
        if dialect_name(session) == "postgresql":
            await session.execute(text(f"NOTIFY {self.name}"))
        sync_session = session.sync_session
        sync_session.info[self._flag] = True
        if not event.contains(sync_session, "after_commit", self._after_commit):
            event.listen(sync_session, "after_commit", self._after_commit)

    @property
    def _flag(self) -> str:
        return f"wake:{self.name}"

    def _after_commit(self, session: Session) -> None:
        if session.info.pop(self._flag, False):
            self.wake_local()

    async def listen(self, database_url: str, callback: Any) -> Any:
        """A dedicated asyncpg connection calling `callback()` on every NOTIFY; close it when done."""
        import asyncpg

        url = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
        connection = await asyncpg.connect(url)
        await connection.add_listener(self.name, lambda *_args: callback())
        return connection


WEBHOOKS = WakeChannel("postpost_webhooks")
