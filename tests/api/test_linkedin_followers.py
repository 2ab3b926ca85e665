"""linkedin-followers and linkedin-profile-summary: validation, figures, cache, partial and total failure."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx

from postpost.ids import utcnow
from postpost.simulator._linkedin_insights import (
    METRICS,
    daily_figure,
    follower_gain,
    follower_total,
    lifetime_figure,
)
from tests.api import linkedin_fixtures as fx
from tests.api.linkedin_fixtures import ANALYTICS, FOLLOWERS, Account, cached_rows

live, fake, sandbox_linkedin, age_cache = fx.live, fx.fake, fx.sandbox_linkedin, fx.age_cache

JAN = {"start": {"year": 2026, "month": 1, "day": 30}, "end": {"year": 2026, "month": 2, "day": 2}}
JAN_DAYS = [date(2026, 1, 30) + timedelta(days=n) for n in range(4)]
FIELDS = {
    "IMPRESSION": "totalImpressions",
    "MEMBERS_REACHED": "totalMembersReached",
    "REACTION": "totalReactions",
    "COMMENT": "totalComments",
    "RESHARE": "totalReshares",
}
DATE_MESSAGES: list[tuple[Any, str]] = [
    (None, "dateRange must be an object"),
    ("2026-01-01", "dateRange must be an object"),
    ([], "dateRange must be an object"),
    ({"start": JAN["start"]}, "dateRange must have both 'start' and 'end' objects"),
    ({"start": JAN["start"], "end": None}, "dateRange must have both 'start' and 'end' objects"),
    (
        {"start": JAN["start"], "end": {"year": 2026, "month": 2, "day": 0}},
        "dateRange.start and dateRange.end must have: year, month, day",
    ),
]


async def followers(client: httpx.AsyncClient, account: Account, **body: Any) -> httpx.Response:
    body.setdefault("platformId", account.platform_id)
    return await client.post("/api/v1/linkedin-followers", headers=account.user.headers, json=body)


async def summary(client: httpx.AsyncClient, account: Account, **body: Any) -> httpx.Response:
    body.setdefault("platformId", account.platform_id)
    return await client.post("/api/v1/linkedin-profile-summary", headers=account.user.headers, json=body)


def error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    message: str = r.json()["error"]
    return message


PLATFORM_MESSAGES: list[tuple[Any, str]] = [
    ({}, "platformId is required"),
    ({"platformId": ""}, "platformId is required"),
    ({"platformId": False}, "platformId is required"),
    ({"platformId": 7}, "platformId must be a string"),
    ({"platformId": {"id": "x"}}, "platformId must be a string"),
    ({"platformId": "linkedin-"}, "Invalid platformId"),
    ({"platformId": "linkedin-a b"}, "Invalid platformId"),
    ({"platformId": "  "}, "Invalid platformId"),
]


# ----- followers -------------------------------------------------------------------------


async def test_followers_validation(live, sandbox_linkedin):
    account = await sandbox_linkedin()
    pid = account.platform_id
    cases = [
        *PLATFORM_MESSAGES,
        ({"platformId": pid, "period": 1}, "period must be a string"),
        ({"platformId": pid, "period": None}, "period must be a string"),
        ({"platformId": pid, "period": "weekly"}, "Invalid period. Must be one of: lifetime, daily"),
        ({"platformId": pid, "period": "daily"}, "dateRange is required for daily period"),
        *[({"platformId": pid, "period": "daily", "dateRange": d}, m) for d, m in DATE_MESSAGES],
    ]
    for body, message in cases:
        r = await live.post("/api/v1/linkedin-followers", headers=account.user.headers, json=body)
        assert error(r, 400) == message, body
    r = await followers(live, account, platformId="linkedin-nobody")
    assert error(r, 404) == "LinkedIn connection not found"
    stranger = await sandbox_linkedin()
    r = await followers(live, account, platformId=stranger.platform_id)
    assert error(r, 404) == "LinkedIn connection not found"


async def test_lifetime_followers_are_cached(live, fake, sandbox_linkedin, database, age_cache):
    account = await sandbox_linkedin()
    before = utcnow()
    r = await followers(live, account, period="LIFETIME", dateRange="ignored")
    assert r.json() == {"success": True, "followersCount": follower_total(account.member), "cached": False}
    r = await followers(live, account)
    assert r.json() == {"success": True, "followersCount": follower_total(account.member), "cached": True}
    assert await fake.calls(FOLLOWERS) == 1
    [(_value, expires)] = (await cached_rows(database, account)).values()
    assert before + timedelta(minutes=30) <= expires <= utcnow() + timedelta(minutes=30)
    await age_cache(account)
    assert (await followers(live, account)).json()["cached"] is False
    assert await fake.calls(FOLLOWERS) == 2


async def test_daily_followers(live, fake, sandbox_linkedin):
    account = await sandbox_linkedin()
    gains = [follower_gain(account.member, d) for d in JAN_DAYS]
    r = await followers(live, account, period="Daily", dateRange=JAN)
    assert r.json() == {
        "success": True,
        "data": [{"date": d.isoformat(), "count": g} for d, g in zip(JAN_DAYS, gains, strict=True)],
        "totalGrowth": sum(gains),
        "cached": False,
    }
    r = await followers(live, account, period="daily", dateRange=JAN)
    assert r.json()["cached"] is True and await fake.calls(FOLLOWERS) == 1


async def test_followers_failures(live, fake, sandbox_linkedin):
    account = await sandbox_linkedin()
    await fake.fault(account.member, "FOLLOWERS", "server-error", times=1)
    r = await followers(live, account)
    assert r.json() == {"error": "Failed to fetch LinkedIn followers statistics"} and r.status_code == 500
    await fake.fault(account.member, "FOLLOWERS", "forbidden", times=1)
    assert error(await followers(live, account), 403) == "Failed to fetch LinkedIn followers statistics"
    await fake.fault(account.member, "FOLLOWERS", "rate-limited", times=1)
    r = await followers(live, account, period="daily", dateRange=JAN)
    assert error(r, 429) == "Failed to fetch LinkedIn followers statistics"
    assert r.headers["Retry-After"] == "1"
    calls = await fake.calls(FOLLOWERS)
    assert (await followers(live, account)).status_code == 429  # held: LinkedIn is not asked
    assert await fake.calls(FOLLOWERS) == calls
    await fake.http.delete(f"{fake.url}/_control/linkedin/insights")
    other = await sandbox_linkedin()
    await fake.fault(other.member, "FOLLOWERS", "unavailable")
    r = await followers(live, other)
    assert r.json() == {"success": True, "followersCount": None, "cached": False}


# ----- profile summary -------------------------------------------------------------------


async def test_profile_summary_validation(live, sandbox_linkedin):
    account = await sandbox_linkedin()
    pid = account.platform_id
    cases = [*PLATFORM_MESSAGES, *[({"platformId": pid, "dateRange": d}, m) for d, m in DATE_MESSAGES]]
    for body, message in cases:
        r = await live.post("/api/v1/linkedin-profile-summary", headers=account.user.headers, json=body)
        assert error(r, 400) == message, body
    assert (
        error(await summary(live, account, platformId="linkedin-x"), 404) == "LinkedIn connection not found"
    )


async def test_profile_summary(live, fake, sandbox_linkedin):
    account = await sandbox_linkedin()
    member = account.member
    r = await summary(live, account)
    assert r.json() == {
        "success": True,
        "profile": {
            "followers": {"total": follower_total(member)},
            "posts": {FIELDS[m]: lifetime_figure(member, m) for m in FIELDS},
        },
    }
    r = await summary(live, account, dateRange=JAN)
    assert r.json() == {
        "success": True,
        "profile": {
            "followers": {
                "total": follower_total(member),
                "periodGrowth": sum(follower_gain(member, d) for d in JAN_DAYS),
            },
            "posts": {FIELDS[m]: sum(daily_figure(member, m, d) for d in JAN_DAYS) for m in FIELDS},
        },
    }
    # the summary reads the figures the other routes cache, and fills the cache for them
    calls = (await fake.calls(ANALYTICS), await fake.calls(FOLLOWERS))
    assert calls == (10, 2)
    r = await live.post(
        "/api/v1/linkedin-account-statistics",
        headers=account.user.headers,
        json={"platformId": account.platform_id, "queryTypes": "ALL"},
    )
    assert r.json()["cachedMetrics"] == list(METRICS)
    assert (await followers(live, account)).json()["cached"] is True
    assert (await fake.calls(ANALYTICS), await fake.calls(FOLLOWERS)) == calls


async def test_profile_summary_partial(live, fake, sandbox_linkedin):
    account = await sandbox_linkedin()
    member = account.member
    await followers(live, account)  # the lifetime count is cached; the growth will fail
    await fake.fault(member, "FOLLOWERS", "server-error")
    await fake.fault(member, "MEMBERS_REACHED", "forbidden")
    await fake.fault(member, "COMMENT", "unavailable")
    r = await summary(live, account, dateRange=JAN)
    assert r.status_code == 200
    posts = {FIELDS[m]: sum(daily_figure(member, m, d) for d in JAN_DAYS) for m in FIELDS}
    posts |= {"totalMembersReached": 0, "totalComments": None}
    assert r.json() == {
        "success": False,
        "partialData": True,
        "profile": {"followers": {"total": follower_total(member)}, "posts": posts},
        "errors": [
            {"metric": "followersPeriod", "error": "Failed to fetch follower growth"},
            {"metric": "post_MEMBERS_REACHED", "error": "Failed to fetch members_reached count"},
        ],
    }


async def test_profile_summary_total_failure_and_rate_limit(live, fake, sandbox_linkedin):
    account = await sandbox_linkedin()
    await fake.fault(account.member, "*", "server-error")
    r = await summary(live, account, dateRange=JAN)
    assert r.status_code == 502
    assert r.json() == {
        "success": False,
        "error": "Failed to fetch LinkedIn profile data",
        "errors": [
            {"metric": "followersLifetime", "error": "Failed to fetch follower count"},
            {"metric": "followersPeriod", "error": "Failed to fetch follower growth"},
            {"metric": "post_IMPRESSION", "error": "Failed to fetch impression count"},
            {"metric": "post_MEMBERS_REACHED", "error": "Failed to fetch members_reached count"},
            {"metric": "post_REACTION", "error": "Failed to fetch reaction count"},
            {"metric": "post_COMMENT", "error": "Failed to fetch comment count"},
            {"metric": "post_RESHARE", "error": "Failed to fetch reshare count"},
        ],
    }
    await fake.http.delete(f"{fake.url}/_control/linkedin/insights")
    await fake.fault(account.member, "REACTION", "rate-limited", times=1)
    r = await summary(live, account)
    assert error(r, 429) == "Failed to fetch LinkedIn profile summary"
    assert r.headers["Retry-After"] == "1"
