"""MCP fixtures: `postpost serve`'s app on a loopback port with its lifespan (workers, sandbox,
MCP sessions), and the SDK's own client connected to it."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import httpx2
import pytest
import pytest_asyncio
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult

from postpost.config import Settings, async_database_url
from postpost.db.session import Database
from postpost.sandbox import add_sandbox_connection
from postpost.security import SecretBox
from postpost.server import build_server
from tests.conftest import SECRET, ServerThread, TestUser, free_port

# Connections each of these session-long databases keeps: parallel test processes share the
# PostgreSQL server's connections, and these tests use few at a time.
POOL = 2


@pytest.fixture(scope="session")
def mcp_database_url(engine_name: str, migrated_database_url: Callable[[str], str]) -> str:
    """A (migrated) database of its own: the server's worker must not publish other tests' due posts."""
    return migrated_database_url(engine_name)


@pytest_asyncio.fixture(scope="session")
async def database(mcp_database_url: str) -> AsyncIterator[Database]:
    """Overrides the shared database for these tests (`make_user`, `make_connection` use it)."""
    db = Database(async_database_url(mcp_database_url), pool_size=POOL)
    yield db
    await db.dispose()


@pytest.fixture(scope="session")
def served(
    database: Database, mcp_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The base URL of `postpost serve`'s app (one worker, sandbox on) on this engine's (migrated)
    database, served by uvicorn with its lifespan in a thread of its own."""
    port = free_port()
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("mcp-serve"),
        database_url=mcp_database_url,
        secret_key=SECRET,  # type: ignore[arg-type]
        port=port,
        workers=1,
    )
    app = build_server(settings, Database(settings.resolved_database_url, pool_size=POOL))
    with ServerThread(app, port=port, lifespan="on") as base:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/mcp/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        yield base


@pytest.fixture
def mcp_url(served: str) -> str:
    return f"{served}/mcp"


def bearer(user: TestUser) -> dict[str, str]:
    return {"Authorization": f"Bearer {user.api_key}"}


@asynccontextmanager
async def connect(url: str, headers: dict[str, str]) -> AsyncIterator[ClientSession]:
    """An initialized SDK client session over streamable HTTP."""
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def body(result: CallToolResult) -> Any:
    """A successful tool result's JSON."""
    assert not result.is_error, result.content
    return json.loads(text(result))


def text(result: CallToolResult) -> str:
    block = result.content[0]
    assert block.type == "text"
    return block.text


def error(result: CallToolResult) -> str:
    assert result.is_error, result.content
    return text(result)


async def sandbox_account(database: Database, user: TestUser, platform: str = "mastodon") -> str:
    """A sandbox connection of `user`; its compound platformId."""
    async with database.session() as session:
        connection = await add_sandbox_connection(session, SecretBox(SECRET.encode()), user.id, platform)
        await session.commit()
        return connection.compound_id
