"""PUT /api/v1/update-post/:postGroupId: validation order, time rules, propagation, non-editable groups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from postpost.db.models import Post, PostGroup

FUTURE = "2030-03-15T10:00:00.000Z"
LATER = "2030-04-01T08:30:00.000Z"


@pytest.fixture
async def author(make_user, make_connection):
    """A pro user with two connections: (user, [compound ids])."""
    user = await make_user()
    return user, [await make_connection(user, "mastodon"), await make_connection(user, "bluesky")]


async def create(client, user, platforms, **body):
    r = await client.post(
        "/api/v1/create-post", headers=user.headers, json={"content": "Hello", "platforms": platforms, **body}
    )
    assert r.status_code == 200, r.text
    return r.json()["postGroupId"]


async def put(client, user, group_id, body):
    return await client.put(f"/api/v1/update-post/{group_id}", headers=user.headers, json=body)


async def fetch(client, user, group_id):
    return (await client.get(f"/api/v1/get-post/{group_id}", headers=user.headers)).json()


async def assert_400(client, user, group_id, body, error):
    r = await put(client, user, group_id, body)
    assert r.status_code == 400, r.text
    assert r.json() == {"error": error}


async def set_state(database, group_id, status, processing="pending"):
    """Force a group (and its platform posts) into a state the API cannot reach yet."""
    post_status = {"partially_published": "published"}.get(status, status)
    async with database.session() as s:
        await s.execute(
            update(PostGroup)
            .where(PostGroup.id == group_id)
            .values(status=status, processing_status=processing)
        )
        await s.execute(update(Post).where(Post.group_id == group_id).values(status=post_status))
        await s.commit()


def parse_iso(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def near_now(text):
    return abs(parse_iso(text) - datetime.now(UTC)) < timedelta(seconds=5)


# --- validation ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"status": ""},
        {"status": None},
        {"status": 0},
        {"scheduledTime": ""},
        {"scheduledTime": None},
        {"scheduledTime": 0},
        {"status": "", "scheduledTime": None},
        {"content": "new"},
        [],
        "text",
    ],
)
async def test_either_field_required(client, author, body):
    user, pids = author
    gid = await create(client, user, pids)
    await assert_400(client, user, gid, body, "Either status or scheduledTime must be provided")


async def test_empty_body_is_either_field_required(client, author):
    user, pids = author
    gid = await create(client, user, pids)
    r = await client.put(f"/api/v1/update-post/{gid}", headers=user.headers)
    assert r.status_code == 400
    assert r.json() == {"error": "Either status or scheduledTime must be provided"}


@pytest.mark.parametrize(
    "status", ["published", "failed", "pending", "Draft", "SCHEDULED", 1, True, ["draft"]]
)
async def test_status_must_be_draft_or_scheduled(client, author, status):
    user, pids = author
    gid = await create(client, user, pids)
    await assert_400(
        client,
        user,
        gid,
        {"status": status, "scheduledTime": FUTURE},
        "Status must be either 'draft' or 'scheduled'",
    )


@pytest.mark.parametrize(
    "when",
    [
        "2026-03-15 10:00:00",
        "March 15, 2026",
        "03/15/2026",
        "2026-03-15",
        "soon",
        1773568800000,
        "9999-12-31T23:00:00-05:00",
    ],
)
async def test_invalid_scheduled_time(client, author, when):
    user, pids = author
    gid = await create(client, user, pids)
    await assert_400(client, user, gid, {"scheduledTime": when}, "Invalid scheduled time format")


async def test_validation_precedes_lookup(client, author):
    user, _ = author
    unknown = "507f1f77bcf86cd799439011"
    await assert_400(client, user, unknown, {}, "Either status or scheduledTime must be provided")
    await assert_400(client, user, unknown, {"status": "x"}, "Status must be either 'draft' or 'scheduled'")
    await assert_400(client, user, "abc", {"scheduledTime": "x"}, "Invalid scheduled time format")


async def test_malformed_json(client, author):
    user, pids = author
    gid = await create(client, user, pids)
    r = await client.put(
        f"/api/v1/update-post/{gid}",
        content=b"{oops",
        headers={**user.headers, "content-type": "application/json"},
    )
    assert r.status_code == 400
    assert r.json() == {"error": "Invalid JSON body"}


@pytest.mark.parametrize("group_id", ["507f1f77bcf86cd799439011", "abc", "0" * 25, "g" * 24])
async def test_unknown_or_malformed_id_is_404(client, author, group_id):
    user, _ = author
    r = await put(client, user, group_id, {"status": "draft"})
    assert r.status_code == 404
    assert r.json() == {"error": "Post group not found"}


# --- success paths ------------------------------------------------------------------------------------------


async def test_schedule_a_draft_with_both_fields(client, author):
    user, pids = author
    gid = await create(client, user, pids)
    r = await put(client, user, gid, {"status": "scheduled", "scheduledTime": "2030-03-15T05:00:00-05:00"})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "success": True,
        "message": "Post updated successfully",
        "postGroup": {"_id": gid, "status": "scheduled", "scheduledTime": FUTURE},
    }
    got = await fetch(client, user, gid)
    assert got["status"] == "scheduled" and got["scheduledTime"] == FUTURE
    assert [p["status"] for p in got["posts"]] == ["scheduled", "scheduled"]


async def test_draft_reply_has_no_scheduled_time_when_none_stored(client, author):
    user, pids = author
    gid = await create(client, user, pids)
    r = await put(client, user, gid, {"status": "draft"})
    assert r.status_code == 200, r.text
    assert r.json()["postGroup"] == {"_id": gid, "status": "draft"}


async def test_only_time_keeps_status_scheduled(client, author):
    user, pids = author
    gid = await create(client, user, pids, scheduledTime=FUTURE)
    r = await put(client, user, gid, {"scheduledTime": LATER})
    assert r.json()["postGroup"] == {"_id": gid, "status": "scheduled", "scheduledTime": LATER}
    assert (await fetch(client, user, gid))["scheduledTime"] == LATER


async def test_only_time_keeps_status_draft(client, author):
    user, pids = author
    gid = await create(client, user, pids)
    r = await put(client, user, gid, {"scheduledTime": LATER})
    assert r.json()["postGroup"] == {"_id": gid, "status": "draft", "scheduledTime": LATER}
    got = await fetch(client, user, gid)
    assert got["status"] == "draft"
    assert [p["status"] for p in got["posts"]] == ["draft", "draft"]


async def test_pause_keeps_stored_time(client, author):
    user, pids = author
    gid = await create(client, user, pids, scheduledTime=FUTURE)
    r = await put(client, user, gid, {"status": "draft"})
    assert r.json()["postGroup"] == {"_id": gid, "status": "draft", "scheduledTime": FUTURE}
    got = await fetch(client, user, gid)
    assert got["status"] == "draft" and got["scheduledTime"] == FUTURE
    assert [p["status"] for p in got["posts"]] == ["draft", "draft"]


async def test_reschedule_paused_post_reuses_stored_time(client, author):
    user, pids = author
    gid = await create(client, user, pids, scheduledTime=FUTURE)
    await put(client, user, gid, {"status": "draft"})
    r = await put(client, user, gid, {"status": "scheduled"})
    assert r.json()["postGroup"]["scheduledTime"] == FUTURE


async def test_scheduling_a_draft_without_time_means_now(client, author):
    user, pids = author
    gid = await create(client, user, pids)
    r = await put(client, user, gid, {"status": "scheduled"})
    assert r.status_code == 200, r.text
    reply = r.json()["postGroup"]
    assert reply["status"] == "scheduled" and near_now(reply["scheduledTime"])
    assert [p["status"] for p in (await fetch(client, user, gid))["posts"]] == ["scheduled", "scheduled"]


async def test_past_time_becomes_now(client, author):
    user, pids = author
    gid = await create(client, user, pids, scheduledTime=FUTURE)
    r = await put(client, user, gid, {"scheduledTime": "2020-01-01T00:00:00Z"})
    reply = r.json()["postGroup"]
    assert reply["status"] == "scheduled" and near_now(reply["scheduledTime"])
    assert near_now((await fetch(client, user, gid))["scheduledTime"])


async def test_content_and_platforms_are_ignored(client, author):
    user, pids = author
    gid = await create(client, user, pids)
    r = await put(client, user, gid, {"status": "draft", "content": "changed", "platforms": [pids[0]]})
    assert r.status_code == 200
    got = await fetch(client, user, gid)
    assert [p["content"] for p in got["posts"]] == ["Hello", "Hello"]


# --- non-editable groups ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["published", "failed", "partially_published"])
async def test_finished_groups_refused(client, author, database, status):
    user, pids = author
    gid = await create(client, user, pids, scheduledTime=FUTURE)
    await set_state(database, gid, status, processing="finished")
    refusal = f"Cannot update post: post is currently in {status} status"
    bodies = ({"status": "draft"}, {"status": "scheduled", "scheduledTime": LATER}, {"scheduledTime": LATER})
    for body in bodies:
        await assert_400(client, user, gid, body, refusal)
    got = await fetch(client, user, gid)
    assert got["status"] == status and got["scheduledTime"] == FUTURE


async def test_processing_group_refused(client, author, database):
    user, pids = author
    gid = await create(client, user, pids, scheduledTime=FUTURE)
    await set_state(database, gid, "scheduled", processing="processing")
    refusal = "Cannot update post: post is currently in processing status"
    for body in ({"status": "draft"}, {"scheduledTime": LATER}):
        await assert_400(client, user, gid, body, refusal)
    got = await fetch(client, user, gid)
    assert got["status"] == "scheduled" and got["scheduledTime"] == FUTURE
    assert got["processingStatus"] == "processing"


async def test_group_with_a_claimed_platform_post_refused(client, author, database):
    user, pids = author
    gid = await create(client, user, pids, scheduledTime=FUTURE)
    async with database.session() as s:
        await s.execute(
            update(Post).where(Post.group_id == gid, Post.platform == "mastodon").values(status="pending")
        )
        await s.commit()
    await assert_400(
        client, user, gid, {"status": "draft"}, "Cannot update post: post is currently in processing status"
    )
    got = await fetch(client, user, gid)
    assert sorted(p["status"] for p in got["posts"]) == ["pending", "scheduled"]
    assert got["status"] == "scheduled"


async def test_not_found_precedes_state_check(client, make_user, author, database):
    user, pids = author
    gid = await create(client, user, pids)
    await set_state(database, gid, "published")
    other = await make_user()
    r = await put(client, other, gid, {"status": "draft"})
    assert r.status_code == 404
    assert r.json() == {"error": "Post group not found"}
