"""POST /api/v1/create-post: validation order and strings, drafts vs scheduled, connection checks."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

URL = "/api/v1/create-post"
FUTURE = "2030-03-15T10:00:00.000Z"
HEX24 = re.compile(r"^[0-9a-f]{24}$")


@pytest.fixture
async def author(make_user, make_connection):
    """A pro user with one Mastodon connection: (user, compound platform id)."""
    user = await make_user()
    return user, await make_connection(user)


async def create(client, user, **body):
    return await client.post(URL, headers=user.headers, json=body)


async def assert_400(client, user, error, **body):
    r = await create(client, user, **body)
    assert r.status_code == 400, r.text
    assert r.json() == {"error": error}


async def fetch(client, user, group_id):
    r = await client.get(f"/api/v1/get-post/{group_id}", headers=user.headers)
    assert r.status_code == 200, r.text
    return r.json()


def parse_iso(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


# --- success ------------------------------------------------------------------------------------------------


async def test_draft_without_scheduled_time(client, author):
    user, pid = author
    r = await create(client, user, content="Hello", platforms=[pid])
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"success", "postGroupId"}
    assert body["success"] is True
    assert HEX24.match(body["postGroupId"])
    got = await fetch(client, user, body["postGroupId"])
    assert got["status"] == "draft"
    assert got["scheduledTime"] is None
    assert [p["status"] for p in got["posts"]] == ["draft"]


async def test_scheduled_with_time(client, author):
    user, pid = author
    r = await create(client, user, content="Hello", platforms=[pid], scheduledTime=FUTURE)
    assert r.status_code == 200, r.text
    got = await fetch(client, user, r.json()["postGroupId"])
    assert got["status"] == "scheduled"
    assert got["processingStatus"] == "pending"
    assert got["scheduledTime"] == FUTURE
    assert [p["status"] for p in got["posts"]] == ["scheduled"]


async def test_null_scheduled_time_is_a_draft(client, author):
    user, pid = author
    r = await create(client, user, content="Hello", platforms=[pid], scheduledTime=None)
    assert (await fetch(client, user, r.json()["postGroupId"]))["status"] == "draft"


async def test_one_post_per_platform_and_duplicates_collapsed(client, make_user, make_connection):
    user = await make_user()
    first = await make_connection(user, "mastodon", "111")
    second = await make_connection(user, "bluesky", "did:plc:abc123")
    r = await create(client, user, content="Hi", platforms=[first, second, first, second])
    assert r.status_code == 200, r.text
    got = await fetch(client, user, r.json()["postGroupId"])
    assert [(p["platform"], p["platformId"]) for p in got["posts"]] == [
        ("mastodon", "111"),
        ("bluesky", "did:plc:abc123"),
    ]


async def test_platforms_as_json_string(client, author):
    user, pid = author
    r = await create(client, user, content="Hi", platforms=json.dumps([pid]))
    assert r.status_code == 200, r.text
    assert len((await fetch(client, user, r.json()["postGroupId"]))["posts"]) == 1


async def test_bluesky_did_accepted_when_connected(client, make_user, make_connection):
    user = await make_user()
    pid = await make_connection(user, "bluesky", "did:plc:abc123")
    assert pid == "bluesky-did:plc:abc123"
    r = await create(client, user, content="Hi", platforms=[pid])
    assert r.status_code == 200, r.text


async def test_platform_settings_accepted(client, author):
    user, pid = author
    for settings in (
        {"tiktok": {"allowDuet": True}, "unknown": {"x": 1}},
        json.dumps({"youtube": {"title": "T"}}),
        {"instagram": "not-an-object"},
        {},
    ):
        r = await create(client, user, content="Hi", platforms=[pid], platformSettings=settings)
        assert r.status_code == 200, (settings, r.text)


async def test_extra_fields_ignored(client, author):
    user, pid = author
    r = await create(client, user, content="Hi", platforms=[pid], status="scheduled", mediaUrls=["x"])
    assert r.status_code == 200, r.text
    assert (await fetch(client, user, r.json()["postGroupId"]))["status"] == "draft"


# --- scheduledTime formats ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("2030-03-15T10:00:00.000Z", "2030-03-15T10:00:00.000Z"),
        ("2030-03-15T10:00:00Z", "2030-03-15T10:00:00.000Z"),
        ("2030-03-15T10:00:00+00:00", "2030-03-15T10:00:00.000Z"),
        ("2030-03-15T14:00:00.123456Z", "2030-03-15T14:00:00.123Z"),
        ("2030-03-15T10:00:00-05:00", "2030-03-15T15:00:00.000Z"),
        ("2030-03-15T10:00:00+05:30", "2030-03-15T04:30:00.000Z"),
    ],
)
async def test_accepted_time_formats_stored_as_utc(client, author, given, stored):
    user, pid = author
    r = await create(client, user, content="Hi", platforms=[pid], scheduledTime=given)
    assert r.status_code == 200, r.text
    assert (await fetch(client, user, r.json()["postGroupId"]))["scheduledTime"] == stored


@pytest.mark.parametrize(
    "given",
    [
        "2026-03-15 10:00:00",
        "March 15, 2026",
        "03/15/2026",
        "2026-03-15",
        "2026-03-15T10:00:00",
        "garbage",
        "2026-13-15T10:00:00Z",
        1773568800000,
        True,
    ],
)
async def test_rejected_time_formats(client, author, given):
    user, pid = author
    await assert_400(
        client, user, "Invalid scheduled time format", content="Hi", platforms=[pid], scheduledTime=given
    )


@pytest.mark.parametrize("given", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+05:00"])
async def test_out_of_range_time_is_a_400_not_a_500(client, author, given):
    user, pid = author
    await assert_400(
        client, user, "Invalid scheduled time format", content="Hi", platforms=[pid], scheduledTime=given
    )


async def test_december_9999_is_schedulable(client, author):
    user, pid = author
    r = await create(client, user, content="Hi", platforms=[pid], scheduledTime="9999-12-15T10:00:00Z")
    assert r.status_code == 200, r.text
    assert (await fetch(client, user, r.json()["postGroupId"]))["scheduledTime"] == "9999-12-15T10:00:00.000Z"


async def test_past_time_is_clamped_to_now(client, author):
    user, pid = author
    before = datetime.now(UTC) - timedelta(seconds=1)
    r = await create(client, user, content="Hi", platforms=[pid], scheduledTime="2020-01-01T00:00:00Z")
    assert r.status_code == 200, r.text
    got = await fetch(client, user, r.json()["postGroupId"])
    assert got["status"] == "scheduled"
    assert before <= parse_iso(got["scheduledTime"]) <= datetime.now(UTC) + timedelta(seconds=1)


# --- validation errors, in documented order -----------------------------------------------------------------


@pytest.mark.parametrize("content", [None, "", "   \n\t ", 5, {}, {"a": 1}, ["x"], True])
async def test_content_required(client, author, content):
    user, pid = author
    await assert_400(client, user, "Content is required", content=content, platforms=[pid])


async def test_content_missing(client, author):
    user, pid = author
    await assert_400(client, user, "Content is required", platforms=[pid])


async def test_content_checked_before_platforms(client, author):
    user, _ = author
    await assert_400(client, user, "Content is required", platforms="not json")


async def test_platforms_required(client, author):
    user, _ = author
    await assert_400(client, user, "Platforms are required", content="Hi")
    await assert_400(client, user, "Platforms are required", content="Hi", platforms=None)


@pytest.mark.parametrize("platforms", ["not json", "[mastodon-1", "{"])
async def test_platforms_unparseable_string(client, author, platforms):
    user, _ = author
    await assert_400(client, user, "Invalid platforms JSON format", content="Hi", platforms=platforms)


@pytest.mark.parametrize("platforms", [{"a": "mastodon-1"}, 5, '"mastodon-1"', '{"a": 1}', "5", True])
async def test_platforms_must_be_array(client, author, platforms):
    user, _ = author
    await assert_400(client, user, "Platforms must be an array", content="Hi", platforms=platforms)


@pytest.mark.parametrize("platforms", [[], "[]"])
async def test_at_least_one_platform(client, author, platforms):
    user, _ = author
    await assert_400(client, user, "At least one platform is required", content="Hi", platforms=platforms)


@pytest.mark.parametrize(
    ("item", "shown"),
    [
        ("Mastodon-123", "Mastodon-123"),
        ("mastodon-12 3", "mastodon-12 3"),
        ("mastodon 123", "mastodon 123"),
        ("mastodon123", "mastodon123"),
        ("mastodon-", "mastodon-"),
        ("-123", "-123"),
        ("", ""),
        (123, "123"),
    ],
)
async def test_invalid_platform_id_format(client, author, item, shown):
    user, pid = author
    await assert_400(
        client, user, f"Invalid platform ID format: {shown}", content="Hi", platforms=[pid, item]
    )


async def test_platforms_checked_before_time(client, author):
    user, _ = author
    await assert_400(
        client, user, "Invalid platform ID format: BAD", content="Hi", platforms=["BAD"], scheduledTime="nope"
    )


async def test_time_checked_before_platform_settings(client, author):
    user, pid = author
    await assert_400(
        client,
        user,
        "Invalid scheduled time format",
        content="Hi",
        platforms=[pid],
        scheduledTime="nope",
        platformSettings="{",
    )


@pytest.mark.parametrize("value", ["{", "not json", "{'a': 1}"])
async def test_platform_settings_invalid_json(client, author, value):
    user, pid = author
    await assert_400(
        client, user, "Invalid platformSettings JSON", content="Hi", platforms=[pid], platformSettings=value
    )


@pytest.mark.parametrize("value", [[], [{"tiktok": {}}], 5, "[1, 2]", "null", "5", '"text"'])
async def test_platform_settings_must_be_object(client, author, value):
    user, pid = author
    await assert_400(
        client,
        user,
        "platformSettings must be an object",
        content="Hi",
        platforms=[pid],
        platformSettings=value,
    )


async def test_validation_runs_before_connection_lookup(client, author):
    user, _ = author
    await assert_400(
        client,
        user,
        "Invalid scheduled time format",
        content="Hi",
        platforms=["mastodon-999"],
        scheduledTime="nope",
    )


# --- connections --------------------------------------------------------------------------------------------


async def test_unknown_connection_rejected(client, author):
    user, pid = author
    await assert_400(
        client,
        user,
        "Platform connection not found: mastodon-999999999999999",
        content="Hi",
        platforms=[pid, "mastodon-999999999999999"],
    )


async def test_unconnected_bluesky_did_rejected_by_connection_not_format(client, author):
    user, _ = author
    await assert_400(
        client,
        user,
        "Platform connection not found: bluesky-did:plc:zzz",
        content="Hi",
        platforms=["bluesky-did:plc:zzz"],
    )


async def test_rejected_create_stores_nothing(client, author):
    user, pid = author
    await create(client, user, content="Hi", platforms=[pid, "mastodon-1"])
    r = await client.get("/api/v1/list-posts", headers=user.headers)
    assert r.json()["posts"] == []


# --- transport ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"{not json", b'{"content": "x",}', b"\xff\xfe"])
async def test_malformed_json_body(client, author, raw):
    user, _ = author
    r = await client.post(URL, headers={**user.headers, "content-type": "application/json"}, content=raw)
    assert r.status_code == 400
    assert r.json() == {"error": "Invalid JSON body"}


@pytest.mark.parametrize("raw", [b"", b"[]", b'"text"', b"null"])
async def test_non_object_body_is_content_required(client, author, raw):
    user, _ = author
    r = await client.post(URL, headers={**user.headers, "content-type": "application/json"}, content=raw)
    assert r.status_code == 400
    assert r.json() == {"error": "Content is required"}


async def test_body_over_one_mib_is_413_json(client, author):
    user, pid = author
    r = await create(client, user, content="x" * (1024 * 1024 + 10), platforms=[pid])
    assert r.status_code == 413
    assert r.headers["content-type"].startswith("application/json")
    assert "error" in r.json()


async def test_streamed_body_over_one_mib_is_413_json(client, author):
    user, pid = author

    async def chunks():
        yield b'{"content": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'", "platforms": ["' + pid.encode() + b'"]}'

    r = await client.post(URL, headers={**user.headers, "content-type": "application/json"}, content=chunks())
    assert r.status_code == 413
    assert "error" in r.json()


async def test_requires_api_key(client):
    r = await client.post(URL, json={"content": "Hi", "platforms": ["mastodon-1"]})
    assert r.status_code == 401
    assert r.json() == {"error": "API key is required"}


async def test_nul_byte_in_content_is_not_a_500(client, author):
    user, pid = author
    r = await create(client, user, content="a\x00b", platforms=[pid])
    assert r.status_code in (200, 400), r.text
