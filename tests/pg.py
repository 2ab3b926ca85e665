"""A real PostgreSQL for the test run: the local server if one answers, else a throwaway one.

Order: POSTPOST_TEST_PG_URL; a server on 127.0.0.1:5432 (trust auth, user postgres); a throwaway
server started from the `pgserver` wheel in a temporary directory. Never skipped silently: if none
can be had, the run fails.

Under pytest-xdist every worker process has its own `PostgresServer`: its own databases (named
after the worker) and, in the fallback, its own server directory (pgserver listens on a Unix
socket in it, so no two workers compete for a port).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import tempfile
from pathlib import Path
from typing import Any

import asyncpg

LOCAL_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


class PostgresServer:
    """Hands out fresh databases on one server and drops them at the end."""

    def __init__(self) -> None:
        self.admin_url = ""
        self._embedded: Any = None
        self._created: list[str] = []

    def start(self) -> None:
        explicit = os.environ.get("POSTPOST_TEST_PG_URL")
        if explicit:
            self.admin_url = explicit
        elif _port_open("127.0.0.1", 5432) and asyncio.run(_can_connect(LOCAL_URL)):
            self.admin_url = LOCAL_URL
        else:
            import fcntl

            import pgserver

            # One start at a time: as root, pgserver's first start creates a system user, and
            # parallel test workers doing so at once fail.
            with (Path(tempfile.gettempdir()) / "postpost-pg-start.lock").open("w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                self._embedded = pgserver.get_server(
                    tempfile.mkdtemp(prefix=f"postpost-pg-{worker_name()}-"), cleanup_mode="delete"
                )
            self.admin_url = self._embedded.get_uri()

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create database `name` (a copy of database `template` if given); its plain URL.

        Its commits do not wait for the log to reach the disk (`synchronous_commit` off): only a
        crash of the server could lose them, and a test database does not outlive the run.
        """
        copy = f' TEMPLATE "{template}"' if template else ""
        asyncio.run(
            _execute(
                self.admin_url,
                f'CREATE DATABASE "{name}"{copy}',
                f'ALTER DATABASE "{name}" SET synchronous_commit TO off',
            )
        )
        self._created.append(name)
        return _with_database(self.admin_url, name)

    def stop(self) -> None:
        """Drop the databases made here; a throwaway server goes away with its directory instead."""
        if self._embedded is not None:
            self._embedded.cleanup()
        else:
            asyncio.run(self._drop_all())

    async def _drop_all(self) -> None:
        """Drop the databases made here, a few at a time: each drop waits on a checkpoint, which
        concurrent drops share."""
        limit = asyncio.Semaphore(8)

        async def drop(name: str) -> None:
            async with limit:
                with contextlib.suppress(Exception):  # best effort at teardown
                    await _execute(self.admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        await asyncio.gather(*(drop(name) for name in self._created))


def worker_name() -> str:
    """This pytest-xdist worker's id (`gw0`, `gw1`, …), or `main` when the tests run in one process."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


async def _can_connect(url: str) -> bool:
    try:
        connection = await asyncpg.connect(url, timeout=5)
    except Exception:  # noqa: BLE001 - any failure means "not usable"
        return False
    await connection.close()
    return True


async def _execute(url: str, *statements: str) -> None:
    connection = await asyncpg.connect(url, timeout=10)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def _with_database(url: str, name: str) -> str:
    scheme, rest = url.split("://", 1)
    credentials_host, _, tail = rest.partition("/")
    query = ""
    if "?" in tail:
        query = "?" + tail.split("?", 1)[1]
    return f"{scheme}://{credentials_host}/{name}{query}"
