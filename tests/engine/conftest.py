"""Engine fixtures: a fresh database per test, the API over ASGI, workers as asyncio tasks, the simulator.

Workers claim every due post of their database, so each engine test gets its own database.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from postpost.api.app import create_app
from postpost.config import Settings, async_database_url
from postpost.db.models import Connection, PostGroup
from postpost.db.session import Database
from postpost.engine.worker import IDLE_CHECK_SECONDS, Worker
from postpost.errors import PostpostError
from postpost.sandbox import add_sandbox_connection
from postpost.security import KeyHasher, SecretBox
from postpost.services import accounts, posts
from postpost.services.auth import authenticate
from postpost.services.media import file_for_download
from postpost.storage.local import URL_PATH, LocalStorage
from tests.conftest import SECRET, ServerThread, TestUser, free_port

# No plan limit gets in the way of engine tests (hundreds of posts due at once).
UNLIMITED = {
    "apiAccess": True,
    "monthlyPosts": None,
    "scheduledPosts": None,
    "scheduleHorizonDays": None,
    "connections": None,
    "allowedPlatforms": None,
}
TERMINAL = ("published", "failed", "partially_published")
# Seconds a worker waits for one platform call: far more than an answer takes on a loaded machine
# (parallel test processes), far less than the simulator's stall on `timeout-after-commit`.
PLATFORM_TIMEOUT = 1.5
# Seconds within which a worker must publish a post once woken or due: generous for a loaded
# machine, yet far below the idle check that a worker missing its wake-up or timer would wait for.
PROMPT = IDLE_CHECK_SECONDS / 6


def iso_ms(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def engine_settings(database_url: str, data_dir: Path, simulator: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        database_url=database_url,
        secret_key=SECRET,
        data_dir=data_dir,
        sandbox_url=simulator,
        platform_timeout_seconds=PLATFORM_TIMEOUT,
        retry_base_seconds=0.2,
        lease_seconds=5,
        worker_concurrency=16,
    )
    values.update(overrides)
    return Settings(**values)


@dataclass
class Harness:
    """One database, the API on it, the simulator, and the workers started with `start_workers`."""

    settings: Settings
    database: Database
    simulator: str
    client: httpx.AsyncClient
    control: httpx.AsyncClient
    workers: list[tuple[Worker, asyncio.Task[None]]] = field(default_factory=list)
    extra_databases: list[Database] = field(default_factory=list)

    # --- workers -----------------------------------------------------------------------------------------

    def start_workers(self, count: int = 1, *, separate_databases: bool = False) -> None:
        for _ in range(count):
            database = self.database
            if separate_databases:
                database = Database(self.settings.resolved_database_url)
                self.extra_databases.append(database)
            worker = Worker(self.settings, database, sandbox_url=self.simulator)
            self.workers.append((worker, asyncio.create_task(worker.run())))

    async def stop_workers(self) -> None:
        for worker, _task in self.workers:
            worker.stop()
        for _worker, task in self.workers:
            await asyncio.wait_for(task, 20)
        self.workers.clear()
        for database in self.extra_databases:
            await database.dispose()
        self.extra_databases.clear()

    # --- users, connections, posts -----------------------------------------------------------------------

    async def user(self, plan: str = "pro") -> TestUser:
        email = f"user-{secrets.token_hex(6)}@example.com"
        async with self.database.session() as session:
            user = await accounts.create_user(session, email, plan=plan)
            user.entitlements = dict(UNLIMITED)
            key = await accounts.create_key(session, KeyHasher(SECRET.encode()), user.id)
            await session.commit()
        return TestUser(user.id, email, key.raw)

    async def sandbox(self, user: TestUser, platform: str) -> str:
        async with self.database.session() as session:
            connection = await add_sandbox_connection(session, SecretBox(SECRET.encode()), user.id, platform)
            await session.commit()
            return connection.compound_id

    async def expire_access_token(self, platform_id: str) -> None:
        """Make a connection's auto-refreshed access token look expired (its end is in the secrets)."""
        platform, account = platform_id.split("-", 1)
        box = SecretBox(SECRET.encode())
        async with self.database.session() as session:
            connection = await session.scalar(
                select(Connection).where(Connection.platform == platform, Connection.account_id == account)
            )
            assert connection is not None
            past = int((datetime.now(UTC) - timedelta(minutes=1)).timestamp())
            connection.secrets = box.encrypt(
                box.decrypt(connection.secrets) | {"access_expires_at": str(past)}
            )
            await session.commit()

    async def create(
        self, user: TestUser, content: str, platforms: list[str], at: datetime | None | str = "now"
    ) -> str:
        body: dict[str, Any] = {"content": content, "platforms": platforms}
        if at == "now":
            body["scheduledTime"] = iso_ms(datetime.now(UTC))
        elif isinstance(at, datetime):
            body["scheduledTime"] = iso_ms(at)
        r = await self.client.post("/api/v1/create-post", headers=user.headers, json=body)
        assert r.status_code == 200, r.text
        return str(r.json()["postGroupId"])

    async def bulk_create(self, user: TestUser, items: list[tuple[str, list[str]]]) -> list[str]:
        """Create many groups due now through the services (no HTTP per post), one commit each."""
        ids = []
        async with self.database.session() as session:
            principal = await authenticate(session, KeyHasher(SECRET.encode()), api_key=user.api_key)
            await session.commit()
            now = iso_ms(datetime.now(UTC))
            for content, platforms in items:
                ids.append(
                    await posts.create_post(
                        session, principal, {"content": content, "platforms": platforms, "scheduledTime": now}
                    )
                )
        return ids

    async def get(self, user: TestUser, group_id: str) -> dict[str, Any]:
        r = await self.client.get(f"/api/v1/get-post/{group_id}", headers=user.headers)
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def logs(self, user: TestUser, group_id: str) -> list[dict[str, Any]]:
        r = await self.client.get(f"/api/v1/post-logs/{group_id}", headers=user.headers)
        assert r.status_code == 200, r.text
        return list(r.json()["logs"])

    async def connection(self, user: TestUser, platform_id: str) -> dict[str, Any]:
        r = await self.client.get("/api/v1/platform-connections", headers=user.headers)
        assert r.status_code == 200, r.text
        found = [c for c in r.json()["connections"] if c["platformId"] == platform_id]
        assert found, r.json()
        return dict(found[0])

    async def wait_finished(self, user: TestUser, group_id: str, seconds: float = 20.0) -> dict[str, Any]:
        """Poll get-post every 20 ms until the group is terminal."""
        got: dict[str, Any] = {}

        async def done() -> bool:
            nonlocal got
            got = await self.get(user, group_id)
            return got["status"] in TERMINAL and got["processingStatus"] == "finished"

        await wait_until(done, seconds, lambda: f"group never finished: {got}")
        return got

    async def wait_all_finished(self, count: int, seconds: float) -> None:
        async def done() -> bool:
            async with self.database.session() as session:
                finished = await session.scalar(
                    select(func.count())
                    .select_from(PostGroup)
                    .where(PostGroup.processing_status == "finished")
                )
            return finished == count

        await wait_until(done, seconds, lambda: "groups did not all finish")

    # --- simulator -----------------------------------------------------------------------------------------

    async def sent(self) -> list[dict[str, Any]]:
        r = await self.control.get("/_control/posts")
        r.raise_for_status()
        return list(r.json()["posts"])


