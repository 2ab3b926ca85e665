"""GET /api/v1/list-posts: pagination clamping, filters, sorting, item shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from postpost.db.models import Media, PostGroup

URL = "/api/v1/list-posts"
STATUS_ERROR = "Invalid status. Must be one of: draft, scheduled, published, failed, partially_published"
SORT_ERROR = "Invalid sortBy. Must be one of: createdAt, updatedAt, scheduledTime"


@pytest.fixture
async def author(make_user, make_connection):
    """A pro user with a Mastodon and a Bluesky connection: (user, mastodon id, bluesky id)."""
    user = await make_user()
    mastodon = await make_connection(user, "mastodon", "m1")
    return user, mastodon, await make_connection(user, "bluesky", "did:plc:b1")


async def create(client, user, platforms, content="Hello", **body):
    r = await client.post(
        "/api/v1/create-post", headers=user.headers, json={"content": content, "platforms": platforms, **body}
    )
    assert r.status_code == 200, r.text
    return r.json()["postGroupId"]


async def listing(client, user, **params):
    r = await client.get(URL, headers=user.headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def ids(client, user, **params):
    return [p["postGroupId"] for p in (await listing(client, user, **params))["posts"]]


async def assert_400(client, user, error, **params):
    r = await client.get(URL, headers=user.headers, params=params)
    assert r.status_code == 400, r.text
    assert r.json() == {"error": error}


async def set_group(database, group_id, **values):
    async with database.session() as s:
        await s.execute(update(PostGroup).where(PostGroup.id == group_id).values(**values))
        await s.commit()


async def make_groups(client, user, pid, n):
    return [await create(client, user, [pid], content=f"post {i}") for i in range(n)]


# --- shape and pagination -----------------------------------------------------------------------------------


async def test_item_shape(client, author, database):
    user, mastodon, bluesky = author
    gid = await create(client, user, [mastodon, bluesky], scheduledTime="2030-03-15T10:00:00Z")
    async with database.session() as s:
        s.add(
            Media(
                group_id=gid,
                user_id=user.id,
                type="image",
                url="https://cdn.example/a.jpg",
                file_name="a.jpg",
                mime_type="image/jpeg",
                storage_key="media/a.jpg",
            )
        )
        await s.commit()
    body = await listing(client, user)
    assert body["success"] is True
    [item] = body["posts"]
    assert set(item) == {
        "postGroupId",
        "content",
        "status",
        "scheduledTime",
        "createdAt",
        "updatedAt",
        "platforms",
        "mediaUrls",
    }
    assert item["postGroupId"] == gid and item["content"] == "Hello" and item["status"] == "scheduled"
    assert item["scheduledTime"] == "2030-03-15T10:00:00.000Z"
    assert item["platforms"] == [
        {"platformId": "mastodon-m1", "platform": "mastodon", "status": "scheduled"},
        {"platformId": "bluesky-did:plc:b1", "platform": "bluesky", "status": "scheduled"},
    ]
    assert item["mediaUrls"] == ["https://cdn.example/a.jpg"]
    assert body["pagination"] == {
        "page": 1,
        "limit": 20,
        "totalItems": 1,
        "totalPages": 1,
        "hasNextPage": False,
        "hasPrevPage": False,
    }


async def test_draft_item_has_null_time_and_empty_media(client, author):
    user, mastodon, _ = author
    await create(client, user, [mastodon])
    [item] = (await listing(client, user))["posts"]
    assert item["scheduledTime"] is None and item["mediaUrls"] == [] and item["status"] == "draft"


async def test_empty_listing(client, make_user):
    body = await listing(client, await make_user())
    assert body == {
        "success": True,
        "posts": [],
        "pagination": {
            "page": 1,
            "limit": 20,
            "totalItems": 0,
            "totalPages": 0,
            "hasNextPage": False,
            "hasPrevPage": False,
        },
    }


async def test_pages(client, author):
    user, mastodon, _ = author
    created = await make_groups(client, user, mastodon, 5)
    first = await listing(client, user, limit=2)
    assert first["pagination"] == {
        "page": 1,
        "limit": 2,
        "totalItems": 5,
        "totalPages": 3,
        "hasNextPage": True,
        "hasPrevPage": False,
    }
    middle = await listing(client, user, limit=2, page=2)
    assert middle["pagination"]["hasNextPage"] is True and middle["pagination"]["hasPrevPage"] is True
    last = await listing(client, user, limit=2, page=3)
    assert last["pagination"]["hasNextPage"] is False and len(last["posts"]) == 1
    beyond = await listing(client, user, limit=2, page=9)
    assert beyond["posts"] == [] and beyond["pagination"]["page"] == 9
    assert beyond["pagination"]["hasPrevPage"] is True and beyond["pagination"]["hasNextPage"] is False
    seen = [p["postGroupId"] for page in (first, middle, last) for p in page["posts"]]
    assert sorted(seen) == sorted(created) and len(set(seen)) == 5


@pytest.mark.parametrize(
    ("params", "page", "limit"),
    [
        ({}, 1, 20),
        ({"page": "0"}, 1, 20),
        ({"page": "-3"}, 1, 20),
        ({"page": "abc"}, 1, 20),
        ({"page": ""}, 1, 20),
        ({"page": "2"}, 2, 20),
        ({"page": "2abc"}, 2, 20),
        ({"limit": "0"}, 1, 20),
        ({"limit": ""}, 1, 20),
        ({"limit": "abc"}, 1, 20),
        ({"limit": "500"}, 1, 100),
        ({"limit": "100"}, 1, 100),
        ({"limit": "-5"}, 1, 1),
        ({"limit": "7.9"}, 1, 7),
    ],
)
async def test_page_and_limit_clamping(client, make_user, params, page, limit):
    pagination = (await listing(client, await make_user(), **params))["pagination"]
    assert (pagination["page"], pagination["limit"]) == (page, limit)


@pytest.mark.parametrize("page", ["99999999999999999999", "9" * 5000], ids=["20-digits", "5000-digits"])
async def test_huge_page_is_empty_not_500(client, author, page):
    user, mastodon, _ = author
    await create(client, user, [mastodon])
    body = await listing(client, user, page=page, limit="9" * 5000)
    assert body["posts"] == []
    assert body["pagination"]["limit"] == 100 and body["pagination"]["hasPrevPage"] is True


async def test_leading_zeros_and_signs_parse_like_parse_int(client, make_user):
    user = await make_user()
    pagination = (await listing(client, user, page="0" * 30 + "3", limit=" +05"))["pagination"]
    assert (pagination["page"], pagination["limit"]) == (3, 5)


# --- status -------------------------------------------------------------------------------------------------


async def test_status_filter_is_exact(client, author, database):
    user, mastodon, _ = author
    draft = await create(client, user, [mastodon])
    scheduled = await create(client, user, [mastodon], scheduledTime="2030-03-15T10:00:00Z")
    published, partial, failed = await make_groups(client, user, mastodon, 3)
    for gid, status in ((published, "published"), (partial, "partially_published"), (failed, "failed")):
        await set_group(database, gid, status=status)
    assert await ids(client, user, status="draft") == [draft]
    assert await ids(client, user, status="scheduled") == [scheduled]
    assert await ids(client, user, status="published") == [published]
    assert await ids(client, user, status="partially_published") == [partial]
    assert await ids(client, user, status="failed") == [failed]
    assert (await listing(client, user, status="published"))["pagination"]["totalItems"] == 1


@pytest.mark.parametrize("status", ["pending", "processing", "Draft", "PUBLISHED", "all", "draft,scheduled"])
async def test_invalid_status(client, make_user, status):
    await assert_400(client, await make_user(), STATUS_ERROR, status=status)


# --- sorting ------------------------------------------------------------------------------------------------


async def test_sorting(client, author, database):
    user, mastodon, _ = author
    a, b, c = await make_groups(client, user, mastodon, 3)
    base = datetime(2030, 1, 1, tzinfo=UTC)
    for gid, created, updated, scheduled in ((a, 1, 3, 2), (b, 2, 1, 3), (c, 3, 2, 1)):
        await set_group(
            database,
            gid,
            created_at=base + timedelta(days=created),
            updated_at=base + timedelta(days=updated),
            scheduled_time=base + timedelta(days=scheduled),
        )
    assert await ids(client, user) == [c, b, a]
    assert await ids(client, user, sortOrder="asc") == [a, b, c]
    assert await ids(client, user, sortBy="createdAt", sortOrder="desc") == [c, b, a]
    assert await ids(client, user, sortBy="updatedAt", sortOrder="asc") == [b, c, a]
    assert await ids(client, user, sortBy="scheduledTime") == [b, a, c]
    assert await ids(client, user, sortBy="scheduledTime", sortOrder="asc") == [c, a, b]
    for other in ("ASC", "ascending", "", "up"):
        assert await ids(client, user, sortOrder=other) == [c, b, a]


@pytest.mark.parametrize("sort_by", ["created_at", "content", "CreatedAt"])
async def test_invalid_sort_by(client, make_user, sort_by):
    await assert_400(client, await make_user(), SORT_ERROR, sortBy=sort_by)


async def test_empty_filters_count_as_absent(client, make_user, make_connection):
    user = await make_user()
    pid = await make_connection(user)
    r = await client.post(
        "/api/v1/create-post",
        headers=user.headers,
        json={"content": "x", "platforms": [pid], "scheduledTime": ""},
    )
    assert r.status_code == 200, r.text
    body = await listing(client, user, status="", sortBy="", fromDate="", toDate="")
    assert [p["status"] for p in body["posts"]] == ["draft"]


# --- platform -----------------------------------------------------------------------------------------------


async def test_platform_filter(client, author):
    user, mastodon, bluesky = author
    only_mastodon = await create(client, user, [mastodon])
    both = await create(client, user, [mastodon, bluesky])
    only_bluesky = await create(client, user, [bluesky])
    assert set(await ids(client, user, platform="mastodon")) == {only_mastodon, both}
    assert set(await ids(client, user, platform="BlueSky")) == {both, only_bluesky}
    assert (await listing(client, user, platform="bluesky"))["pagination"]["totalItems"] == 2
    assert set(await ids(client, user, platform="")) == {only_mastodon, both, only_bluesky}
    for nothing in ("mastodon-m1", "twitter", "pinterest", "mast", "nosuch"):
        assert await ids(client, user, platform=nothing) == [], nothing


@pytest.mark.parametrize(
    "pattern",
    [".*", "%", "_", "m%", "mastod_n", "masto.*", "(mastodon|bluesky)", "[mb]", "\\", "'", "mastodon\\"],
)
async def test_platform_metacharacters_are_literal(client, author, pattern):
    user, mastodon, bluesky = author
    await create(client, user, [mastodon, bluesky])
    assert await ids(client, user, platform=pattern) == []


# --- dates --------------------------------------------------------------------------------------------------


async def test_date_filters_use_scheduled_time_and_drop_drafts(client, author):
    user, mastodon, _ = author
    await create(client, user, [mastodon])
    march = await create(client, user, [mastodon], scheduledTime="2030-03-15T10:00:00Z")
    april = await create(client, user, [mastodon], scheduledTime="2030-04-15T10:00:00Z")
    assert set(await ids(client, user, fromDate="2030-01-01")) == {march, april}
    assert await ids(client, user, fromDate="2030-04-01T00:00:00Z") == [april]
    assert await ids(client, user, toDate="2030-03-31") == [march]
    exact = "2030-03-15T10:00:00.000Z"
    assert await ids(client, user, fromDate=exact, toDate=exact) == [march]
    assert await ids(client, user, fromDate="2030-03-01", toDate="2030-03-31T23:59:59Z") == [march]
    assert await ids(client, user, fromDate="2031-01-01") == []
    assert await ids(client, user, fromDate="2030-03-15T05:00:01-05:00") == [april]


@pytest.mark.parametrize("value", ["not a date", "2030-13-01", "31/12/2030", "0001-01-01 00:00:00+05:00"])
async def test_invalid_dates(client, make_user, value):
    user = await make_user()
    await assert_400(client, user, "Invalid fromDate format", fromDate=value)
    await assert_400(client, user, "Invalid toDate format", toDate=value)


async def test_status_checked_before_sort(client, make_user):
    await assert_400(client, await make_user(), STATUS_ERROR, status="x", sortBy="x", fromDate="x")


async def test_requires_api_key(client):
    r = await client.get(URL)
    assert r.status_code == 401
    assert r.json() == {"error": "API key is required"}


async def test_nul_byte_in_filters_is_not_a_500(client, author):
    user, mastodon, _ = author
    await create(client, user, [mastodon], scheduledTime="2030-03-15T10:00:00Z")
    assert await ids(client, user, platform="mastodon\x00") == []
    await assert_400(client, user, "Invalid fromDate format", fromDate="2030-01-01\x00")
    await assert_400(client, user, STATUS_ERROR, status="draft\x00")
