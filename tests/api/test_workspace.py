"""The workspace API (INVENTORY §1.6): every route, field, status code and error string."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from postpost.db.models import User

MISSING = "0123456789abcdef01234567"
USER_FIELDS = {
    "_id",
    "username",
    "displayName",
    "role",
    "dailyPostsLeft",
    "connectionsPageUrl",
    "connectionsPageTokenExpiresAt",
}


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def add(client, owner, username, **extra):
    return await client.post(
        "/api/v1/workspace/users", headers=owner.headers, json={"username": username, **extra}
    )


async def test_routes_need_workspace_access(client, make_user):
    plain = await make_user()
    calls = [
        ("GET", "/api/v1/workspace/users", None),
        ("POST", "/api/v1/workspace/users", {"username": "a@example.com"}),
        ("DELETE", f"/api/v1/workspace/users/{MISSING}", None),
        ("POST", f"/api/v1/workspace/users/{MISSING}/api-key", None),
        ("POST", f"/api/v1/workspace/users/{MISSING}/connection-url", {}),
    ]
    for method, path, body in calls:
        r = await client.request(method, path, headers=plain.headers, json=body)
        assert (r.status_code, r.json()) == (403, {"error": "Workspace access is not enabled for this key"})
    assert (await client.get("/api/v1/workspace/users")).json() == {"error": "API key is required"}


async def test_create_list_and_isolation(client, make_user):
    owner = await make_user(workspace=True)
    assert (await client.get("/api/v1/workspace/users", headers=owner.headers)).json() == {"users": []}
    r = await add(client, owner, "Client@Example.com", displayName="Acme Corp")
    assert r.status_code == 201, r.text
    user = r.json()["user"]
    assert set(user) == USER_FIELDS
    assert user["username"] == "client@example.com" and user["displayName"] == "Acme Corp"
    assert user["role"] == "managed" and user["dailyPostsLeft"] == 100
    assert user["connectionsPageUrl"] is None and user["connectionsPageTokenExpiresAt"] is None
    plain = (await add(client, owner, "plain@example.com")).json()["user"]
    assert plain["displayName"] == "plain@example.com"
    listed = (await client.get("/api/v1/workspace/users", headers=owner.headers)).json()
    assert [u["_id"] for u in listed["users"]] == [user["_id"], plain["_id"]]
    other = await make_user(workspace=True)
    assert (await client.get("/api/v1/workspace/users", headers=other.headers)).json() == {"users": []}
    # the owner acts for the managed user on any route
    acting = {**owner.headers, "x-postpost-user-id": user["_id"]}
    assert (await client.get("/api/v1/list-posts", headers=acting)).status_code == 200
    foreign = {**other.headers, "x-postpost-user-id": user["_id"]}
    r = await client.get("/api/v1/list-posts", headers=foreign)
    assert (r.status_code, r.json()) == (403, {"error": "User is not managed by key"})


@pytest.mark.parametrize("body", [{}, {"username": ""}, {"username": "   "}, {"username": None}, []])
async def test_email_is_required(client, make_user, body):
    owner = await make_user(workspace=True)
    r = await client.post("/api/v1/workspace/users", headers=owner.headers, json=body)
    assert (r.status_code, r.json()) == (400, {"error": "Email is required"})


async def test_duplicate_email_is_a_conflict(client, make_user):
    owner = await make_user(workspace=True)
    assert (await add(client, owner, "twice@example.com")).status_code == 201
    for username in ("twice@example.com", "TWICE@example.com", owner.email):
        r = await add(client, owner, username)
        assert (r.status_code, r.json()) == (409, {"error": "User with this email already exists"})


async def test_detach(client, make_user):
    owner = await make_user(workspace=True)
    user = (await add(client, owner, "leaving@example.com")).json()["user"]
    for bad in ("nope", "123"):
        r = await client.delete(f"/api/v1/workspace/users/{bad}", headers=owner.headers)
        assert (r.status_code, r.json()) == (400, {"error": "Invalid userId"})
    other = await make_user(workspace=True)
    for who, target in ((owner, MISSING), (other, user["_id"]), (owner, owner.id)):
        r = await client.delete(f"/api/v1/workspace/users/{target}", headers=who.headers)
        assert (r.status_code, r.json()) == (404, {"error": "User not found or not managed by this key"})
    r = await client.delete(f"/api/v1/workspace/users/{user['_id']}", headers=owner.headers)
    assert (r.status_code, r.json()) == (200, {"success": True})
    assert (await client.get("/api/v1/workspace/users", headers=owner.headers)).json() == {"users": []}
    acting = {**owner.headers, "x-postpost-user-id": user["_id"]}
    r = await client.get("/api/v1/list-posts", headers=acting)
    assert (r.status_code, r.json()) == (403, {"error": "User is not managed by key"})
    r = await client.delete(f"/api/v1/workspace/users/{user['_id']}", headers=owner.headers)
    assert r.status_code == 404


async def test_per_user_key_replaces_the_previous_one(client, make_user, make_connection):
    owner = await make_user(workspace=True)
    user = (await add(client, owner, "keyed@example.com")).json()["user"]
    path = f"/api/v1/workspace/users/{user['_id']}/api-key"
    first = await client.post(path, headers=owner.headers)
    assert first.status_code == 200, first.text
    body = first.json()
    assert set(body) == {"message", "apiKey", "userId"}
    assert body["message"] == "API key generated successfully" and body["userId"] == user["_id"]
    mine = {"x-api-key": body["apiKey"]}
    r = await client.get("/api/v1/platform-connections", headers=mine)
    assert r.status_code == 200 and r.json()["connections"] == []
    second = (await client.post(path, headers=owner.headers)).json()
    assert second["apiKey"] != body["apiKey"]
    r = await client.get("/api/v1/list-posts", headers=mine)
    assert (r.status_code, r.json()) == (401, {"error": "Invalid API key"})
    assert (
        await client.get("/api/v1/list-posts", headers={"x-api-key": second["apiKey"]})
    ).status_code == 200
    # the owner's own keys are untouched
    assert (await client.get("/api/v1/list-posts", headers=owner.headers)).status_code == 200
    r = await client.post(f"/api/v1/workspace/users/{MISSING}/api-key", headers=owner.headers)
    assert r.json() == {"error": "User not found or not managed by this key"}


async def test_per_user_key_needs_the_owners_api_access(client, make_user):
    # an MCP-only owner passes the client gate, but cannot mint API keys
    owner = await make_user("starter", workspace=True, entitlements={"apiAccess": False, "mcpAccess": True})
    mcp = {**owner.headers, "x-postpost-client": "mcp"}
    user = (
        await client.post("/api/v1/workspace/users", headers=mcp, json={"username": "m@example.com"})
    ).json()
    r = await client.post(f"/api/v1/workspace/users/{user['user']['_id']}/api-key", headers=mcp)
    assert (r.status_code, r.json()) == (403, {"error": "API access is not enabled for this workspace owner"})


async def test_connection_url(client, database, make_user):
    owner = await make_user(workspace=True)
    user = (await add(client, owner, "connect@example.com")).json()["user"]
    path = f"/api/v1/workspace/users/{user['_id']}/connection-url"
    before = datetime.now(UTC)
    first = await client.post(path, headers=owner.headers)
    assert first.status_code == 200, first.text
    body = first.json()
    assert set(body) == {"url", "tokenExpiresAt"}
    assert body["url"].startswith("http://127.0.0.1:8000/connect/")
    assert user["_id"] not in body["url"].split("/connect/")[1].split(".")[1]
    expires = when(body["tokenExpiresAt"])
    assert (
        before + timedelta(days=90) - timedelta(seconds=5)
        <= expires
        <= datetime.now(UTC) + timedelta(days=90)
    )
    # the existing link while it is valid, unless rotated
    assert (await client.post(path, headers=owner.headers, json={"expiresInDays": 5})).json() == body
    rotated = (
        await client.post(path, headers=owner.headers, json={"rotate": True, "expiresInDays": 0.5})
    ).json()
    assert rotated["url"] != body["url"]
    assert when(rotated["tokenExpiresAt"]) <= datetime.now(UTC) + timedelta(hours=12)
    listed = (await client.get("/api/v1/workspace/users", headers=owner.headers)).json()["users"][0]
    assert listed["connectionsPageUrl"] == rotated["url"]
    assert listed["connectionsPageTokenExpiresAt"] == rotated["tokenExpiresAt"]
    # an expired link is replaced by a new one
    async with database.session() as session:
        past = datetime.now(UTC) - timedelta(minutes=1)
        await session.execute(update(User).where(User.id == user["_id"]).values(connect_expires_at=past))
        await session.commit()
    listed = (await client.get("/api/v1/workspace/users", headers=owner.headers)).json()["users"][0]
    assert listed["connectionsPageUrl"] is None
    fresh = (await client.post(path, headers=owner.headers)).json()
    assert fresh["url"] not in (body["url"], rotated["url"])


@pytest.mark.parametrize("days", ["0", "-1", "-0.5", '"7"', "true", "[]", "{}"])
async def test_connection_url_days_must_be_positive(client, make_user, days):
    owner = await make_user(workspace=True)
    user = (await add(client, owner, f"days-{owner.id}@example.com")).json()["user"]
    path = f"/api/v1/workspace/users/{user['_id']}/connection-url"
    r = await client.post(path, headers=owner.headers, content=f'{{"expiresInDays": {days}}}')
    assert (r.status_code, r.json()) == (400, {"error": "expiresInDays must be a positive number"})
