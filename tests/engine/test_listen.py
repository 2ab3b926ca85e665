"""A `postpost worker` process learns of new posts by LISTEN/NOTIFY, and reconnects after a drop."""

from __future__ import annotations

import asyncpg
import pytest

from tests.engine.conftest import wait_until
from tests.engine.test_crash import spawn, wait_ready

IDLE_RECHECK_SECONDS = 30  # an idle worker that hears nothing only looks again after this long


@pytest.fixture
def engine_name() -> str:
    return "postgresql"


async def listening(url: str) -> list[int]:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND query LIKE 'LISTEN %postpost_due%'"
        )
    finally:
        await connection.close()
    return [row["pid"] for row in rows]


async def test_listen_connection_reconnects_after_being_terminated(harness, engine_database_url, tmp_path):
    worker = spawn(engine_database_url, harness.simulator, tmp_path, 0)
    try:
        await wait_ready(tmp_path, 0)
        user = await harness.user()
        pid = await harness.sandbox(user, "mastodon")
        await wait_until(lambda: listening(engine_database_url), 30.0, lambda: "the worker never listened")
        [old] = await listening(engine_database_url)
        # the worker is alive and hears NOTIFY: a post is published at once
        first = await harness.create(user, "before the drop", [pid])
        await harness.wait_finished(user, first, 10.0)

        admin = await asyncpg.connect(engine_database_url)
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", old)
        finally:
            await admin.close()

        async def replaced() -> bool:
            now = await listening(engine_database_url)
            return bool(now) and old not in now

        await wait_until(replaced, 15.0, lambda: "the worker did not LISTEN again")
        second = await harness.create(user, "after the drop", [pid])
        # well before an idle worker's own recheck: the NOTIFY was heard on the new connection
        await harness.wait_finished(user, second, IDLE_RECHECK_SECONDS / 3)
        assert [p["text"] for p in await harness.sent()] == ["before the drop", "after the drop"]
    finally:
        worker.terminate()
        worker.wait(10)
    assert worker.returncode == 0
