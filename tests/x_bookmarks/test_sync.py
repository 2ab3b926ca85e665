"""POST /api/v1/x-bookmarks/sync against the fake X: pages, resume, limits, locks and X's errors."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import update

from postpost.api.app import create_app
from postpost.db.models import Connection, XBookmarkState
from tests.x_bookmarks.conftest import API, allow_sync, state

SYNC = f"{API}/sync"


async def sync(client, member, max_tweets: int | None = 10, **kw):
    body = {} if max_tweets is None else {"maxTweets": max_tweets}
    return await client.post(SYNC, json=body, headers=member.headers, **kw)


async def queue_fault(simulator: str, account: str, fault: str, times: int = 1) -> None:
    async with httpx.AsyncClient() as c:
        r = await c.post(
            f"{simulator}/_control/faults",
            json={"platform": "twitter", "account": account, "fault": fault, "times": times},
        )
        assert r.status_code == 200, r.text


async def test_first_sync_stores_the_newest_page(live, make_member):
    member = await make_member()
    r = await sync(live, member)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "success": True,
        "synced": {"inserted": 10, "updated": 0, "total": 10},
        "hasMore": True,
        "balance": {"used": 10, "limit": 2000, "remaining": 1990, "isUnlimited": False},
    }
    listed = (await live.get(API, headers=member.headers, params={"limit": 100})).json()
    assert listed["pagination"]["totalItems"] == 10
    bookmarks = listed["bookmarks"]
    assert all(b["text"] and b["text"].isascii() for b in bookmarks)
    assert all(b["authorUsername"] and b["tweetId"].isdigit() for b in bookmarks)
    assert {"photo", "video", "animated_gif"} <= {m["type"] for b in bookmarks for m in b["media"]}
    quoted = [r for b in bookmarks for r in b["referencedTweets"]]
    assert quoted and all(r["type"] == "quoted" and r["content"]["text"] for r in quoted)
    assert all("&amp;" not in b["text"] for b in bookmarks)  # X's HTML escapes undone


async def test_sync_resumes_from_the_stored_token_in_any_process(
    live, make_member, settings, database, simulator
):
    member = await make_member()
    seen: set[str] = set()
    for expected, more in ((10, True), (10, True), (4, False)):
        other = create_app(settings, database, sandbox_url=simulator)  # a new process each time
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=other), base_url="http://t") as client:
            r = await sync(client, member)
        await other.state.services.adapters.close()
        assert r.status_code == 200, r.text
        assert r.json()["synced"] == {"inserted": expected, "updated": 0, "total": expected}
        assert r.json()["hasMore"] is more
        await allow_sync(database, member.id)
    listed = (await live.get(API, headers=member.headers, params={"limit": 100})).json()
    seen = {b["tweetId"] for b in listed["bookmarks"]}
    assert len(seen) == 24  # every seeded bookmark, each once
    assert (await state(database, member.id)).pagination_token is None  # the end: start over next time
    r = await sync(live, member)
    assert r.json()["synced"] == {"inserted": 0, "updated": 10, "total": 10}
    assert r.json()["balance"]["used"] == 24  # known bookmarks are free


async def test_a_token_x_no_longer_accepts_restarts_from_the_newest(live, make_member, database):
    member = await make_member()
    assert (await sync(live, member, 3)).status_code == 200
    async with database.session() as session:
        await session.execute(
            update(XBookmarkState)
            .where(XBookmarkState.user_id == member.id)
            .values(pagination_token="0123456789abff", last_requested_sync_at=None)
        )
        await session.commit()
    r = await sync(live, member, 5)
    assert r.status_code == 200, r.text
    assert r.json()["synced"] == {"inserted": 2, "updated": 3, "total": 5}


async def test_one_sync_per_minute(live, make_member):
    member = await make_member()
    assert (await sync(live, member)).status_code == 200
    r = await sync(live, member)
    assert r.status_code == 429
    body = r.json()
    assert body["code"] == "SYNC_RATE_LIMITED" and body["error"]
    assert isinstance(body["retryAfter"], int) and 1 <= body["retryAfter"] <= 60


async def test_a_running_sync_locks_out_others_across_processes(
    live, make_member, settings, database, simulator
):
    member = await make_member()
    await queue_fault(simulator, member.account, "slow")  # the fake answers this lookup after 2.5 s
    first = asyncio.create_task(sync(live, member))
    for _ in range(500):
        if (found := await _state_or_none(database, member.id)) and found.sync_lease_until is not None:
            break
        await asyncio.sleep(0.01)
    other = create_app(settings, database, sandbox_url=simulator)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=other), base_url="http://t") as client:
        r = await sync(client, member)
        assert r.status_code == 409
        assert r.json() == {
            "error": "A sync of your bookmarks is already running",
            "code": "SYNC_IN_PROGRESS",
        }
        done = await first
        assert done.status_code == 200, done.text  # the first one went on
        await allow_sync(database, member.id)
        again = await sync(client, member)
        assert again.status_code == 200, again.text  # the lock was released
    await other.state.services.adapters.close()


async def _state_or_none(database, user_id):
    async with database.session() as session:
        return await session.get(XBookmarkState, user_id)


async def test_not_connected(live, make_member):
    member = await make_member(connect=False)
    r = await sync(live, member)
    assert r.status_code == 400
    assert r.json() == {"error": "X account not connected", "code": "NOT_CONNECTED"}


async def test_a_connection_without_the_bookmark_scope(live, make_member, database):
    member = await make_member()
    async with database.session() as session:
        await session.execute(
            update(Connection)
            .where(Connection.user_id == member.id)
            .values(scopes=["tweet.read", "users.read"])
        )
        await session.commit()
    r = await sync(live, member)
    assert r.status_code == 400 and r.json()["code"] == "NOT_CONNECTED"


async def test_a_rejected_token_is_refreshed_once(live, make_member, simulator, database):
    member = await make_member()
    await queue_fault(simulator, member.account, "auth-expired")
    r = await sync(live, member)
    assert r.status_code == 200, r.text
    assert r.json()["synced"]["inserted"] == 10
    await allow_sync(database, member.id)
    await queue_fault(simulator, member.account, "auth-expired", times=2)
    r = await sync(live, member)
    assert r.status_code == 401
    assert r.json() == {"error": "X authentication expired: reconnect your X account", "code": "AUTH_EXPIRED"}


@pytest.mark.parametrize(
    ("fault", "status", "code"), [("rate-limited", 429, "RATE_LIMITED"), ("server-error", 502, "X_API_ERROR")]
)
async def test_x_errors(live, make_member, simulator, database, fault, status, code):
    member = await make_member()
    await queue_fault(simulator, member.account, fault)
    r = await sync(live, member)
    assert r.status_code == status, r.text
    assert r.json()["code"] == code
    if code == "RATE_LIMITED":
        assert isinstance(r.json()["retryAfter"], int) and r.json()["retryAfter"] >= 1
    history = (await live.get(f"{API}/sync/history", headers=member.headers)).json()
    assert [(log["status"], log["trigger"], log["inserted"]) for log in history["logs"]] == [
        ("failed", "api", 0)
    ]
    found = await state(database, member.id)
    assert found.sync_lease_token is None and found.last_sync_status == "failed"


async def test_bodies(live, make_member, database):
    member = await make_member()
    for body in ([1], {"maxTweets": "ten"}, {"maxTweets": True}):
        r = await live.post(SYNC, json=body, headers=member.headers)
        assert r.status_code == 400, body
        assert r.json() == {
            "error": "The request body must be a JSON object"
            if isinstance(body, list)
            else "maxTweets must be a number from 1 to 100",
            "code": "INVALID_BODY",
        }
    r = await live.post(SYNC, content=b"{nope", headers=member.headers)
    assert r.status_code == 400 and r.json()["code"] == "INVALID_BODY"
    r = await live.post(SYNC, content=b"", headers=member.headers)  # no body: the default, 100
    assert r.status_code == 200 and r.json()["synced"]["inserted"] == 24
    await allow_sync(database, member.id)
    r = await sync(live, member, 500)  # clamped to 100
    assert r.status_code == 200 and r.json()["synced"]["updated"] == 24


async def test_the_gate(live, make_member, make_user):
    cases = [
        (await make_member("pro"), "PREMIUM_REQUIRED", "X Bookmarks is available on the Premium plan only"),
        (
            await make_member(enabled=False),
            "X_BOOKMARKS_NOT_ENABLED",
            "X Bookmarks is not enabled for this account",
        ),
    ]
    for member, code, message in cases:
        for method, path in (
            ("POST", "/sync"),
            ("GET", ""),
            ("GET", "/export"),
            ("GET", "/balance"),
            ("GET", "/sync/history"),
            ("GET", "/user/settings"),
            ("PUT", "/user/settings"),
            ("GET", "/user/media-stats"),
            ("GET", "/1234"),
        ):
            r = await live.request(method, API + path, headers=member.headers, json={})
            assert r.status_code == 403, (method, path)
            assert r.json() == {"error": message, "code": code}, (method, path)
    r = await live.get(API)
    assert r.status_code == 401 and r.json() == {"error": "API key is required"}


async def test_a_managed_user_of_a_premium_workspace(live, make_user, make_member):
    owner = await make_user("premium", workspace=True)
    member = await make_member("starter", parent=owner)  # the owner's plan applies
    headers = {**owner.headers, "x-postpost-user-id": member.id}
    r = await live.post(SYNC, json={"maxTweets": 2}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["synced"]["inserted"] == 2
    mine = (await live.get(API, headers=owner.headers)).json()  # the owner is not enabled itself
    assert mine["code"] == "X_BOOKMARKS_NOT_ENABLED"
