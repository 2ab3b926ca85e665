"""`postpost serve` and `postpost worker` run the token upkeep job (holding its lease while they
run, releasing it when stopped)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from postpost.config import async_database_url
from postpost.db.migrate import upgrade
from postpost.db.models import Connection, JobLease
from postpost.db.session import Database
from postpost.security import SecretBox
from postpost.services import accounts, connections
from tests.conftest import SECRET
from tests.test_serve import free_port

POSTPOST = str(Path(sys.executable).with_name("postpost"))


async def wait_for(check: Callable[[], object], seconds: float = 30.0) -> None:
    for _ in range(int(seconds / 0.1)):
        if await check():  # type: ignore[misc]
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not met in time")


@pytest.fixture
def fresh_url(engine_name: str, new_database_url: Callable[[str], str]) -> str:
    """A fresh database for this test (made outside the event loop)."""
    return new_database_url(engine_name)


@pytest.mark.parametrize("command", [["worker"], ["serve"]])
async def test_process_runs_the_job_and_releases_its_lease(
    command: list[str], fresh_url: str, tmp_path: Path
) -> None:
    url = fresh_url
    database = Database(async_database_url(url))
    await upgrade(database)
    async with database.session() as session:
        user = await accounts.create_user(session, "upkeep@example.com")
        expiring = await connections.add_connection(
            session,
            SecretBox(SECRET.encode()),
            user_id=user.id,
            platform="linkedin",
            account_id="member1",
            secrets={"access_token": "t"},
            expires_at=datetime.now(UTC) + timedelta(days=3),
        )
        await session.commit()
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTPOST_")}
    env.update(
        POSTPOST_DATA_DIR=str(tmp_path),
        POSTPOST_SECRET_KEY=SECRET,
        POSTPOST_DATABASE_URL=url,
        POSTPOST_PORT=str(free_port()),
        POSTPOST_TOKEN_UPKEEP_INTERVAL_SECONDS="0.2",
    )
    process = await asyncio.create_subprocess_exec(
        POSTPOST,
        *command,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        async def noticed() -> bool:
            async with database.session() as session:
                row = await session.get(Connection, expiring.id)
                return row is not None and row.expiry_notice_for is not None

        async def leased() -> bool:
            async with database.session() as session:
                return (
                    await session.scalar(select(JobLease.holder).where(JobLease.name == "token-upkeep"))
                    is not None
                )

        await wait_for(noticed)
        assert await leased()
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 20)

        async def released() -> bool:
            return not await leased()

        await wait_for(released, 5)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await database.dispose()
