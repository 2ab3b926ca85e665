"""Fixtures of the LinkedIn route tests: the app talking to the simulator, sandbox LinkedIn accounts,
the fake's request log and fault rules, and ageing of cached metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select, update

from postpost.api.app import create_app
from postpost.db.models import Connection, LinkedInMetric
from postpost.ids import utcnow
from postpost.sandbox import add_sandbox_connection
from postpost.security import SecretBox
from tests.conftest import SECRET, TestUser

ANALYTICS = "/rest/memberCreatorPostAnalytics"
FOLLOWERS = "/rest/memberFollowersCount"


@dataclass
class Account:
    """A sandbox LinkedIn connection: its platformId, member id and owner."""

    platform_id: str
    member: str
    user: TestUser
    connection_id: str


class Fake:
    """The simulator's LinkedIn as the tests see it: requests received, fault rules, stored actions."""

    def __init__(self, url: str, http: httpx.AsyncClient) -> None:
        self.url = url
        self.http = http

    async def calls(self, path: str) -> int:
        """How many requests the fake LinkedIn received on `path` since the test began."""
        r = await self.http.get(
            f"{self.url}/_control/requests", params={"platform": "linkedin", "path": path}
        )
        return len(r.json()["requests"])

    async def fault(self, account: str, target: str, fault: str, **extra: Any) -> None:
        body = {"account": account, "target": target, "fault": fault, **extra}
        r = await self.http.post(f"{self.url}/_control/linkedin/insights", json=body)
        assert r.status_code == 201, r.text

    async def stored(self) -> dict[str, Any]:
        r = await self.http.get(f"{self.url}/_control/linkedin/insights")
        result: dict[str, Any] = r.json()
        return result


@pytest_asyncio.fixture
async def live(settings, database, simulator) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app whose sandbox connections talk to the simulator over HTTP."""
    app = create_app(settings, database, sandbox_url=simulator)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c
    await app.state.services.adapters.close()  # ASGITransport runs no lifespan


@pytest_asyncio.fixture
async def fake(simulator) -> AsyncIterator[Fake]:
    async with httpx.AsyncClient() as http:
        yield Fake(simulator, http)


@pytest.fixture
def sandbox_linkedin(database, make_user):
    """Factory: a sandbox LinkedIn account of `user` (a new pro user when none)."""

    async def add(user: TestUser | None = None) -> Account:
        owner = user or await make_user()
        async with database.session() as session:
            connection = await add_sandbox_connection(
                session, SecretBox(SECRET.encode()), owner.id, "linkedin"
            )
            await session.commit()
            return Account(connection.compound_id, connection.account_id, owner, connection.id)

    return add


@pytest.fixture
def age_cache(database):
    """Expire cached metrics of a connection (those whose key contains `part`, or all)."""

    async def age(account: Account, part: str = "") -> int:
        async with database.session() as session:
            result = await session.execute(
                update(LinkedInMetric)
                .where(
                    LinkedInMetric.connection_id == account.connection_id,
                    LinkedInMetric.key.contains(part),
                )
                .values(expires_at=utcnow() - timedelta(seconds=1))
                .returning(LinkedInMetric.key)
            )
            aged = len(result.all())
            await session.commit()
            return aged

    return age


async def cached_rows(database, account: Account) -> dict[str, Any]:
    """The connection's cache rows: key → (value, expires_at)."""
    async with database.session() as session:
        rows = await session.execute(
            select(LinkedInMetric.key, LinkedInMetric.value, LinkedInMetric.expires_at).where(
                LinkedInMetric.connection_id == account.connection_id
            )
        )
        return {key: (value, expires) for key, value, expires in rows.tuples()}


async def set_secrets(database, account: Account, secrets: dict[str, str]) -> None:
    """Replace the connection's stored secrets (e.g. a token LinkedIn will refuse)."""
    async with database.session() as session:
        await session.execute(
            update(Connection)
            .where(Connection.id == account.connection_id)
            .values(secrets=SecretBox(SECRET.encode()).encrypt(secrets))
        )
        await session.commit()
