"""GET /api/v1/platform-connections (§1.3.1): fields, compound ids, token health, secrets, tenancy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text, update

from postpost.db.models import Connection
from postpost.ids import iso
from postpost.security import SecretBox
from postpost.services.connections import split_platform_id, token_expires_in, token_status
from tests.conftest import SECRET

FIELDS = {
    "platformId",
    "username",
    "displayName",
    "profileImageUrl",
    "profileUrl",
    "accessTokenExpiresAt",
    "tokenStatus",
    "tokenExpiresIn",
    "lastSuccessfulPost",
    "lastError",
}
ISO = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"


async def listed(client, headers):
    r = await client.get("/api/v1/platform-connections", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True and set(body) == {"success", "connections"}
    return body["connections"]


async def test_empty(client, make_user):
    user = await make_user()
    assert await listed(client, user.headers) == []


async def test_requires_auth(client):
    r = await client.get("/api/v1/platform-connections")
    assert r.status_code == 401 and r.json() == {"error": "API key is required"}


async def test_fields(client, database, make_user, make_connection):
    user = await make_user()
    pid = await make_connection(user, "mastodon", "109876543210", username="@alice", display_name="Alice")
    [entry] = await listed(client, user.headers)
    assert set(entry) == FIELDS
    assert entry == {
        "platformId": "mastodon-109876543210",
        "username": "@alice",
        "displayName": "Alice",
        "profileImageUrl": None,
        "profileUrl": None,
        "accessTokenExpiresAt": None,
        "tokenStatus": "unknown",
        "tokenExpiresIn": None,
        "lastSuccessfulPost": None,
        "lastError": None,
    }
    assert pid == entry["platformId"]

    posted = datetime(2026, 2, 22, 9, 15, tzinfo=UTC)
    async with database.session() as s:
        await s.execute(
            update(Connection)
            .where(Connection.user_id == user.id)
            .values(
                profile_image_url="https://img.example/a.png",
                profile_url="https://m.example/@alice",
                last_successful_post_at=posted,
                last_error={"message": "Token revoked", "occurredAt": "2026-02-23T10:00:00.000Z"},
            )
        )
        await s.commit()
    [entry] = await listed(client, user.headers)
    assert entry["profileImageUrl"] == "https://img.example/a.png"
    assert entry["profileUrl"] == "https://m.example/@alice"
    assert entry["lastSuccessfulPost"] == "2026-02-22T09:15:00.000Z"
    assert entry["lastError"] == {"message": "Token revoked", "occurredAt": "2026-02-23T10:00:00.000Z"}


async def test_display_name_defaults_to_username(client, make_user, make_connection):
    user = await make_user()
    await make_connection(user, "bluesky", "did:plc:abc123", username="alice.bsky.social")
    [entry] = await listed(client, user.headers)
    assert entry["username"] == entry["displayName"] == "alice.bsky.social"


async def test_compound_ids_usable_in_create_post(client, make_user, make_connection):
    user = await make_user()
    telegram = await make_connection(user, "telegram", "-1001234567890")
    bluesky = await make_connection(user, "bluesky", "did:plc:abc123")
    assert telegram == "telegram--1001234567890"
    assert bluesky == "bluesky-did:plc:abc123"
    assert split_platform_id(telegram) == ("telegram", "-1001234567890")
    assert split_platform_id(bluesky) == ("bluesky", "did:plc:abc123")
    ids = [c["platformId"] for c in await listed(client, user.headers)]
    assert ids == [telegram, bluesky]

    r = await client.post(
        "/api/v1/create-post",
        headers=user.headers,
        json={"content": "both", "platforms": [telegram, bluesky]},
    )
    assert r.status_code == 200, r.text
    gid = r.json()["postGroupId"]
    got = (await client.get(f"/api/v1/get-post/{gid}", headers=user.headers)).json()
    assert [(p["platform"], p["platformId"]) for p in got["posts"]] == [
        ("telegram", "-1001234567890"),
        ("bluesky", "did:plc:abc123"),
    ]
    posts = (await client.get("/api/v1/list-posts", headers=user.headers)).json()["posts"]
    assert [p["platformId"] for p in posts[0]["platforms"]] == [telegram, bluesky]


@pytest.mark.parametrize(
    ("delta", "status", "expires_in"),
    [
        (timedelta(days=82, hours=4, minutes=30), "valid", "82d 4h"),
        (timedelta(days=7, hours=3, minutes=30), "valid", "7d 3h"),
        (timedelta(days=7, minutes=5), "valid", "7d 0h"),
        (timedelta(days=6, hours=23, minutes=30), "expiring_soon", "6d 23h"),
        (timedelta(days=1, minutes=5), "expiring_soon", "1d 0h"),
        (timedelta(hours=5, minutes=30), "expiring_soon", "5h"),
        (timedelta(minutes=30), "expiring_soon", "< 1h"),
        (timedelta(hours=-1), "expired", "expired"),
        (timedelta(days=-30), "expired", "expired"),
    ],
)
async def test_token_buckets(client, make_user, make_connection, delta, status, expires_in):
    user = await make_user()
    expires_at = datetime.now(UTC) + delta
    await make_connection(user, expires_at=expires_at)
    [entry] = await listed(client, user.headers)
    assert entry["tokenStatus"] == status
    assert entry["tokenExpiresIn"] == expires_in
    assert entry["accessTokenExpiresAt"] == iso(expires_at)
    assert entry["accessTokenExpiresAt"].endswith("Z")


def test_token_bucket_boundaries():
    now = datetime(2026, 3, 1, tzinfo=UTC)
    assert token_status(now + timedelta(days=7), now) == "valid"
    assert token_status(now + timedelta(days=7) - timedelta(milliseconds=1), now) == "expiring_soon"
    assert token_status(now, now) == "expired"
    assert token_status(None, now) == "unknown"
    assert token_expires_in(now + timedelta(days=7), now) == "7d 0h"
    assert token_expires_in(now + timedelta(hours=1), now) == "1h"
    assert token_expires_in(now + timedelta(minutes=59), now) == "< 1h"
    assert token_expires_in(now, now) == "expired"
    assert token_expires_in(None, now) is None


async def test_secrets_never_leave_and_are_encrypted_at_rest(client, database, make_user, make_connection):
    user = await make_user()
    await make_connection(user, secrets={"access_token": "SECRET-TOKEN", "refresh_token": "REFRESH-SECRET"})
    r = await client.get("/api/v1/platform-connections", headers=user.headers)
    assert r.status_code == 200
    assert "SECRET-TOKEN" not in r.text and "REFRESH-SECRET" not in r.text
    assert "secret" not in r.text.lower()
    async with database.session() as s:
        raw = (
            (await s.execute(text("SELECT * FROM connections WHERE user_id = :u"), {"u": user.id}))
            .mappings()
            .one()
        )
        for column, value in raw.items():
            assert "SECRET-TOKEN" not in str(value), column
            assert "REFRESH-SECRET" not in str(value), column
        stored = await s.scalar(select(Connection.secrets).where(Connection.user_id == user.id))
    assert SecretBox(SECRET.encode()).decrypt(stored) == {
        "access_token": "SECRET-TOKEN",
        "refresh_token": "REFRESH-SECRET",
    }
    with pytest.raises(ValueError):
        SecretBox(b"another-key").decrypt(stored)


async def test_tenancy(client, make_user, make_connection):
    alice = await make_user()
    bob = await make_user()
    a1 = await make_connection(alice, account_id="111")
    b1 = await make_connection(bob, account_id="111")  # same raw id, other tenant
    b2 = await make_connection(bob, "bluesky", "did:plc:bob")
    assert [c["platformId"] for c in await listed(client, alice.headers)] == [a1]
    assert [c["platformId"] for c in await listed(client, bob.headers)] == [b1, b2]
    # Bob's bluesky connection cannot be used by Alice.
    r = await client.post(
        "/api/v1/create-post", headers=alice.headers, json={"content": "x", "platforms": [b2]}
    )
    assert r.status_code == 400


async def test_workspace_sees_managed_connections_only_with_header(client, make_user, make_connection):
    owner = await make_user(workspace=True)
    child = await make_user(parent=owner)
    o = await make_connection(owner)
    c = await make_connection(child)
    assert [x["platformId"] for x in await listed(client, owner.headers)] == [o]
    headers = {**owner.headers, "x-postpost-user-id": child.id}
    assert [x["platformId"] for x in await listed(client, headers)] == [c]
    assert [x["platformId"] for x in await listed(client, child.headers)] == [c]


async def test_query_string_and_unicode_fields(client, make_user, make_connection):
    user = await make_user()
    await make_connection(user, "mastodon", "42", username="ünïcødé ✓")
    r = await client.get("/api/v1/platform-connections?platform=x&page=-1", headers=user.headers)
    assert r.status_code == 200
    assert r.json()["connections"][0]["username"] == "ünïcødé ✓"
