"""Shared fixtures: both database engines, the app over ASGI, users, connections, the simulator."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import socket
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import uvicorn

from postpost.api.app import create_app
from postpost.config import Settings, async_database_url
from postpost.db.migrate import upgrade
from postpost.db.session import Database
from postpost.security import KeyHasher, SecretBox
from postpost.services import accounts, connections
from tests.pg import PostgresServer, worker_name

ENGINES = [e for e in os.environ.get("POSTPOST_TEST_ENGINES", "sqlite,postgresql").split(",") if e]
SECRET = "test-secret-key"
STALL_SECONDS = 5.0  # the shared simulator's stall on `timeout-after-commit`


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """In parallel runs (pytest-xdist), hand out the long end-to-end tests (marked slow) first, so
    that none of them starts last and keeps the run waiting alone; the rest keep pytest's order."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session", autouse=True)
def _private_data_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """No test process (CLI subprocesses included) may write into the real per-user data directory."""
    home = tmp_path_factory.mktemp("data-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(home / "xdg"))
        yield home


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, _private_data_home: Path) -> None:
    for name in list(os.environ):
        if name.startswith("POSTPOST_") and not name.startswith("POSTPOST_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("POSTPOST_DATA_DIR", str(_private_data_home / "postpost"))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def new_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], str]:
    """Factory: a fresh, empty database of the given engine, as a plain URL."""

    def make(engine: str) -> str:
        name = f"pp_{worker_name()}_{secrets.token_hex(6)}"
        if engine == "sqlite":
            return f"sqlite:///{tmp_path_factory.mktemp('db') / (name + '.db')}"
        server: PostgresServer = request.getfixturevalue("pg_server")
        return server.create_database(name)

    return make


@pytest.fixture(scope="session")
def migrated_database_url(
    request: pytest.FixtureRequest, new_database_url: Callable[[str], str]
) -> Callable[[str], str]:
    """Factory: a fresh database of the given engine at the newest revision, as a plain URL.

    Each is a copy of one database migrated once per engine (and test process): a file copy on
    SQLite, `CREATE DATABASE … TEMPLATE` on PostgreSQL; much quicker than migrating every one.
    """
    templates: dict[str, str] = {}

    def make(engine: str) -> str:
        if engine not in templates:
            templates[engine] = new_database_url(engine)
            asyncio.run(_migrate(templates[engine]))
        template = templates[engine]
        name = f"pp_{worker_name()}_{secrets.token_hex(6)}"
        if engine == "sqlite":
            source = Path(template.removeprefix("sqlite:///"))
            target = source.with_name(name + ".db")
            for suffix in ("", "-wal"):  # closing its last connection normally folds the log in
                if Path(f"{source}{suffix}").exists():
                    shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")
            return f"sqlite:///{target}"
        server: PostgresServer = request.getfixturevalue("pg_server")
        return server.create_database(name, template=template.rsplit("/", 1)[1])

    return make


async def _migrate(url: str) -> None:
    database = Database(async_database_url(url))
    try:
        await upgrade(database)
    finally:
        await database.dispose()


@pytest.fixture(scope="session", params=ENGINES)
def engine_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def database_url(engine_name: str, migrated_database_url: Callable[[str], str]) -> str:
    return migrated_database_url(engine_name)


@pytest_asyncio.fixture(scope="session")
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(async_database_url(database_url))
    yield db
    await db.dispose()


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        data_dir=tmp_path_factory.mktemp("data"),
        database_url=database_url,
        secret_key=SECRET,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="session")
def app(settings: Settings, database: Database) -> Any:
    return create_app(settings, database)


@pytest_asyncio.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c


@dataclass
class TestUser:
    """A user created through the services, with one API key."""

    __test__ = False
    id: str
    email: str
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"x-api-key": self.api_key}


MakeUser = Callable[..., Awaitable[TestUser]]
MakeConnection = Callable[..., Awaitable[str]]


@pytest.fixture
def make_user(database: Database) -> MakeUser:
    async def make(
        plan: str = "pro",
        *,
        workspace: bool = False,
        parent: TestUser | None = None,
        entitlements: dict[str, Any] | None = None,
    ) -> TestUser:
        email = f"user-{secrets.token_hex(6)}@example.com"
        async with database.session() as session:
            user = await accounts.create_user(
                session, email, plan=plan, workspace=workspace, parent_user_id=parent.id if parent else None
            )
            if entitlements is not None:
                user.entitlements = entitlements
            key = await accounts.create_key(session, KeyHasher(SECRET.encode()), user.id)
            await session.commit()
        return TestUser(user.id, email, key.raw)

    return make


@pytest.fixture
def make_connection(database: Database) -> MakeConnection:
    return connection_maker(database)


def connection_maker(database: Database) -> MakeConnection:
    """Adds a connection (with a random account id unless given) for a user of `database`."""

    async def make(
        user: TestUser, platform: str = "mastodon", account_id: str | None = None, **fields: Any
    ) -> str:
        async with database.session() as session:
            connection = await connections.add_connection(
                session,
                SecretBox(SECRET.encode()),
                user_id=user.id,
                platform=platform,
                account_id=account_id or str(secrets.randbelow(10**12)),
                **fields,
            )
            await session.commit()
            return connection.compound_id

    return make


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerThread:
    """A uvicorn server for an ASGI app on a loopback port (free unless given), in a background thread.

    `lifespan="on"` runs the app's lifespan (workers, hooks) in the server's own event loop.
    """

    def __init__(self, asgi_app: Any, *, port: int | None = None, lifespan: str = "off") -> None:
        self.port = port or free_port()
        config = uvicorn.Config(
            asgi_app, host="127.0.0.1", port=self.port, log_level="warning", lifespan=lifespan
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 60  # a start-up on a loaded machine can take a while
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            threading.Event().wait(0.02)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)


@pytest.fixture(scope="session")
def simulator_url() -> Iterator[str]:
    """The platform simulator over real HTTP (stalls 5 s on timeout-after-commit, 2.5 s when slow).

    A test that expects a timeout gives up long before the stall (the engine harness and the
    adapter tests after 1.5 s): only the time the test waits counts, so the stall can be long
    enough that a slow machine's ordinary answers never look like it."""
    from postpost.simulator import create_simulator_app

    with ServerThread(create_simulator_app(stall_seconds=STALL_SECONDS, slow_seconds=2.5)) as url:
        yield url


@pytest_asyncio.fixture
async def simulator(simulator_url: str) -> AsyncIterator[str]:
    """The simulator URL, reset before the test."""
    async with httpx.AsyncClient(timeout=30) as c:
        await c.post(f"{simulator_url}/_control/reset")
    yield simulator_url
