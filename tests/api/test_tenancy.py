"""Tenant isolation of the post endpoints: another user's group is indistinguishable from a missing one."""

from __future__ import annotations

import pytest

NOT_FOUND = {"error": "Post group not found"}
FUTURE = "2030-03-15T10:00:00Z"


async def create(client, headers, pid, **extra):
    return await client.post(
        "/api/v1/create-post", headers=headers, json={"content": "Mine", "platforms": [pid], **extra}
    )


@pytest.fixture
async def owner_group(client, make_user, make_connection):
    """A user with a scheduled group on their own connection: (user, compound id, group id)."""
    owner = await make_user()
    pid = await make_connection(owner)
    r = await create(client, owner.headers, pid, scheduledTime=FUTURE)
    assert r.status_code == 200, r.text
    return owner, pid, r.json()["postGroupId"]


async def assert_untouched(client, owner, group_id):
    r = await client.get(f"/api/v1/get-post/{group_id}", headers=owner.headers)
    assert r.status_code == 200
    assert r.json()["status"] == "scheduled" and r.json()["scheduledTime"] == "2030-03-15T10:00:00.000Z"


async def test_stranger_cannot_get(client, make_user, owner_group):
    _, _, gid = owner_group
    r = await client.get(f"/api/v1/get-post/{gid}", headers=(await make_user()).headers)
    assert (r.status_code, r.json()) == (404, NOT_FOUND)


async def test_stranger_cannot_update(client, make_user, owner_group):
    owner, _, gid = owner_group
    stranger = await make_user()
    for body in ({"status": "draft"}, {"scheduledTime": "2031-01-01T00:00:00Z"}):
        r = await client.put(f"/api/v1/update-post/{gid}", headers=stranger.headers, json=body)
        assert (r.status_code, r.json()) == (404, NOT_FOUND)
    await assert_untouched(client, owner, gid)


async def test_stranger_cannot_delete(client, make_user, owner_group):
    owner, _, gid = owner_group
    r = await client.delete(f"/api/v1/delete-post/{gid}", headers=(await make_user()).headers)
    assert (r.status_code, r.json()) == (404, NOT_FOUND)
    await assert_untouched(client, owner, gid)


async def test_stranger_never_lists_it(client, make_user, make_connection, owner_group):
    _, _, gid = owner_group
    stranger = await make_user()
    own_pid = await make_connection(stranger)
    assert (await create(client, stranger.headers, own_pid)).status_code == 200
    for params in ({}, {"status": "scheduled"}, {"platform": "mastodon"}, {"fromDate": "2030-01-01"}):
        body = (await client.get("/api/v1/list-posts", headers=stranger.headers, params=params)).json()
        assert gid not in [p["postGroupId"] for p in body["posts"]], params
    body = (await client.get("/api/v1/list-posts", headers=stranger.headers)).json()
    assert body["pagination"]["totalItems"] == 1


async def test_stranger_cannot_post_to_owners_connection(client, make_user, owner_group):
    owner, pid, _ = owner_group
    stranger = await make_user()
    r = await create(client, stranger.headers, pid)
    assert (r.status_code, r.json()) == (400, {"error": f"Platform connection not found: {pid}"})
    listed = (await client.get("/api/v1/list-posts", headers=owner.headers)).json()
    assert listed["pagination"]["totalItems"] == 1


async def test_same_account_id_connected_by_both_users_stays_separate(client, make_user, make_connection):
    first, second = await make_user(), await make_user()
    pid = await make_connection(first, "mastodon", "shared-42")
    assert await make_connection(second, "mastodon", "shared-42") == pid
    r = await create(client, first.headers, pid)
    gid = r.json()["postGroupId"]
    assert (await client.get("/api/v1/list-posts", headers=second.headers)).json()["posts"] == []
    r = await client.get(f"/api/v1/get-post/{gid}", headers=second.headers)
    assert r.status_code == 404


async def test_workspace_owner_acts_for_managed_user(client, make_user, make_connection):
    owner = await make_user(workspace=True)
    managed = await make_user(parent=owner)
    managed_pid = await make_connection(managed)
    owner_pid = await make_connection(owner)
    acting = {**owner.headers, "x-postpost-user-id": managed.id}
    r = await create(client, acting, owner_pid)
    assert (r.status_code, r.json()) == (400, {"error": f"Platform connection not found: {owner_pid}"})
    r = await create(client, acting, managed_pid)
    assert r.status_code == 200, r.text
    gid = r.json()["postGroupId"]
    assert (await client.get(f"/api/v1/get-post/{gid}", headers=managed.headers)).status_code == 200
    assert (await client.get(f"/api/v1/get-post/{gid}", headers=owner.headers)).status_code == 404
    assert (await client.get("/api/v1/list-posts", headers=owner.headers)).json()["posts"] == []
    listed = (await client.get("/api/v1/list-posts", headers=acting)).json()
    assert [p["postGroupId"] for p in listed["posts"]] == [gid]
    r = await client.delete(f"/api/v1/delete-post/{gid}", headers=acting)
    assert r.status_code == 200
