"""linkedin-post-statistics and linkedin-account-statistics: validation, lookup, figures, caching,
partial failures, LinkedIn's -1, URN handling, forwarded 403/429 and rate-limit holds."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from postpost.api.app import create_app
from postpost.config import async_database_url
from postpost.db.session import Database
from postpost.ids import utcnow
from postpost.simulator._linkedin_insights import METRICS, daily_figure, lifetime_figure, post_figures
from tests.api import linkedin_fixtures as fx
from tests.api.linkedin_fixtures import ANALYTICS, Account, cached_rows, set_secrets

live, fake, sandbox_linkedin, age_cache = fx.live, fx.fake, fx.sandbox_linkedin, fx.age_cache

POST = "urn:li:share:7123456789012345678"
NUMBER = POST.rsplit(":", 1)[1]
FIGURES = post_figures(NUMBER)
ALL_METRICS = "IMPRESSION, MEMBERS_REACHED, RESHARE, REACTION, COMMENT"
INVALID_QUERY_TYPE = f"Invalid queryType. Must be one of: {ALL_METRICS}"
NOV = {"start": {"year": 2026, "month": 11, "day": 1}, "end": {"year": 2026, "month": 11, "day": 3}}
NOV_DAYS = [date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)]


async def post_stats(client: httpx.AsyncClient, account: Account, **body: Any) -> httpx.Response:
    body.setdefault("platformId", account.platform_id)
    body.setdefault("postedId", POST)
    return await client.post("/api/v1/linkedin-post-statistics", headers=account.user.headers, json=body)


async def account_stats(client: httpx.AsyncClient, account: Account, **body: Any) -> httpx.Response:
    body.setdefault("platformId", account.platform_id)
    return await client.post("/api/v1/linkedin-account-statistics", headers=account.user.headers, json=body)


def error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    message: str = r.json()["error"]
    return message


# ----- validation ------------------------------------------------------------------------


async def test_post_statistics_validation(live, sandbox_linkedin):
    account = await sandbox_linkedin()
    pid = account.platform_id
    cases: list[tuple[Any, str]] = [
        ({}, "postedId and platformId are required"),
        ({"postedId": POST}, "postedId and platformId are required"),
        (
            {"postedId": "", "platformId": pid, "queryType": "IMPRESSION"},
            "postedId and platformId are required",
        ),
        ({"postedId": POST, "platformId": 0}, "postedId and platformId are required"),
        ({"postedId": 123, "platformId": pid}, "postedId and platformId must be strings"),
        ({"postedId": POST, "platformId": ["x"]}, "postedId and platformId must be strings"),
        ({"postedId": POST, "platformId": pid}, "queryType or queryTypes is required"),
        (
            {"postedId": POST, "platformId": pid, "queryType": "", "queryTypes": []},
            "queryType or queryTypes is required",
        ),
        ({"postedId": POST, "platformId": pid, "queryType": "impression"}, INVALID_QUERY_TYPE),
        ({"postedId": POST, "platformId": pid, "queryType": ["IMPRESSION"]}, INVALID_QUERY_TYPE),
        (
            {"postedId": POST, "platformId": pid, "queryTypes": ["impression", "clicks", 3, None]},
            f'Invalid queryTypes: clicks,3,null. Must be one of: {ALL_METRICS}, or "ALL"',
        ),
        (
            {"postedId": POST, "platformId": pid, "queryTypes": "everything"},
            f'Invalid queryTypes: everything. Must be one of: {ALL_METRICS}, or "ALL"',
        ),
    ]
    for body, message in cases:
        r = await live.post("/api/v1/linkedin-post-statistics", headers=account.user.headers, json=body)
        assert error(r, 400) == message, body
    r = await live.post("/api/v1/linkedin-post-statistics", headers=account.user.headers, content=b"[1, 2]")
    assert error(r, 400) == "postedId and platformId are required"
    r = await live.post("/api/v1/linkedin-post-statistics", headers=account.user.headers, content=b"{oops")
    assert error(r, 400) == "Invalid JSON body"


async def test_account_statistics_validation(live, sandbox_linkedin):
    account = await sandbox_linkedin()
    pid = account.platform_id
    one = {"platformId": pid, "queryType": "IMPRESSION"}
    cases: list[tuple[Any, str]] = [
        ({}, "platformId is required"),
        ({"platformId": None}, "platformId is required"),
        ({"platformId": 5}, "platformId must be a string"),
        ({"platformId": pid}, "queryType or queryTypes is required"),
        ({"platformId": pid, "queryType": "Impression"}, INVALID_QUERY_TYPE),
        (
            {"platformId": pid, "queryTypes": ["ALL", "nope"]},
            f'Invalid queryTypes: nope. Must be one of: {ALL_METRICS}, or "ALL"',
        ),
        ({**one, "aggregation": 1}, "aggregation must be a string"),
        ({**one, "aggregation": None}, "aggregation must be a string"),
        ({**one, "aggregation": "weekly"}, "Invalid aggregation. Must be one of: DAILY, TOTAL"),
        ({**one, "dateRange": None}, "dateRange must be an object"),
        ({**one, "dateRange": [NOV]}, "dateRange must be an object"),
        ({**one, "dateRange": {"start": NOV["start"]}}, "dateRange must have both 'start' and 'end' objects"),
        (
            {**one, "dateRange": {"start": NOV["start"], "end": "2026-11-03"}},
            "dateRange must have both 'start' and 'end' objects",
        ),
        (
            {**one, "dateRange": {"start": {"year": 2026, "month": 11}, "end": NOV["end"]}},
            "dateRange.start and dateRange.end must have: year, month, day",
        ),
        (
            {**one, "dateRange": {"start": {"year": 2026, "month": 13, "day": 1}, "end": NOV["end"]}},
            "dateRange holds an invalid date",
        ),
        (
            {**one, "dateRange": {"start": NOV["end"], "end": NOV["start"]}},
            "dateRange.start must not be after dateRange.end",
        ),
        (
            {"platformId": pid, "queryType": "MEMBERS_REACHED", "aggregation": "daily"},
            "MEMBERS_REACHED with DAILY aggregation is not supported by LinkedIn API",
        ),
        (
            {"platformId": pid, "queryTypes": ["impression", "members_reached"], "aggregation": "DAILY"},
            "MEMBERS_REACHED with DAILY aggregation is not supported by LinkedIn API",
        ),
    ]
    for body, message in cases:
        r = await live.post("/api/v1/linkedin-account-statistics", headers=account.user.headers, json=body)
        assert error(r, 400) == message, body


async def test_connection_lookup(live, make_user, make_connection, sandbox_linkedin):
    account = await sandbox_linkedin()
    stranger = await sandbox_linkedin()
    mastodon = await make_connection(account.user, "mastodon", account.member)
    for platform_id in ("linkedin-nobody", stranger.platform_id, "linkedin-", "   ", mastodon):
        r = await post_stats(live, account, platformId=platform_id, queryType="IMPRESSION")
        assert error(r, 404) == "LinkedIn connection not found", platform_id
        r = await account_stats(live, account, platformId=platform_id, queryType="IMPRESSION")
        assert error(r, 404) == "LinkedIn connection not found", platform_id
    r = await post_stats(live, account, platformId=account.member, queryType="IMPRESSION")
    assert r.status_code == 200, r.text  # the bare LinkedIn id names the connection too
    r = await live.post("/api/v1/linkedin-post-statistics", json={"postedId": POST})
    assert error(r, 401) == "API key is required"


async def test_a_workspace_owner_reads_a_managed_users_statistics(live, make_user, sandbox_linkedin):
    owner = await make_user(workspace=True)
    managed = await make_user(parent=owner)
    account = await sandbox_linkedin(managed)
    body = {"postedId": POST, "platformId": account.platform_id, "queryType": "RESHARE"}
    acting = {**owner.headers, "x-postpost-user-id": managed.id}
    r = await live.post("/api/v1/linkedin-post-statistics", headers=acting, json=body)
    assert r.json() == {"success": True, "count": FIGURES["RESHARE"], "cached": False}
    r = await live.post("/api/v1/linkedin-post-statistics", headers=owner.headers, json=body)
    assert error(r, 404) == "LinkedIn connection not found"


# ----- figures and URNs ------------------------------------------------------------------


async def test_single_metric_and_post_id_forms(live, fake, sandbox_linkedin):
    account = await sandbox_linkedin()
    r = await post_stats(live, account, queryType="IMPRESSION")
    assert r.status_code == 200
    assert r.json() == {"success": True, "count": FIGURES["IMPRESSION"], "cached": False}
    r = await post_stats(live, account, postedId="7000000000000000011", queryType="COMMENT")
    assert r.json()["count"] == post_figures("7000000000000000011")["COMMENT"]  # a bare share id
    r = await post_stats(live, account, postedId="urn:li:activity:7000000000000000012", queryType="REACTION")
    assert r.json()["count"] == post_figures("7000000000000000012")["REACTION"]  # asked as its ugcPost
    r = await post_stats(live, account, postedId="not-a-post", queryType="REACTION")
    assert error(r, 500) == "Failed to fetch metric from LinkedIn"


async def test_all_metrics(live, fake, sandbox_linkedin):
    account = await sandbox_linkedin()
    for n, query_types in enumerate(("ALL", "all", ["ALL"], ["comment", "ALL"])):
        other = f"urn:li:ugcPost:{n + 1}000"
        r = await post_stats(live, account, postedId=other, queryTypes=query_types)
        assert r.status_code == 200, r.text
        assert r.json() == {"success": True, "metrics": post_figures(other[15:]), "cached": False}
        assert list(r.json()["metrics"]) == list(METRICS)
    r = await post_stats(
        live, account, queryTypes=["reaction", "Impression", "REACTION"], queryType="COMMENT"
    )
    assert r.json() == {
        "success": True,
        "metrics": {"REACTION": FIGURES["REACTION"], "IMPRESSION": FIGURES["IMPRESSION"]},
        "cached": False,
    }


# ----- caching ---------------------------------------------------------------------------


async def test_a_second_call_is_served_from_the_cache(live, fake, sandbox_linkedin, database, age_cache):
    account = await sandbox_linkedin()
    before = utcnow()
    first = await post_stats(live, account, queryTypes="ALL")
    after = utcnow()
    assert first.json()["cached"] is False and "cachedMetrics" not in first.json()
    assert await fake.calls(ANALYTICS) == 5
    second = await post_stats(live, account, queryTypes="ALL")
    assert second.json() == {
        "success": True,
        "metrics": FIGURES,
        "cachedMetrics": list(METRICS),
        "cached": True,
    }
    single = await post_stats(live, account, queryType="COMMENT")
    assert single.json() == {"success": True, "count": FIGURES["COMMENT"], "cached": True}
    assert await fake.calls(ANALYTICS) == 5  # LinkedIn was not asked again
    rows = await cached_rows(database, account)
    assert len(rows) == 5
    for _value, expires in rows.values():
        assert before + timedelta(minutes=30) <= expires <= after + timedelta(minutes=30)
    assert await age_cache(account, ":IMPRESSION") == 1
    third = await post_stats(live, account, queryTypes="ALL")
    assert third.json()["cachedMetrics"] == ["MEMBERS_REACHED", "RESHARE", "REACTION", "COMMENT"]
    assert third.json()["cached"] is True
    assert await fake.calls(ANALYTICS) == 6
    await age_cache(account)
    fourth = await post_stats(live, account, queryTypes="ALL")
    assert fourth.json()["cached"] is False and "cachedMetrics" not in fourth.json()
    assert await fake.calls(ANALYTICS) == 11


async def test_the_cache_is_shared_by_processes_but_not_by_connections(
    live, fake, sandbox_linkedin, settings, database_url, simulator
):
    account = await sandbox_linkedin()
    await post_stats(live, account, queryType="IMPRESSION")
    other_database = Database(async_database_url(database_url))
    other_app = create_app(settings, other_database, sandbox_url=simulator)
    try:
        transport = httpx.ASGITransport(app=other_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://other") as other:
            r = await post_stats(other, account, queryType="IMPRESSION")
            assert r.json() == {"success": True, "count": FIGURES["IMPRESSION"], "cached": True}
    finally:
        await other_app.state.services.adapters.close()
        await other_database.dispose()
    assert await fake.calls(ANALYTICS) == 1
    second_account = await sandbox_linkedin(account.user)
    r = await post_stats(live, second_account, queryType="IMPRESSION")
    assert r.json()["cached"] is False
    assert await fake.calls(ANALYTICS) == 2


# ----- failures, -1, rate limits -----------------------------------------------------------


async def test_partial_failure_and_unavailable_metrics(live, fake, sandbox_linkedin):
    account = await sandbox_linkedin()
    await fake.fault(account.member, "MEMBERS_REACHED", "server-error", times=1)
    await fake.fault(account.member, "RESHARE", "forbidden", times=1)
    await fake.fault(account.member, "REACTION", "unavailable")
    r = await post_stats(live, account, queryTypes="ALL")
    assert r.status_code == 200
    assert r.json() == {
        "success": False,
        "metrics": {
            "IMPRESSION": FIGURES["IMPRESSION"],
            "MEMBERS_REACHED": None,
            "RESHARE": None,
            "REACTION": None,
            "COMMENT": FIGURES["COMMENT"],
        },
        "errors": [
            {"metric": "MEMBERS_REACHED", "error": "Failed to fetch metric from LinkedIn"},
            {"metric": "RESHARE", "error": "Failed to fetch metric from LinkedIn"},
        ],
        "cached": False,
    }
    # failures are not cached: only they are asked again
    r = await post_stats(live, account, queryTypes="ALL")
    assert r.json()["success"] is True
    assert r.json()["metrics"]["MEMBERS_REACHED"] == FIGURES["MEMBERS_REACHED"]
    assert r.json()["metrics"]["REACTION"] is None
    assert r.json()["cachedMetrics"] == ["IMPRESSION", "REACTION", "COMMENT"]
    assert await fake.calls(ANALYTICS) == 7
    single = await post_stats(live, account, postedId="urn:li:share:99", queryType="REACTION")
    assert single.json() == {"success": True, "count": None, "cached": False}


async def test_a_single_metric_that_fails_fails_the_request(live, fake, sandbox_linkedin):
    account = await sandbox_linkedin()
    await fake.fault(account.member, "IMPRESSION", "server-error", times=1)
    r = await post_stats(live, account, queryType="IMPRESSION")
    assert r.json() == {"error": "Failed to fetch metric from LinkedIn"} and r.status_code == 500
    await fake.fault(account.member, "IMPRESSION", "forbidden", times=1)
    r = await post_stats(live, account, queryType="IMPRESSION")
    assert error(r, 403) == "Failed to fetch metric from LinkedIn"
    await fake.fault(account.member, "COMMENT", "server-error", times=1)
    r = await account_stats(live, account, queryType="COMMENT")
    assert error(r, 500) == "Failed to fetch metric from LinkedIn"


async def test_rate_limits_are_passed_on_and_honoured(live, fake, sandbox_linkedin, age_cache):
    account = await sandbox_linkedin()
    await post_stats(live, account, queryType="COMMENT")  # cached before the limit
    await fake.fault(account.member, "IMPRESSION", "rate-limited", times=1)
    r = await post_stats(live, account, queryTypes="ALL")
    assert r.json() == {"error": "Failed to fetch LinkedIn post statistics"} and r.status_code == 429
    assert r.headers["Retry-After"] == "1"
    calls = await fake.calls(ANALYTICS)
    # while the hold lasts LinkedIn is not asked (the rule is used up: the fake would answer)
    r = await post_stats(live, account, queryType="IMPRESSION")
    assert error(r, 429) == "Failed to fetch metric from LinkedIn"
    assert 1 <= int(r.headers["Retry-After"]) <= 1
    r = await account_stats(live, account, queryType="IMPRESSION")
    assert error(r, 429) == "Failed to fetch metric from LinkedIn"
    assert await fake.calls(ANALYTICS) == calls
    # what is cached is still served; metrics fetched meanwhile were kept
    cached = await post_stats(live, account, queryType="COMMENT")
    assert cached.json() == {"success": True, "count": FIGURES["COMMENT"], "cached": True}
    await age_cache(account, "hold:")
    r = await post_stats(live, account, queryTypes="ALL")
    assert r.json()["success"] is True and set(r.json()["cachedMetrics"]) >= {"COMMENT"}
    assert await fake.calls(ANALYTICS) == calls + 1


async def test_a_refused_token_fails_without_leaking(live, sandbox_linkedin, database):
    account = await sandbox_linkedin()
    await set_secrets(database, account, {"access_token": "revoked-token-0123456789"})
    r = await post_stats(live, account, queryTypes=["IMPRESSION", "COMMENT"])
    assert r.status_code == 200 and r.json()["success"] is False
    assert "revoked-token" not in r.text
    r = await account_stats(live, account, queryType="IMPRESSION")
    assert error(r, 500) == "Failed to fetch metric from LinkedIn"


# ----- account statistics ------------------------------------------------------------------


async def test_account_totals(live, fake, sandbox_linkedin, database):
    account = await sandbox_linkedin()
    member = account.member
    r = await account_stats(live, account, queryType="IMPRESSION")
    assert r.json() == {
        "success": True,
        "data": lifetime_figure(member, "IMPRESSION"),
        "aggregation": "TOTAL",
        "cached": False,
    }
    r = await account_stats(live, account, queryTypes="ALL", aggregation="total", dateRange=NOV)
    assert r.json() == {
        "success": True,
        "metrics": {m: sum(daily_figure(member, m, d) for d in NOV_DAYS) for m in METRICS},
        "aggregation": "TOTAL",
        "cached": False,
    }
    r = await account_stats(live, account, queryTypes=["IMPRESSION", "COMMENT"], aggregation="TOTAL")
    assert r.json() == {
        "success": True,
        "metrics": {m: lifetime_figure(member, m) for m in ("IMPRESSION", "COMMENT")},
        "aggregation": "TOTAL",
        "cachedMetrics": ["IMPRESSION"],
        "cached": True,
    }
    await fake.fault(member, "RESHARE", "unavailable")
    r = await account_stats(live, account, queryType="RESHARE")
    assert r.json() == {"success": True, "data": None, "aggregation": "TOTAL", "cached": False}


async def test_account_daily_series(live, fake, sandbox_linkedin, database):
    account = await sandbox_linkedin()
    member = account.member
    before = utcnow()
    r = await account_stats(live, account, queryType="REACTION", aggregation="Daily", dateRange=NOV)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "success": True,
        "data": [
            {
                "count": daily_figure(member, "REACTION", d),
                "dateRange": {
                    "start": {"year": d.year, "month": d.month, "day": d.day},
                    "end": {"year": d.year, "month": d.month, "day": d.day + 1},
                },
            }
            for d in NOV_DAYS
        ],
        "aggregation": "DAILY",
        "cached": False,
    }
    [(_value, expires)] = (await cached_rows(database, account)).values()
    assert before + timedelta(minutes=15) <= expires <= utcnow() + timedelta(minutes=15)
    r = await account_stats(live, account, queryTypes="ALL", aggregation="DAILY", dateRange=NOV)
    body = r.json()
    assert list(body["metrics"]) == ["IMPRESSION", "RESHARE", "REACTION", "COMMENT"]
    assert body["cachedMetrics"] == ["REACTION"]
    assert [e["count"] for e in body["metrics"]["COMMENT"]] == [
        daily_figure(member, "COMMENT", d) for d in NOV_DAYS
    ]
    r = await account_stats(live, account, queryType="COMMENT", aggregation="DAILY")
    series = r.json()["data"]
    today = datetime.now(UTC).date()
    assert len(series) == 30
    assert series[-1]["dateRange"]["start"] == {"year": today.year, "month": today.month, "day": today.day}


@pytest.mark.parametrize("path", ["/linkedin-posts", "/linkedin-post-comments", "/linkedin-post-reactions"])
async def test_disabled_feed_routes_do_not_exist(live, sandbox_linkedin, path):
    account = await sandbox_linkedin()
    r = await live.post(
        "/api/v1" + path, headers=account.user.headers, json={"platformId": account.platform_id}
    )
    assert r.status_code == 404 and r.json() == {"error": "Not found"}
