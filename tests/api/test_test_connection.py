"""POST /api/v1/test-connection/:platformId: format, tenancy, unknown platforms, live sandbox checks."""

from __future__ import annotations

import re

import httpx
import pytest
import pytest_asyncio

from postpost.api.app import create_app
from postpost.sandbox import add_sandbox_connection
from postpost.security import SecretBox
from tests.conftest import SECRET

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
KEYS = {
    "platform",
    "platformId",
    "username",
    "status",
    "message",
    "permissions",
    "tokenExpiresIn",
    "lastSuccessfulPost",
    "lastError",
}


@pytest_asyncio.fixture
async def live(settings, database, simulator):
    """A client of the app whose sandbox connections talk to the simulator."""
    app = create_app(settings, database, sandbox_url=simulator)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c
    await app.state.services.adapters.close()  # ASGITransport runs no lifespan


@pytest.fixture
def add_sandbox(database):
    async def add(user, platform):
        async with database.session() as session:
            connection = await add_sandbox_connection(session, SecretBox(SECRET.encode()), user.id, platform)
            await session.commit()
            return connection.compound_id

    return add


async def check(client, user, platform_id):
    return await client.post(f"/api/v1/test-connection/{platform_id}", headers=user.headers)


async def test_no_dash_is_invalid_format(live, make_user):
    user = await make_user()
    r = await check(live, user, "mastodon123")
    assert r.status_code == 400
    assert r.json() == {"error": "Invalid platformId format"}


async def test_unknown_connection_is_not_found(live, make_user):
    user = await make_user()
    for platform_id in ("mastodon-123456", "bluesky-did:plc:abcdef", "Mastodon-1"):
        r = await check(live, user, platform_id)
        assert r.status_code == 404, platform_id
        assert r.json() == {"error": "Connection not found"}


async def test_another_users_connection_is_not_found(live, make_user, add_sandbox):
    owner, stranger = await make_user(), await make_user()
    platform_id = await add_sandbox(owner, "mastodon")
    r = await check(live, stranger, platform_id)
    assert r.status_code == 404
    assert r.json() == {"error": "Connection not found"}


async def test_unknown_platform_is_200_error(live, make_user):
    user = await make_user()
    r = await check(live, user, "pinterest-123")
    assert r.status_code == 200
    body = r.json()
    assert body["username"] == "unknown"
    assert body["status"] == "error"
    assert body["message"] == "Unknown platform: pinterest"
    assert body["permissions"] == []
    assert body["tokenExpiresIn"] is None
    assert body["lastSuccessfulPost"] is None
    assert body["lastError"] is None


@pytest.mark.parametrize("platform", ["mastodon", "bluesky"])
async def test_sandbox_connection_is_ok(live, make_user, add_sandbox, platform):
    user = await make_user()
    platform_id = await add_sandbox(user, platform)
    r = await check(live, user, platform_id)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == KEYS
    assert body["platform"] == platform
    assert body["platformId"] == platform_id
    assert body["status"] == "ok"
    assert body["message"].startswith("Connected as ")
    assert body["message"] == f"Connected as {body['username']}"
    assert body["permissions"]
    assert body["lastError"] is None
    assert body["lastSuccessfulPost"] is None


async def test_bluesky_without_app_password_is_error(live, make_user, make_connection):
    user = await make_user()
    platform_id = await make_connection(
        user,
        "bluesky",
        "did:plc:emptypassword0000000000",
        secrets={"identifier": "x.bsky.social", "app_password": ""},
        is_sandbox=True,
    )
    r = await check(live, user, platform_id)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "error"
    assert body["permissions"] == []
    assert body["message"]
    assert body["lastError"]["message"] == body["message"]
    assert ISO.match(body["lastError"]["occurredAt"])
    # the error is kept on the connection
    r = await live.get("/api/v1/platform-connections", headers=user.headers)
    [connection] = [c for c in r.json()["connections"] if c["platformId"] == platform_id]
    assert connection["lastError"] == body["lastError"]


async def test_mastodon_with_revoked_token_is_error(live, make_user, make_connection):
    user = await make_user()
    platform_id = await make_connection(
        user, "mastodon", secrets={"access_token": "not-a-sandbox-token"}, is_sandbox=True
    )
    r = await check(live, user, platform_id)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "error"
    assert body["lastError"]["message"] == body["message"]


async def test_requires_an_api_key(live):
    r = await live.post("/api/v1/test-connection/mastodon-1")
    assert r.status_code == 401
