"""Fixtures of the X bookmarks tests: the API wired to the simulator, members of the beta, rows."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select, update

from postpost.api.app import create_app
from postpost.db.models import Connection, User, XBookmark, XBookmarkState
from postpost.db.session import Database
from postpost.ids import new_id
from postpost.sandbox import add_sandbox_connection
from postpost.security import SecretBox
from tests.conftest import SECRET, TestUser

API = "/api/v1/x-bookmarks"


@pytest_asyncio.fixture
async def live(settings, database, simulator) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app whose sandbox X accounts read bookmarks from the simulator."""
    app = create_app(settings, database, sandbox_url=simulator)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c
    await app.state.services.adapters.close()  # ASGITransport runs no lifespan


@dataclass
class Member:
    """A user of the beta: `account` is its sandbox X account id (None when not connected)."""

    user: TestUser
    account: str | None

    @property
    def id(self) -> str:
        return self.user.id

    @property
    def headers(self) -> dict[str, str]:
        return self.user.headers


MakeMember = Callable[..., Awaitable[Member]]


@pytest.fixture
def make_member(make_user, database: Database) -> MakeMember:
    async def make(plan: str = "premium", *, enabled: bool = True, connect: bool = True, **kw: Any) -> Member:
        user = await make_user(plan, **kw)
        account = None
        async with database.session() as session:
            await session.execute(update(User).where(User.id == user.id).values(x_bookmarks_enabled=enabled))
            if connect:
                connection = await add_sandbox_connection(
                    session, SecretBox(SECRET.encode()), user.id, "twitter"
                )
                account = connection.account_id
            await session.commit()
        return Member(user, account)

    return make


async def allow_sync(database: Database, user_id: str) -> None:
    """Forget the last requested sync, as if 60 seconds had passed."""
    async with database.session() as session:
        await session.execute(
            update(XBookmarkState)
            .where(XBookmarkState.user_id == user_id)
            .values(last_requested_sync_at=None)
        )
        await session.commit()


async def state(database: Database, user_id: str) -> XBookmarkState:
    async with database.session() as session:
        found = await session.get(XBookmarkState, user_id)
        assert found is not None
        return found


async def connection_of(database: Database, user_id: str) -> Connection:
    async with database.session() as session:
        found = await session.scalar(select(Connection).where(Connection.user_id == user_id))
        assert found is not None
        return found


BASE_TIME = datetime(2026, 3, 1, tzinfo=UTC)


def bookmark_row(user_id: str, n: int, text: str, **fields: Any) -> dict[str, Any]:
    """A stored bookmark: tweet `n` created `n` hours after BASE_TIME."""
    row: dict[str, Any] = {
        "id": new_id(),
        "user_id": user_id,
        "tweet_id": str(1_900_000_000_000_000_000 + n),
        "text": text,
        "author_id": "42",
        "author_username": "someone",
        "author_name": "Some One",
        "tweet_created_at": BASE_TIME + timedelta(hours=n),
        "like_count": 0,
        "retweet_count": 0,
        "reply_count": 0,
        "quote_count": 0,
        "media_kinds": 0,
        "media": [],
        "referenced_tweets": [],
        "synced_at": BASE_TIME + timedelta(days=30, minutes=n),
    }
    row.update(fields)
    return row


async def store(database: Database, rows: list[dict[str, Any]]) -> None:
    async with database.session() as session:
        session.add_all(XBookmark(**row) for row in rows)
        await session.commit()
