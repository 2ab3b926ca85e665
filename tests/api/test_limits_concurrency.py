"""Plan limits hold under concurrency: parallel create-post calls at the edge never exceed them."""

from __future__ import annotations

import asyncio
from collections import Counter

from tests.api.test_limits import at, create


async def test_parallel_creates_at_the_edge_of_the_scheduled_limit(client, make_user, make_connection):
    user = await make_user(entitlements={"apiAccess": True, "scheduledPosts": 5, "scope": "account"})
    pid = await make_connection(user)
    replies = await asyncio.gather(*(create(client, user, [pid], at(hours=1)) for _ in range(12)))
    codes = Counter(r.status_code for r in replies)
    assert codes == {200: 5, 403: 7}, [r.text for r in replies]
    assert {r.json()["code"] for r in replies if r.status_code == 403} == {"SCHEDULED_POST_LIMIT_REACHED"}
    listed = (await client.get("/api/v1/list-posts", headers=user.headers)).json()
    assert listed["pagination"]["totalItems"] == 5


async def test_parallel_creates_at_the_edge_of_the_monthly_limit(client, make_user, make_connection):
    user = await make_user(entitlements={"apiAccess": True, "monthlyPosts": 3, "scope": "connection"})
    pids = [await make_connection(user) for _ in range(2)]
    replies = await asyncio.gather(*(create(client, user, pids, at(hours=2)) for _ in range(6)))
    # each accepted group takes one post from both connections' budgets of 3
    assert Counter(r.status_code for r in replies) == {200: 3, 403: 3}, [r.text for r in replies]
