"""The LinkedIn adapter's analytics and social-action calls against the simulator over real HTTP."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from postpost.platforms._linkedin_insights import METRICS, DayCount, Period, Refusal
from postpost.platforms.base import Credentials, ErrorCode
from postpost.platforms.linkedin import LinkedInAdapter
from postpost.simulator._linkedin_insights import (
    daily_figure,
    follower_gain,
    follower_total,
    lifetime_figure,
    post_figures,
)
from tests.platforms.test_linkedin import MEMBER, member_creds

SHARE = "urn:li:share:7100000000000000042"
UGC = "urn:li:ugcPost:7100000000000000043"
ORG_ID = "90210"
PERIOD = Period(date(2026, 11, 1), date(2026, 11, 4))
DAYS = [date(2026, 11, 1) + timedelta(days=n) for n in range(3)]


def fault(simulator_url: str, **body: Any) -> None:
    req = urllib.request.Request(
        f"{simulator_url}/_control/linkedin/insights",
        data=json.dumps({"account": MEMBER, **body}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.status == 201


@pytest.fixture
def adapter(http: aiohttp.ClientSession) -> LinkedInAdapter:
    return LinkedInAdapter(http, timeout=5)


@pytest.fixture
def creds(simulator_url: str) -> Credentials:
    return member_creds(simulator_url)


@pytest.fixture
def org_creds(simulator_url: str) -> Credentials:
    return member_creds(simulator_url, author_urn=f"urn:li:organization:{ORG_ID}")


async def test_member_statistics(adapter: LinkedInAdapter, creds: Credentials) -> None:
    insights = adapter.insights
    for metric in METRICS:
        assert await insights.post_count(creds, SHARE, metric) == post_figures(SHARE[13:])[metric]
        assert await insights.post_count(creds, UGC, metric) == post_figures(UGC[15:])[metric]
        assert await insights.account_total(creds, metric, None) == lifetime_figure(MEMBER, metric)
        expected = sum(daily_figure(MEMBER, metric, d) for d in DAYS)
        assert await insights.account_total(creds, metric, PERIOD) == expected
    days = await insights.account_daily(creds, "REACTION", PERIOD)
    assert days == [DayCount(d, d + timedelta(days=1), daily_figure(MEMBER, "REACTION", d)) for d in DAYS]


async def test_member_followers(adapter: LinkedInAdapter, creds: Credentials) -> None:
    assert await adapter.insights.follower_count(creds) == follower_total(MEMBER)
    gains = await adapter.insights.follower_gains(creds, PERIOD)
    assert [(g.start, g.count) for g in gains] == [(d, follower_gain(MEMBER, d)) for d in DAYS]


async def test_organization_statistics(adapter: LinkedInAdapter, org_creds: Credentials) -> None:
    insights = adapter.insights
    for metric in METRICS:
        assert await insights.post_count(org_creds, UGC, metric) == post_figures(UGC[15:])[metric]
        assert await insights.post_count(org_creds, SHARE, metric) == post_figures(SHARE[13:])[metric]
        assert await insights.account_total(org_creds, metric, None) == lifetime_figure(ORG_ID, metric)
        expected = sum(daily_figure(ORG_ID, metric, d) for d in DAYS)
        assert await insights.account_total(org_creds, metric, PERIOD) == expected
    days = await insights.account_daily(org_creds, "COMMENT", PERIOD)
    assert [(d.start, d.end, d.count) for d in days] == [
        (d, d + timedelta(days=1), daily_figure(ORG_ID, "COMMENT", d)) for d in DAYS
    ]
    assert await insights.follower_count(org_creds) == follower_total(ORG_ID)
    gains = await insights.follower_gains(org_creds, PERIOD)
    assert [g.count for g in gains] == [follower_gain(ORG_ID, d) for d in DAYS]


async def test_unavailable_figures_are_none(
    adapter: LinkedInAdapter, creds: Credentials, org_creds: Credentials, simulator_url: str
) -> None:
    fault(simulator_url, target="IMPRESSION", fault="unavailable")
    fault(simulator_url, target="FOLLOWERS", fault="unavailable")
    assert await adapter.insights.post_count(creds, SHARE, "IMPRESSION") is None
    assert await adapter.insights.post_count(creds, SHARE, "COMMENT") is not None
    assert await adapter.insights.follower_count(creds) is None
    days = await adapter.insights.account_daily(creds, "IMPRESSION", PERIOD)
    assert [d.count for d in days] == [None, None, None]
    assert await adapter.insights.post_count(org_creds, SHARE, "IMPRESSION") is None
    assert await adapter.insights.follower_count(org_creds) is None


async def test_refusals_carry_linkedins_answer(
    adapter: LinkedInAdapter, creds: Credentials, simulator_url: str
) -> None:
    fault(simulator_url, target="IMPRESSION", fault="rate-limited", times=1)
    fault(simulator_url, target="COMMENT", fault="forbidden", times=1)
    fault(simulator_url, target="RESHARE", fault="server-error", times=1)
    with pytest.raises(Refusal) as limited:
        await adapter.insights.post_count(creds, SHARE, "IMPRESSION")
    assert (limited.value.code, limited.value.status) == (ErrorCode.RATE_LIMITED, 429)
    assert limited.value.retry_at is not None and limited.value.retry_at > datetime.now(UTC)
    assert limited.value.details["code"] == "TOO_MANY_REQUESTS"
    with pytest.raises(Refusal) as forbidden:
        await adapter.insights.post_count(creds, SHARE, "COMMENT")
    assert forbidden.value.status == 403 and forbidden.value.details["code"] == "ACCESS_DENIED"
    with pytest.raises(Refusal) as broken:
        await adapter.insights.post_count(creds, SHARE, "RESHARE")
    assert (broken.value.code, broken.value.status) == (ErrorCode.PLATFORM_SERVER_ERROR, 500)
    assert broken.value.detail == "Internal Server Error"
    expired = member_creds(simulator_url, refresh_token="r")
    expired = Credentials(expired.account_id, expired.endpoints, expired.secrets.merged(access_token="nope"))
    with pytest.raises(Refusal) as unauthorized:
        await adapter.insights.follower_count(expired)
    assert unauthorized.value.status == 401 and unauthorized.value.refreshable


async def test_reactions_and_comments(adapter: LinkedInAdapter, creds: Credentials) -> None:
    insights = adapter.insights
    reaction = await insights.react(creds, UGC, "EMPATHY")
    assert reaction["id"] == f"urn:li:reaction:(urn:li:person:{MEMBER},{UGC})"
    assert reaction["reactionType"] == "EMPATHY"
    assert await insights.unreact(creds, UGC) is None
    with pytest.raises(Refusal) as missing:
        await insights.unreact(creds, UGC)
    assert missing.value.status == 404 and missing.value.details["code"] == "NOT_FOUND"
    created = await insights.comment(creds, SHARE, "Nice one")
    assert created.id.isdigit() and created.body["id"] == created.id
    assert created.body["commentUrn"] == f"urn:li:comment:(urn:li:activity:{SHARE[13:]},{created.id})"
    reply = await insights.comment(creds, SHARE, "Thanks", created.body["commentUrn"])
    assert reply.body["parentComment"] == created.body["commentUrn"]
    await insights.delete_comment(creds, SHARE, created.id)
    with pytest.raises(Refusal) as gone:
        await insights.delete_comment(creds, SHARE, created.id)
    assert gone.value.status == 404


async def test_organization_acts_as_itself(adapter: LinkedInAdapter, org_creds: Credentials) -> None:
    reaction = await adapter.insights.react(org_creds, SHARE, "LIKE")
    assert reaction["created"]["actor"] == f"urn:li:organization:{ORG_ID}"
    created = await adapter.insights.comment(org_creds, UGC, "From the page")
    assert created.body["actor"] == f"urn:li:organization:{ORG_ID}"
    await adapter.insights.delete_comment(org_creds, UGC, created.id)
