"""LinkedInAccount: what LinkedIn's errors may show; a refused token is refreshed once, stored, and used."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiohttp
from sqlalchemy import delete, func, select

from postpost.db.models import Connection, LinkedInMetric
from postpost.platforms._linkedin_insights import Insights
from postpost.platforms.base import Credentials, ErrorCode, PlatformError
from postpost.platforms.linkedin import LinkedInAdapter
from postpost.security import KeyHasher, SecretBox
from postpost.services import connections
from postpost.services.auth import authenticate
from postpost.services.credentials import CredentialStore
from postpost.services.linkedin_access import LinkedInAccount, Want
from postpost.simulator._linkedin_insights import follower_total
from tests.conftest import SECRET, TestUser
from tests.platforms.test_linkedin import APP, MEMBER, oauth_creds

TOKEN = "very-secret-access-token-42"
REFRESH = "very-secret-refresh-token-43"


async def open_account(
    database: Any,
    http: aiohttp.ClientSession,
    user: TestUser,
    secrets: dict[str, str],
    sandbox_url: str | None = None,
) -> LinkedInAccount:
    box = SecretBox(SECRET.encode())
    async with database.session() as session:
        await connections.add_connection(
            session,
            box,
            user_id=user.id,
            platform="linkedin",
            account_id=MEMBER,
            secrets=secrets,
            is_sandbox=sandbox_url is not None,
        )
        await session.commit()
        principal = await authenticate(session, KeyHasher(SECRET.encode()), api_key=user.api_key)
    store = CredentialStore(database, box, sandbox_url)
    adapter = LinkedInAdapter(http, app=APP)
    return await LinkedInAccount.open(database.session(), principal, MEMBER, store, lambda _n: adapter)


async def test_details_never_show_the_connections_credentials(database: Any, make_user: Any) -> None:
    async with aiohttp.ClientSession() as http:
        account = await open_account(
            database,
            http,
            await make_user(),
            {"access_token": TOKEN, "refresh_token": REFRESH, "author_urn": f"urn:li:person:{MEMBER}"},
        )

        async def leaky(_insights: Insights, creds: Credentials) -> dict[str, Any]:
            error = PlatformError(ErrorCode.INVALID_CONTENT, "refused", status=400)
            error.details = {  # type: ignore[attr-defined]
                "message": f"token {creds.secrets['access_token']} is odd",
                "echo": [creds.secrets["refresh_token"], creds.secrets["author_urn"]],
            }
            error.detail = f"Bearer {creds.secrets['access_token']}"  # type: ignore[attr-defined]
            raise error

        got = await account.fetch([Want("k", "posts", timedelta(minutes=1), leaky)])
        error = got["k"].error
        assert error is not None
        body = account.failure(error, "Failed", details="object").body()
        assert body == {
            "error": "Failed",
            "details": {
                "message": "token [redacted] is odd",
                "echo": ["[redacted]", f"urn:li:person:{MEMBER}"],
            },
            "status": 400,
        }
        text = account.failure(error, "Failed", details="text").body()
        assert text == {"error": "Failed", "details": "Bearer [redacted]"}
        await account.session.close()


async def test_a_refused_token_is_refreshed_stored_and_used(
    database: Any, make_user: Any, simulator: str
) -> None:
    async with aiohttp.ClientSession() as http:
        connected = await oauth_creds(http, simulator)
        secrets = {
            "access_token": "stale-token-refused-by-linkedin",
            "refresh_token": connected.secrets["refresh_token"],
        }
        account = await open_account(database, http, await make_user(), secrets, sandbox_url=simulator)

        async def followers(insights: Insights, creds: Credentials) -> dict[str, Any]:
            return {"count": await insights.follower_count(creds)}

        got = await account.fetch([Want("followers", "followers", timedelta(minutes=1), followers)])
        assert got["followers"].error is None
        assert got["followers"].value == {"count": follower_total(MEMBER)}
        stored = await CredentialStore(database, SecretBox(SECRET.encode()), simulator).load(
            account.connection_id
        )
        assert stored.version == 1
        assert stored.creds.secrets["access_token"] not in (
            secrets["access_token"],
            connected.secrets["access_token"],
        )
        await account.session.close()


async def test_a_connection_removed_meanwhile_still_gets_its_answer(database: Any, make_user: Any) -> None:
    async with aiohttp.ClientSession() as http:
        account = await open_account(database, http, await make_user(), {"access_token": TOKEN})

        async def removing(_insights: Insights, _creds: Credentials) -> dict[str, Any]:
            async with database.session() as session:
                await session.execute(delete(Connection).where(Connection.id == account.connection_id))
                await session.commit()
            return {"count": 7}

        got = await account.fetch([Want("k", "posts", timedelta(minutes=1), removing)])
        assert got["k"].value == {"count": 7} and got["k"].error is None
        async with database.session() as session:
            left = await session.scalar(
                select(func.count()).where(LinkedInMetric.connection_id == account.connection_id)
            )
        assert left == 0
        await account.session.close()
