"""Waking sleeping workers when posts become due sooner than they planned.

PostgreSQL: `NOTIFY postpost_due` inside the writing transaction (delivered on commit to every
listening worker on any host). In-process: an asyncio.Event per listening worker, set after commit.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from postpost.db.session import dialect_name

CHANNEL = "postpost_due"
_listeners: set[asyncio.Event] = set()


def subscribe() -> asyncio.Event:
    """An event that is set whenever this process commits newly due work."""
    waker = asyncio.Event()
    _listeners.add(waker)
    return waker


def unsubscribe(waker: asyncio.Event) -> None:
    _listeners.discard(waker)


def wake_local() -> None:
    for waker in list(_listeners):
        waker.set()


async def announce_due(session: AsyncSession) -> None:
    """Wake workers once the current transaction commits."""
    if dialect_name(session) == "postgresql":
        await session.execute(text(f"NOTIFY {CHANNEL}"))
    sync_session = session.sync_session
    if not event.contains(sync_session, "after_commit", _after_commit):
        event.listen(sync_session, "after_commit", _after_commit, once=True)


def _after_commit(_session: Session) -> None:
    wake_local()
