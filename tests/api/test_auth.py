"""The API-key middleware (AUTH-ERRS, §0.5 / §3.1–3.3), workspace impersonation and key storage."""

from __future__ import annotations

import contextlib
import re
import sqlite3

import pytest
from sqlalchemy import delete, select, text

from postpost.db.models import ApiKey, User
from postpost.errors import Conflict
from postpost.security import KeyHasher
from postpost.services import accounts
from tests.conftest import SECRET

KEY_FORMAT = re.compile(r"^sk_[0-9a-z]+_[0-9a-f]{16}\.[0-9a-f]{40}$")
OTHER_ID = "0123456789abcdef01234567"


async def create(client, headers, pid, **extra):
    return await client.post(
        "/api/v1/create-post", headers=headers, json={"content": "hi", "platforms": [pid], **extra}
    )


async def list_posts(client, headers):
    return await client.get("/api/v1/list-posts", headers=headers)


def assert_error(response, status, message):
    assert response.status_code == status, response.text
    assert response.json() == {"error": message}


# --- x-api-key ------------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"x-api-key": ""}])
async def test_missing_or_empty_key(client, headers):
    assert_error(await list_posts(client, headers), 401, "API key is required")
    r = await client.post(
        "/api/v1/create-post", headers=headers, json={"content": "x", "platforms": ["mastodon-1"]}
    )
    assert_error(r, 401, "API key is required")


@pytest.mark.parametrize("key", ["garbage", "sk_abc_0123456789abcdef.", "legacy", "sk_x.y", "é" * 3])
async def test_unknown_key(client, make_user, key):
    await make_user()
    headers = {"x-api-key": key.encode("utf-8")}
    assert_error(await list_posts(client, headers), 401, "Invalid API key")


async def test_tampered_key_with_valid_prefix(client, make_user):
    user = await make_user()
    tampered = user.api_key[:-1] + ("0" if user.api_key[-1] != "0" else "1")
    assert_error(await list_posts(client, {"x-api-key": tampered}), 401, "Invalid API key")
    assert (await list_posts(client, user.headers)).status_code == 200


async def test_revoked_key(client, database, make_user, make_connection):
    user = await make_user()
    pid = await make_connection(user)
    assert (await list_posts(client, user.headers)).status_code == 200
    async with database.session() as s:
        key = await s.scalar(select(ApiKey).where(ApiKey.user_id == user.id))
        await accounts.revoke_key(s, key.id)
        await s.commit()
    assert_error(await list_posts(client, user.headers), 401, "Invalid API key")
    assert_error(await create(client, user.headers, pid), 401, "Invalid API key")


async def test_deleted_owner_cascades_its_keys(client, database, make_user):
    """Deleting a user deletes its keys (FK cascade), so the key is simply unknown afterwards."""
    user = await make_user()
    async with database.session() as s:
        await s.execute(delete(User).where(User.id == user.id))
        await s.commit()
        assert await s.scalar(select(ApiKey).where(ApiKey.user_id == user.id)) is None
    assert_error(await list_posts(client, user.headers), 401, "Invalid API key")


async def test_orphaned_key_is_invalid_owner(client, database, database_url, engine_name, make_user):
    """Force an orphan key (FK checks off) to reach the `Invalid API key owner` branch."""
    user = await make_user()
    if engine_name == "sqlite":
        # A plain sqlite3 connection has foreign_keys off by default.
        with contextlib.closing(sqlite3.connect(database_url.split(":///", 1)[1], timeout=30)) as raw:
            raw.execute("DELETE FROM users WHERE id = ?", (user.id,))
            raw.commit()
    else:
        async with database.session() as s:
            await s.execute(text("SET LOCAL session_replication_role = replica"))
            await s.execute(text("DELETE FROM users WHERE id = :id"), {"id": user.id})
            await s.commit()
    async with database.session() as s:
        assert await s.get(User, user.id) is None
        assert await s.scalar(select(ApiKey).where(ApiKey.user_id == user.id)) is not None
    assert_error(await list_posts(client, user.headers), 401, "Invalid API key owner")
    async with database.session() as s:  # tidy up the orphan
        await s.execute(delete(ApiKey).where(ApiKey.user_id == user.id))
        await s.commit()


# --- client gates -----------------------------------------------------------------------------------


async def test_starter_plan_has_no_api_access(client, make_user, make_connection):
    user = await make_user("starter")
    pid = await make_connection(user)
    assert_error(await list_posts(client, user.headers), 403, "API access is not enabled for this account")
    assert_error(await create(client, user.headers, pid), 403, "API access is not enabled for this account")


async def test_starter_with_api_access_enabled(client, make_user):
    user = await make_user("starter", entitlements={"apiAccess": True})
    assert (await list_posts(client, user.headers)).status_code == 200


