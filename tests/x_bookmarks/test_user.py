"""Balance and monthly quota, settings, media stats and sync history of X bookmarks."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from postpost.services.x_bookmarks.quota import month_of
from tests.x_bookmarks.conftest import API, allow_sync, state
from tests.x_bookmarks.test_sync import sync

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
SETTINGS = f"{API}/user/settings"


def test_months_are_utc_calendar_months():
    start, end, key = month_of(datetime(2026, 12, 31, 23, 59, tzinfo=UTC))
    assert (start, end, key) == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
        "2026-12",
    )
    assert month_of(datetime(2026, 3, 1, tzinfo=UTC))[2] == "2026-03"


async def test_balance_and_connection(live, make_member):
    member = await make_member()
    r = await live.get(f"{API}/balance", headers=member.headers)
    assert r.status_code == 200
    body = r.json()
    start, end, key = month_of(datetime.now(UTC))
    assert body["balance"] == {
        "used": 0,
        "limit": 2000,
        "remaining": 2000,
        "isUnlimited": False,
        "periodStart": start.strftime("%Y-%m-%dT00:00:00.000Z"),
        "periodEnd": end.strftime("%Y-%m-%dT00:00:00.000Z"),
        "monthKey": key,
    }
    assert body["connection"] == {
        "username": f"sandbox{member.account[-8:]}",
        "displayName": f"Sandbox user {member.account}",
        "profileImageUrl": None,
        "lastSyncAt": None,
        "lastSyncStatus": None,
    }
    await sync(live, member, 7)
    after = (await live.get(f"{API}/balance", headers=member.headers)).json()
    assert after["balance"]["used"] == 7 and after["balance"]["remaining"] == 1993
    assert after["connection"]["lastSyncStatus"] == "success" and ISO.match(after["connection"]["lastSyncAt"])


async def test_balance_without_connection_and_unlimited(live, make_member):
    member = await make_member(connect=False, entitlements={"xBookmarksMonthly": None})
    body = (await live.get(f"{API}/balance", headers=member.headers)).json()
    assert body["connection"] is None
    assert {k: body["balance"][k] for k in ("used", "limit", "remaining", "isUnlimited")} == {
        "used": 0,
        "limit": None,
        "remaining": None,
        "isUnlimited": True,
    }


async def test_the_monthly_quota_counts_new_bookmarks_only(live, make_member, database):
    member = await make_member(entitlements={"xBookmarksMonthly": 15})
    first = await sync(live, member, 10)
    assert first.json()["balance"] == {"used": 10, "limit": 15, "remaining": 5, "isUnlimited": False}
    cursor = (await state(database, member.id)).pagination_token
    await allow_sync(database, member.id)
    second = await sync(live, member, 10)
    assert second.status_code == 200
    assert second.json()["synced"] == {"inserted": 5, "updated": 0, "total": 5}
    assert second.json()["hasMore"] is True
    assert second.json()["balance"] == {"used": 15, "limit": 15, "remaining": 0, "isUnlimited": False}
    assert (await state(database, member.id)).pagination_token == cursor  # the rest is fetched next month
    await allow_sync(database, member.id)
    third = await sync(live, member, 10)
    assert third.status_code == 403
    body = third.json()
    assert (
        body["code"] == "X_BOOKMARKS_LIMIT_REACHED" and body["error"] == "Monthly X bookmarks limit reached"
    )
    assert (body["used"], body["limit"], body["remaining"]) == (15, 15, 0)
    listed = (await live.get(API, headers=member.headers)).json()
    assert listed["pagination"]["totalItems"] == 15


async def test_settings(live, make_member):
    member = await make_member()
    defaults = {"downloadImages": True, "downloadVideos": True, "fetchReferencedTweets": True}
    r = await live.get(SETTINGS, headers=member.headers)
    assert r.status_code == 200 and r.json() == {"success": True, "settings": defaults}
    r = await live.put(SETTINGS, headers=member.headers, json={"downloadVideos": False})
    assert r.json() == {"success": True, "settings": {**defaults, "downloadVideos": False}}
    r = await live.put(SETTINGS, headers=member.headers, json={})
    assert r.json()["settings"]["downloadVideos"] is False
    assert (await live.get(SETTINGS, headers=member.headers)).json()["settings"]["downloadVideos"] is False


async def test_settings_errors(live, make_member):
    member = await make_member()
    for raw in (b"[]", b"true", b"{nope", b""):
        r = await live.put(SETTINGS, headers=member.headers, content=raw)
        assert r.status_code == 400, raw
        assert r.json() == {"error": "The request body must be a JSON object", "code": "INVALID_BODY"}
    r = await live.put(
        SETTINGS, headers=member.headers, json={"downloadImages": True, "theme": "dark", "a": 1}
    )
    assert r.status_code == 400
    assert r.json() == {
        "error": "Unknown settings: a, theme "
        "(allowed: downloadImages, downloadVideos, fetchReferencedTweets)",
        "code": "UNKNOWN_FIELDS",
        "fields": ["a", "theme"],
    }
    r = await live.put(SETTINGS, headers=member.headers, json={"downloadImages": "yes"})
    assert r.status_code == 400
    assert r.json() == {
        "error": "downloadImages must be true or false",
        "code": "INVALID_FIELD_TYPE",
        "field": "downloadImages",
    }
    assert (await live.get(SETTINGS, headers=member.headers)).json()["settings"]["downloadImages"] is True
    stranger = await make_member(connect=False)
    for method in ("GET", "PUT"):
        r = await live.request(method, SETTINGS, headers=stranger.headers, json={})
        assert r.status_code == 404
        assert r.json() == {"error": "X account not connected", "code": "NOT_CONNECTED"}


async def test_referenced_tweets_follow_the_setting(live, make_member, database):
    member = await make_member()
    await live.put(SETTINGS, headers=member.headers, json={"fetchReferencedTweets": False})
    await sync(live, member, 24)
    bookmarks = (await live.get(API, headers=member.headers, params={"limit": 100})).json()["bookmarks"]
    refs = [r for b in bookmarks for r in b["referencedTweets"]]
    assert refs and all(r["content"] is None and r["id"].isdigit() for r in refs)


async def media_stats(client, member):
    r = await client.get(f"{API}/user/media-stats", headers=member.headers)
    assert r.status_code == 200
    assert r.json()["success"] is True
    return r.json()["mediaStats"]


async def test_media_follow_the_download_settings(live, make_member):
    member = await make_member()
    empty = await media_stats(live, member)
    assert empty == {"pending": 0, "downloading": 0, "completed": 0, "failed": 0, "skipped": 0, "total": 0}
    await live.put(SETTINGS, headers=member.headers, json={"downloadVideos": False})
    await sync(live, member, 24)
    bookmarks = (await live.get(API, headers=member.headers, params={"limit": 100})).json()["bookmarks"]
    kinds = [m["type"] for b in bookmarks for m in b["media"]]
    photos = kinds.count("photo")
    stats = await media_stats(live, member)
    assert stats == {
        "pending": photos,
        "downloading": 0,
        "completed": 0,
        "failed": 0,
        "skipped": len(kinds) - photos,
        "total": len(kinds),
    }
    assert {m["downloadStatus"] for b in bookmarks for m in b["media"] if m["type"] != "photo"} == {"skipped"}
    await live.put(SETTINGS, headers=member.headers, json={"downloadVideos": True, "downloadImages": False})
    flipped = await media_stats(live, member)
    assert (flipped["pending"], flipped["skipped"]) == (len(kinds) - photos, photos)


async def test_sync_history(live, make_member, database):
    member = await make_member()
    for size in (3, 4):
        await sync(live, member, size)
        await allow_sync(database, member.id)
    r = await live.get(f"{API}/sync/history", headers=member.headers)
    assert r.status_code == 200
    body = r.json()
    assert body["pagination"] == {"page": 1, "limit": 20, "totalItems": 2, "totalPages": 1}
    newest = body["logs"][0]
    assert set(newest) == {
        "syncedAt",
        "status",
        "inserted",
        "updated",
        "total",
        "hasMore",
        "durationMs",
        "trigger",
    }
    assert (newest["status"], newest["inserted"], newest["total"], newest["hasMore"]) == (
        "success",
        4,
        4,
        True,
    )
    assert newest["trigger"] == "api" and ISO.match(newest["syncedAt"]) and newest["durationMs"] >= 0
    assert body["logs"][1]["inserted"] == 3
    page = (
        await live.get(f"{API}/sync/history", headers=member.headers, params={"limit": "1", "page": "2"})
    ).json()
    assert [log["inserted"] for log in page["logs"]] == [3]
    assert page["pagination"] == {"page": 2, "limit": 1, "totalItems": 2, "totalPages": 2}
    clamped = (
        await live.get(f"{API}/sync/history", headers=member.headers, params={"limit": "99", "page": "999"})
    ).json()
    assert clamped["pagination"]["limit"] == 50 and clamped["pagination"]["page"] == 100
    other = await make_member()
    assert (await live.get(f"{API}/sync/history", headers=other.headers)).json()["logs"] == []
