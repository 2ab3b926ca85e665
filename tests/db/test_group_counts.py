"""The trigger-maintained post_group_counts must always equal a real count, whoever writes."""

from sqlalchemy import delete, func, select, update

from postpost.db.models import PostGroup, PostGroupCount, User


async def counts(database, user_id):
    async with database.session() as s:
        stored = dict(
            (
                await s.execute(
                    select(PostGroupCount.status, PostGroupCount.n).where(PostGroupCount.user_id == user_id)
                )
            )
            .tuples()
            .all()
        )
        real = dict(
            (
                await s.execute(
                    select(PostGroup.status, func.count())
                    .where(PostGroup.user_id == user_id)
                    .group_by(PostGroup.status)
                )
            )
            .tuples()
            .all()
        )
    return {k: v for k, v in stored.items() if v}, real


async def test_counts_follow_inserts_updates_and_deletes(client, database, make_user, make_connection):
    user = await make_user()
    pid = await make_connection(user)
    ids = []
    for when in (None, None, "2099-01-01T00:00:00Z"):
        body = {"content": "x", "platforms": [pid], **({"scheduledTime": when} if when else {})}
        ids.append(
            (await client.post("/api/v1/create-post", headers=user.headers, json=body)).json()["postGroupId"]
        )
    stored, real = await counts(database, user.id)
    assert stored == real == {"draft": 2, "scheduled": 1}

    await client.put(
        f"/api/v1/update-post/{ids[0]}",
        headers=user.headers,
        json={"status": "scheduled", "scheduledTime": "2099-01-01T00:00:00Z"},
    )
    async with database.session() as s:
        await s.execute(update(PostGroup).where(PostGroup.id == ids[2]).values(status="published"))
        await s.execute(update(PostGroup).where(PostGroup.id == ids[1]).values(content="unchanged status"))
        await s.commit()
    stored, real = await counts(database, user.id)
    assert stored == real == {"draft": 1, "scheduled": 1, "published": 1}

    await client.delete(f"/api/v1/delete-post/{ids[1]}", headers=user.headers)
    stored, real = await counts(database, user.id)
    assert stored == real == {"scheduled": 1, "published": 1}

    listed = (await client.get("/api/v1/list-posts?status=published", headers=user.headers)).json()
    assert listed["pagination"]["totalItems"] == 1

    async with database.session() as s:
        await s.execute(delete(User).where(User.id == user.id))
        await s.commit()
    stored, real = await counts(database, user.id)
    assert stored == real == {}
