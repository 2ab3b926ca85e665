"""Writers of one process take turns on SQLite instead of failing or sleeping on its file lock."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text

from postpost.db.session import Database

WRITERS = 6


async def _bump(database: Database, order: list[int], index: int) -> None:
    """Read the counter, yield to the other writers, then write it back plus one."""
    async with database.writing(), database.engine.connect() as conn:
        order.append(index)
        value = await conn.scalar(text("SELECT n FROM counter"))
        await asyncio.sleep(0.01)
        await conn.execute(text("UPDATE counter SET n = :n"), {"n": value + 1})
        await conn.commit()


async def test_concurrent_read_then_write_transactions_all_finish(tmp_path: Path) -> None:
    # Without the turns the writers interleave: every one reads 0 and the counter ends at 1
    # (or a writer fails with "database is locked"); with them each sees the previous write.
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}")
    try:
        async with database.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
            await conn.execute(text("INSERT INTO counter (n) VALUES (0)"))
        order: list[int] = []
        results = await asyncio.gather(
            *(_bump(database, order, i) for i in range(WRITERS)), return_exceptions=True
        )
        assert results == [None] * WRITERS
        async with database.engine.connect() as conn:
            assert await conn.scalar(text("SELECT n FROM counter")) == WRITERS
        assert order == list(range(WRITERS))  # in arrival order
    finally:
        await database.dispose()
