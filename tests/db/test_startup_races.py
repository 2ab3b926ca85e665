"""Processes starting at the same moment: migrations take turns, the key fingerprint is recorded once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from postpost.config import async_database_url
from postpost.db.migrate import current_revision, head_revision, upgrade
from postpost.db.models import InstanceMeta
from postpost.db.session import Database
from postpost.errors import Misconfigured
from postpost.security import key_fingerprint
from postpost.services.instance import verify_secret_key

POSTPOST = str(Path(sys.executable).with_name("postpost"))
STARTERS = 6
DEADLINE = 120.0  # seconds: without the lock, concurrent migrations fail or wait on each other forever


@pytest.fixture
def fresh_pg_url(new_database_url: Callable[[str], str]) -> str:
    return new_database_url("postgresql")


@pytest.fixture
def fresh_url(engine_name: str, new_database_url: Callable[[str], str]) -> str:
    return new_database_url(engine_name)


async def test_concurrent_upgrades_on_one_fresh_postgresql_database(fresh_pg_url: str) -> None:
    databases = [Database(async_database_url(fresh_pg_url)) for _ in range(STARTERS)]
    try:
        results = await asyncio.wait_for(
            asyncio.gather(*(upgrade(d) for d in databases), return_exceptions=True), DEADLINE
        )
        assert results == [None] * STARTERS
        assert await current_revision(databases[0]) == head_revision()
    finally:
        for database in databases:
            await database.dispose()


def test_concurrent_processes_start_on_one_fresh_postgresql_database(
    fresh_pg_url: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTPOST_")}
    env.update(
        POSTPOST_DATABASE_URL=fresh_pg_url, POSTPOST_SECRET_KEY="shared", POSTPOST_DATA_DIR=str(tmp_path)
    )
    processes = [
        subprocess.Popen(
            [POSTPOST, "db", "upgrade", "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    try:
        outputs = [p.communicate(timeout=DEADLINE) for p in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert [p.returncode for p in processes] == [0] * 4, outputs
    assert all(out == '{"upgraded": true}\n' for out, _ in outputs)


async def test_fingerprint_recorded_once_by_concurrent_starters(fresh_url: str) -> None:
    database = Database(async_database_url(fresh_url))
    try:
        await upgrade(database)

        async def start(key: bytes) -> None:
            async with database.session() as session:
                await verify_secret_key(session, key, source="test")

        await asyncio.gather(*(start(b"same-key") for _ in range(STARTERS)))
        async with database.session() as session:
            rows = await session.scalar(select(func.count()).select_from(InstanceMeta))
            stored = await session.scalar(select(InstanceMeta.value))
        assert rows == 1
        assert stored == key_fingerprint(b"same-key") and b"same-key".hex() not in str(stored)
        with pytest.raises(Misconfigured, match=r"The secret key \(test\) is not the key"):
            await start(b"other-key")
        await start(b"same-key")
    finally:
        await database.dispose()