async def test_mcp_client_needs_mcp_access(client, make_user):
    user = await make_user(entitlements={"mcpAccess": False})
    headers = {**user.headers, "x-postpost-client": "mcp"}
    assert_error(await list_posts(client, headers), 403, "MCP access is not enabled for this account")
    # Case-insensitive client name.
    headers["x-postpost-client"] = "MCP"
    assert_error(await list_posts(client, headers), 403, "MCP access is not enabled for this account")
    # Without the header the same key is a normal API client.
    assert (await list_posts(client, user.headers)).status_code == 200
    # Other client names are API traffic.
    assert (await list_posts(client, {**user.headers, "x-postpost-client": "cli"})).status_code == 200


async def test_mcp_only_plan(client, make_user, make_connection):
    user = await make_user(entitlements={"apiAccess": False, "mcpAccess": True})
    pid = await make_connection(user)
    mcp = {**user.headers, "x-postpost-client": "mcp"}
    assert (await list_posts(client, mcp)).status_code == 200
    assert (await create(client, mcp, pid)).status_code == 200
    assert_error(await list_posts(client, user.headers), 403, "API access is not enabled for this account")


async def test_managed_user_uses_owner_entitlements(client, make_user):
    """Entitlements are the billing owner's: a pro user under a starter owner has no API access."""
    starter_owner = await make_user("starter", workspace=True)
    child = await make_user("pro", parent=starter_owner)
    assert_error(await list_posts(client, child.headers), 403, "API access is not enabled for this account")
    pro_owner = await make_user("pro", workspace=True)
    starter_child = await make_user("starter", parent=pro_owner)
    assert (await list_posts(client, starter_child.headers)).status_code == 200


# --- x-postpost-user-id -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["nope", "0123456789abcdef0123456", "0123456789abcdef012345678", "g" * 24, " "]
)
async def test_malformed_user_id(client, make_user, value):
    owner = await make_user(workspace=True)
    r = await list_posts(client, {**owner.headers, "x-postpost-user-id": value})
    assert_error(r, 400, "Invalid x-postpost-user-id")


async def test_malformed_user_id_without_key_is_401_first(client):
    r = await list_posts(client, {"x-postpost-user-id": "nope"})
    assert_error(r, 401, "API key is required")
    r = await list_posts(client, {"x-api-key": "garbage", "x-postpost-user-id": "nope"})
    assert_error(r, 401, "Invalid API key")


async def test_own_id_is_noop(client, make_user, make_connection):
    user = await make_user()  # no workspace permission needed for oneself
    pid = await make_connection(user)
    for value in (user.id, user.id.upper()):
        headers = {**user.headers, "x-postpost-user-id": value}
        r = await create(client, headers, pid)
        assert r.status_code == 200, r.text
    listed = (await list_posts(client, user.headers)).json()
    assert listed["pagination"]["totalItems"] == 2


async def test_workspace_not_enabled(client, make_user):
    owner = await make_user()
    child = await make_user(parent=owner)
    r = await list_posts(client, {**owner.headers, "x-postpost-user-id": child.id})
    assert_error(r, 403, "Workspace access is not enabled for this key")


async def test_user_not_managed_by_key(client, make_user):
    owner = await make_user(workspace=True)
    stranger = await make_user()
    other_owner = await make_user(workspace=True)
    foreign_child = await make_user(parent=other_owner)
    for target in (stranger.id, foreign_child.id, OTHER_ID, other_owner.id):
        r = await list_posts(client, {**owner.headers, "x-postpost-user-id": target})
        assert_error(r, 403, "User is not managed by key")
    # The managed user cannot act for its owner either.
    child = await make_user(parent=owner)
    r = await list_posts(client, {**child.headers, "x-postpost-user-id": owner.id})
    assert r.status_code == 403


async def test_owner_acts_for_managed_user(client, make_user, make_connection):
    owner = await make_user(workspace=True)
    child = await make_user(parent=owner)
    owner_pid = await make_connection(owner)
    child_pid = await make_connection(child)
    as_child = {**owner.headers, "x-postpost-user-id": child.id}

    # Connections are resolved in the managed user's space.
    assert (await create(client, as_child, owner_pid)).status_code == 400
    r = await create(client, as_child, child_pid)
    assert r.status_code == 200, r.text
    group_id = r.json()["postGroupId"]

    child_list = (await list_posts(client, child.headers)).json()
    assert [p["postGroupId"] for p in child_list["posts"]] == [group_id]
    assert [p["postGroupId"] for p in (await list_posts(client, as_child)).json()["posts"]] == [group_id]
    assert (await list_posts(client, owner.headers)).json()["posts"] == []
    assert (await client.get(f"/api/v1/get-post/{group_id}", headers=owner.headers)).status_code == 404
    assert (await client.get(f"/api/v1/get-post/{group_id}", headers=child.headers)).status_code == 200
    r = await client.get("/api/v1/platform-connections", headers=as_child)
    assert [c["platformId"] for c in r.json()["connections"]] == [child_pid]
    r = await client.delete(f"/api/v1/delete-post/{group_id}", headers=as_child)
    assert r.status_code == 200
    assert (await list_posts(client, child.headers)).json()["posts"] == []


