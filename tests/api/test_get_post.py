"""GET /api/v1/get-post/:postGroupId: shape, absent-not-null fields, 404s (never 500), time format."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import update

from postpost.db.models import Post

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
HEX24 = re.compile(r"^[0-9a-f]{24}$")


async def create(client, user, platforms, **body):
    r = await client.post(
        "/api/v1/create-post",
        headers=user.headers,
        json={"content": "Hello world", "platforms": platforms, **body},
    )
    assert r.status_code == 200, r.text
    return r.json()["postGroupId"]


async def get(client, user, group_id):
    return await client.get(f"/api/v1/get-post/{group_id}", headers=user.headers)


async def test_shape_of_a_draft(client, make_user, make_connection):
    user = await make_user()
    pid = await make_connection(user, "mastodon", "424242")
    gid = await create(client, user, [pid])
    r = await get(client, user, gid)
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True
    assert body["postGroupId"] == gid
    assert body["status"] == "draft"
    assert body["processingStatus"] == "pending"
    [post] = body["posts"]
    assert set(post) == {"_id", "platform", "platformId", "content", "status"}
    assert HEX24.match(post["_id"])
    assert post == {
        "_id": post["_id"],
        "platform": "mastodon",
        "platformId": "424242",
        "content": "Hello world",
        "status": "draft",
    }


async def test_raw_platform_id_with_colons_and_dashes(client, make_user, make_connection):
    user = await make_user()
    bsky = await make_connection(user, "bluesky", "did:plc:abc123")
    tg = await make_connection(user, "telegram", "-1001234567890")
    assert tg == "telegram--1001234567890"
    body = (await get(client, user, await create(client, user, [bsky, tg]))).json()
    assert [(p["platform"], p["platformId"]) for p in body["posts"]] == [
        ("bluesky", "did:plc:abc123"),
        ("telegram", "-1001234567890"),
    ]


async def test_scheduled_time_serialised_with_milliseconds(client, make_user, make_connection):
    user = await make_user()
    pid = await make_connection(user)
    gid = await create(client, user, [pid], scheduledTime="2030-03-01T14:00:00Z")
    body = (await get(client, user, gid)).json()
    assert body["scheduledTime"] == "2030-03-01T14:00:00.000Z"
    assert ISO_MS.match(body["scheduledTime"])
    assert body["status"] == "scheduled"
    assert "postedId" not in body["posts"][0]
    assert "error" not in body["posts"][0]


async def test_posted_id_and_error_appear_once_set(client, make_user, make_connection, database):
    user = await make_user()
    first = await make_connection(user, "mastodon", "1")
    second = await make_connection(user, "mastodon", "2")
    gid = await create(client, user, [first, second])
    error = {"code": "PLATFORM_AUTH_EXPIRED", "message": "expired", "retryable": False}
    async with database.session() as s:
        await s.execute(
            update(Post)
            .where(Post.group_id == gid, Post.account_id == "1")
            .values(status="published", posted_id="109876")
        )
        await s.execute(
            update(Post)
            .where(Post.group_id == gid, Post.account_id == "2")
            .values(status="failed", error=error)
        )
        await s.commit()
    published, failed = (await get(client, user, gid)).json()["posts"]
    assert published["postedId"] == "109876" and "error" not in published
    assert failed["error"] == error and "postedId" not in failed


@pytest.mark.parametrize(
    "bad_id",
    [
        "abc",
        "0" * 25,
        "zzzzzzzzzzzzzzzzzzzzzzzz",
        "507f1f77bcf86cd79943901g",
        "507f1f77bcf86cd79943901",
        "507f1f77bcf86cd799439011",
        "%20",
        "null",
        "-1",
        "507f1f77bcf86cd799439011x",
    ],
)
async def test_unknown_or_malformed_id_is_404(client, make_user, bad_id):
    user = await make_user()
    r = await get(client, user, bad_id)
    assert r.status_code == 404
    assert r.json() == {"error": "Post group not found"}


async def test_uppercase_hex_id_finds_the_group(client, make_user, make_connection):
    user = await make_user()
    gid = await create(client, user, [await make_connection(user)])
    r = await get(client, user, gid.upper())
    assert r.status_code == 200
    assert r.json()["postGroupId"] == gid


async def test_requires_api_key(client):
    r = await client.get("/api/v1/get-post/507f1f77bcf86cd799439011")
    assert r.status_code == 401
    assert r.json() == {"error": "API key is required"}