async def wait_until(
    predicate: Callable[[], Any],
    seconds: float,
    describe: Callable[[], str] | None = None,
    interval: float = 0.02,
) -> None:
    """Poll `predicate` (sync or async) every `interval` until true; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(describe() if describe else f"condition not met within {seconds} s")
        await asyncio.sleep(interval)


@pytest.fixture
def engine_database_url(engine_name: str, migrated_database_url: Callable[[str], str]) -> str:
    """A fresh, migrated database for this test only (made outside the event loop)."""
    return migrated_database_url(engine_name)


@pytest_asyncio.fixture
async def harness(engine_database_url: str, tmp_path: Path, simulator: str) -> AsyncIterator[Harness]:
    """A fresh database with the API on it and no worker yet."""
    url = engine_database_url
    database = Database(async_database_url(url))
    settings = engine_settings(url, tmp_path, simulator)
    app = create_app(settings, database, sandbox_url=simulator)
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client,
        httpx.AsyncClient(base_url=simulator, timeout=30) as control,
    ):
        h = Harness(settings, database, simulator, client, control)
        try:
            yield h
        finally:
            await h.stop_workers()
            await app.state.services.adapters.close()  # ASGITransport runs no lifespan
            await database.dispose()


def media_file_server(storage: LocalStorage) -> Starlette:
    """Only the local storage's file URLs (GET), for the fakes that fetch media by URL."""

    async def download(request: Request) -> Response:
        try:
            path, content_type = file_for_download(
                storage, request.path_params["key"], dict(request.query_params)
            )
        except PostpostError as exc:
            return JSONResponse(exc.body(), exc.status_code)
        return FileResponse(path, media_type=content_type)

    return Starlette(routes=[Route(URL_PATH + "/{key:path}", download, methods=["GET", "HEAD"])])


@pytest_asyncio.fixture
async def served(engine_database_url: str, tmp_path: Path, simulator: str) -> AsyncIterator[Harness]:
    """The harness with one worker, whose media files are served over real HTTP at its public URL.

    Platforms that fetch media by URL (Instagram, Threads, Facebook) reach them there; the API
    itself still runs over ASGI (`h.client`, which also takes the absolute upload URLs).
    """
    port = free_port()
    url = engine_database_url
    database = Database(async_database_url(url))
    settings = engine_settings(url, tmp_path, simulator, public_url=f"http://127.0.0.1:{port}")
    app = create_app(settings, database, sandbox_url=simulator)
    files = LocalStorage(settings.media_dir, settings.base_url(), settings.resolved_secret_key)
    with ServerThread(media_file_server(files), port=port):
        async with (
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client,
            httpx.AsyncClient(base_url=simulator, timeout=30) as control,
        ):
            h = Harness(settings, database, simulator, client, control)
            h.start_workers(1)
            try:
                yield h
            finally:
                await h.stop_workers()
                await app.state.services.adapters.close()
                await database.dispose()


@pytest_asyncio.fixture
async def engine(harness: Harness) -> Harness:
    """The harness with one worker running."""
    harness.start_workers(1)
    return harness


@pytest.fixture
def soon() -> Callable[[float], datetime]:
    return lambda seconds: datetime.now(UTC) + timedelta(seconds=seconds)
