"""DELETE /api/v1/delete-post/:postGroupId: any status, 404 afterwards, malformed ids."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from postpost.db.models import Post, PostGroup, PostLog


async def create(client, user, platforms, **body):
    r = await client.post(
        "/api/v1/create-post", headers=user.headers, json={"content": "Hello", "platforms": platforms, **body}
    )
    assert r.status_code == 200, r.text
    return r.json()["postGroupId"]


async def delete(client, user, group_id):
    return await client.delete(f"/api/v1/delete-post/{group_id}", headers=user.headers)


async def count(database, model, group_id):
    async with database.session() as s:
        return await s.scalar(select(func.count()).select_from(model).where(model.group_id == group_id))


async def test_delete_then_gone(client, make_user, make_connection, database):
    user = await make_user()
    gid = await create(
        client,
        user,
        [await make_connection(user), await make_connection(user)],
        scheduledTime="2030-03-15T10:00:00Z",
    )
    assert await count(database, PostLog, gid) > 0
    r = await delete(client, user, gid)
    assert r.status_code == 200
    assert r.json() == {"success": True}
    r = await client.get(f"/api/v1/get-post/{gid}", headers=user.headers)
    assert r.status_code == 404
    assert r.json() == {"error": "Post group not found"}
    assert await count(database, Post, gid) == 0
    assert await count(database, PostLog, gid) == 0
    listed = (await client.get("/api/v1/list-posts", headers=user.headers)).json()
    assert listed["posts"] == [] and listed["pagination"]["totalItems"] == 0


async def test_deleting_twice_is_404(client, make_user, make_connection):
    user = await make_user()
    gid = await create(client, user, [await make_connection(user)])
    assert (await delete(client, user, gid)).status_code == 200
    r = await delete(client, user, gid)
    assert r.status_code == 404
    assert r.json() == {"error": "Post group not found"}


async def test_only_the_target_group_is_deleted(client, make_user, make_connection):
    user = await make_user()
    pid = await make_connection(user)
    keep, drop = await create(client, user, [pid]), await create(client, user, [pid])
    assert (await delete(client, user, drop)).status_code == 200
    assert (await client.get(f"/api/v1/get-post/{keep}", headers=user.headers)).status_code == 200


@pytest.mark.parametrize("group_id", ["507f1f77bcf86cd799439011", "abc", "0" * 25, "g" * 24])
async def test_unknown_or_malformed_id_is_404(client, make_user, group_id):
    user = await make_user()
    r = await delete(client, user, group_id)
    assert r.status_code == 404
    assert r.json() == {"error": "Post group not found"}


@pytest.mark.parametrize(
    ("status", "processing"),
    [
        ("draft", "pending"),
        ("scheduled", "pending"),
        ("scheduled", "processing"),
        ("published", "finished"),
        ("failed", "finished"),
        ("partially_published", "finished"),
    ],
)
async def test_any_status_can_be_deleted(client, make_user, make_connection, database, status, processing):
    user = await make_user()
    gid = await create(client, user, [await make_connection(user)], scheduledTime="2030-03-15T10:00:00Z")
    async with database.session() as s:
        await s.execute(
            update(PostGroup).where(PostGroup.id == gid).values(status=status, processing_status=processing)
        )
        await s.commit()
    r = await delete(client, user, gid)
    assert r.status_code == 200
    assert r.json() == {"success": True}
    assert (await client.get(f"/api/v1/get-post/{gid}", headers=user.headers)).status_code == 404