async def test_admin_bypasses_workspace_permission(client, database, make_user):
    admin = await make_user()
    child = await make_user(parent=admin)
    async with database.session() as s:
        (await s.get(User, admin.id)).is_admin = True
        await s.commit()
    r = await list_posts(client, {**admin.headers, "x-postpost-user-id": child.id})
    assert r.status_code == 200, r.text


# --- middleware order --------------------------------------------------------------------------------


async def test_middleware_order(client, database, make_user):
    starter = await make_user("starter")
    no_mcp = await make_user(entitlements={"mcpAccess": False})
    plain = await make_user()
    revoked = await make_user("starter")
    async with database.session() as s:
        key = await s.scalar(select(ApiKey).where(ApiKey.user_id == revoked.id))
        await accounts.revoke_key(s, key.id)
        await s.commit()
    everything = {"x-postpost-user-id": "nope", "x-postpost-client": "mcp"}
    cases = [
        ({**everything}, 401, "API key is required"),
        ({**everything, "x-api-key": ""}, 401, "API key is required"),
        ({**everything, **revoked.headers}, 401, "Invalid API key"),
        ({**everything, **starter.headers}, 403, "MCP access is not enabled for this account"),
        (
            {"x-postpost-user-id": "nope", **starter.headers},
            403,
            "API access is not enabled for this account",
        ),
        ({**everything, **no_mcp.headers}, 403, "MCP access is not enabled for this account"),
        ({"x-postpost-user-id": "nope", **plain.headers}, 400, "Invalid x-postpost-user-id"),
        (
            {"x-postpost-user-id": OTHER_ID, **plain.headers},
            403,
            "Workspace access is not enabled for this key",
        ),
    ]
    for headers, status, message in cases:
        assert_error(await list_posts(client, headers), status, message)
        # Auth runs before body validation.
        r = await client.post("/api/v1/create-post", headers=headers, content=b"{not json")
        assert_error(r, status, message)


# --- keys ---------------------------------------------------------------------------------------------


async def test_key_format_and_storage(database, make_user):
    user = await make_user()
    assert KEY_FORMAT.match(user.api_key), user.api_key
    secret_part = user.api_key.split(".", 1)[1]
    async with database.session() as s:
        rows = (
            (await s.execute(text("SELECT * FROM api_keys WHERE user_id = :u"), {"u": user.id}))
            .mappings()
            .all()
        )
    assert len(rows) == 1
    for column, value in rows[0].items():
        assert user.api_key not in str(value), column
        assert secret_part not in str(value), column
    assert rows[0]["key_prefix"] == user.api_key.split(".", 1)[0]


async def test_last_used_at_is_recorded(client, database, make_user):
    user = await make_user()
    async with database.session() as s:
        key = await s.scalar(select(ApiKey).where(ApiKey.user_id == user.id))
        assert key.last_used_at is None
    assert (await list_posts(client, user.headers)).status_code == 200
    async with database.session() as s:
        key = await s.scalar(select(ApiKey).where(ApiKey.user_id == user.id))
        assert key.last_used_at is not None


async def test_at_most_ten_active_keys(client, database, make_user):
    user = await make_user()  # one key already
    hasher = KeyHasher(SECRET.encode())
    async with database.session() as s:
        issued = [await accounts.create_key(s, hasher, user.id, f"k{i}") for i in range(9)]
        await s.commit()
    assert len({k.raw for k in issued} | {user.api_key}) == 10
    async with database.session() as s:
        with pytest.raises(Conflict):
            await accounts.create_key(s, hasher, user.id, "eleventh")
        await s.rollback()
    async with database.session() as s:
        await accounts.revoke_key(s, issued[0].id)
        await s.commit()
    async with database.session() as s:
        fresh = await accounts.create_key(s, hasher, user.id, "replacement")
        await s.commit()
        assert len(await accounts.list_keys(s, user.id)) == 11
    # Every active key works; the revoked one does not.
    for raw in [fresh.raw, user.api_key, *(k.raw for k in issued[1:])]:
        assert (await list_posts(client, {"x-api-key": raw})).status_code == 200
    assert_error(await list_posts(client, {"x-api-key": issued[0].raw}), 401, "Invalid API key")
