"""Connect-page fixtures: the app reached as a browser would (over ASGI) next to the simulator
(over real HTTP), connect links, and reading what was stored."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select

from postpost.api.app import create_app
from postpost.config import Settings
from postpost.db.models import Connection, User
from postpost.db.session import Database
from postpost.security import SecretBox
from postpost.services.connect_links import LinkSigner
from tests.conftest import SECRET, TestUser

BASE = "http://test"
BOX = SecretBox(SECRET.encode())


def browser(app: Any, **options: Any) -> httpx.AsyncClient:
    """A client that reaches the app at http://test and anything else (the simulator) over HTTP."""
    return httpx.AsyncClient(
        mounts={BASE: httpx.ASGITransport(app=app)}, base_url=BASE, timeout=20, **options
    )


def connect_settings(database_url: str, data_dir: Path, simulator: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        data_dir=data_dir,
        database_url=database_url,
        secret_key=SECRET,
        public_url=BASE,
        sandbox_url=simulator,
    )
    values.update(overrides)
    return Settings(**values)


@dataclass
class Site:
    """The app with its settings, and a browser on it."""

    settings: Settings
    database: Database
    app: Any
    client: httpx.AsyncClient

    async def link(self, user: TestUser | str, *, days: float = 1.0) -> str:
        """A fresh connect link token of `user`."""
        user_id = user if isinstance(user, str) else user.id
        async with self.database.session() as session:
            row = await session.get(User, user_id)
            assert row is not None
            link = await LinkSigner(SECRET.encode(), BASE).issue(session, row, days=days, rotate=True)
            await session.commit()
        return link.url.rsplit("/", 1)[1]

    async def connections(self, user: TestUser) -> list[Connection]:
        async with self.database.session() as session:
            rows = await session.scalars(
                select(Connection).where(Connection.user_id == user.id).order_by(Connection.created_at)
            )
            return list(rows)


MakeSite = Callable[..., Awaitable[Site]]


@pytest_asyncio.fixture
async def make_site(
    database_url: str, database: Database, simulator: str, tmp_path: Path
) -> AsyncIterator[MakeSite]:
    """Factory of sites with settings overrides; closed after the test."""
    made: list[Site] = []

    async def make(**overrides: Any) -> Site:
        settings = connect_settings(database_url, tmp_path, simulator, **overrides)
        app = create_app(settings, database, sandbox_url=settings.resolved_sandbox_url())
        site = Site(settings, database, app, browser(app))
        made.append(site)
        return site

    yield make
    for site in made:
        await site.client.aclose()
        await site.app.state.services.adapters.close()  # ASGITransport runs no lifespan


@pytest_asyncio.fixture
async def site(make_site: MakeSite) -> Site:
    return await make_site()


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
def secrets_of() -> Callable[[Connection], dict[str, Any]]:
    return lambda row: BOX.decrypt(row.secrets)
