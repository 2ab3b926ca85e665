"""LinkedIn analytics: post and account statistics, followers, and the profile summary (INVENTORY §1.7).

Each figure is cached per connection for the documented time (30 min for totals and followers,
15 min for daily series) in the database, so every API process shares it. The profile summary
reads the same cached figures as the statistics and followers routes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postpost.platforms._linkedin_insights import DayCount, Insights, Period
from postpost.platforms.base import Credentials, PlatformError
from postpost.services import linkedin_input as parse
from postpost.services.auth import Principal
from postpost.services.credentials import CredentialStore
from postpost.services.linkedin_access import (
    FOLLOWERS,
    POSTS,
    AdapterLookup,
    Fetch,
    Got,
    LinkedInAccount,
    Want,
)
from postpost.services.linkedin_cache import DAILY_TTL, FOLLOWERS_TTL, TOTAL_TTL, cache_key
from postpost.services.linkedin_input import DateRange, MetricQuery

METRIC_FAILED = "Failed to fetch metric from LinkedIn"
POST_STATISTICS_FAILED = "Failed to fetch LinkedIn post statistics"
ACCOUNT_STATISTICS_FAILED = "Failed to fetch LinkedIn account statistics"
FOLLOWERS_FAILED = "Failed to fetch LinkedIn followers statistics"
PROFILE_FAILED = "Failed to fetch LinkedIn profile summary"
PROFILE_METRICS = (  # profile field, metric, in the order failures are reported
    ("totalImpressions", "IMPRESSION"),
    ("totalMembersReached", "MEMBERS_REACHED"),
    ("totalReactions", "REACTION"),
    ("totalComments", "COMMENT"),
    ("totalReshares", "RESHARE"),
)


@dataclass(frozen=True)
class MetricResult:
    """One metric: a count (None when unavailable or failed) or a daily series; whether cached/failed."""

    value: int | None | list[DayCount]
    cached: bool
    failed: bool


@dataclass(frozen=True)
class Statistics:
    """Post or account statistics. `aggregation` is set for account statistics only."""

    single: bool
    metrics: dict[str, MetricResult]
    aggregation: str | None = None


@dataclass(frozen=True)
class Followers:
    """The lifetime count, or (`daily`) the gains of each day of the range."""

    daily: bool
    count: int | None
    days: list[DayCount]
    cached: bool


@dataclass(frozen=True)
class ProfileSummary:
    """Followers and post totals; `errors` are (metric, message) of the fetches that failed."""

    followers_total: int | None
    period_growth: int | None  # None: no dateRange, or its fetch failed
    posts: dict[str, int | None]  # profile field → total
    errors: list[tuple[str, str]]
    nothing_fetched: bool  # every fetch failed (answered 502)


async def post_statistics(
    session: AsyncSession, principal: Principal, store: CredentialStore, adapters: AdapterLookup, body: Any
) -> Statistics:
    """linkedin-post-statistics: one post's metrics (30 min cache per metric)."""
    request = parse.post_statistics(body)
    account = await LinkedInAccount.open(session, principal, request.account, store, adapters)
    urn = parse.statistics_urn(request.posted_id)
    wants = {
        m: Want(cache_key("post", urn, m), POSTS, TOTAL_TTL, _post_count(urn, m))
        for m in request.query.metrics
    }
    results = await _metrics(account, wants, request.query, POST_STATISTICS_FAILED)
    return Statistics(request.query.single, results)


async def account_statistics(
    session: AsyncSession, principal: Principal, store: CredentialStore, adapters: AdapterLookup, body: Any
) -> Statistics:
    """linkedin-account-statistics: metrics over all of the account's posts, TOTAL or DAILY."""
    request = parse.account_statistics(body)
    account = await LinkedInAccount.open(session, principal, request.account, store, adapters)
    wants = {m: _account_want(m, request.daily, request.date_range) for m in request.query.metrics}
    results = await _metrics(account, wants, request.query, ACCOUNT_STATISTICS_FAILED)
    return Statistics(request.query.single, results, "DAILY" if request.daily else "TOTAL")


async def followers(
    session: AsyncSession, principal: Principal, store: CredentialStore, adapters: AdapterLookup, body: Any
) -> Followers:
    """linkedin-followers: the lifetime count, or daily gains over a range (30 min cache)."""
    request = parse.followers(body)
    account = await LinkedInAccount.open(session, principal, request.account, store, adapters)
    want = _followers_want(request.date_range)
    try:
        got = (await account.fetch([want]))[want.key]
    except PlatformError as error:
        raise account.failure(error, FOLLOWERS_FAILED) from error
    if got.error is not None:
        raise account.failure(got.error, FOLLOWERS_FAILED) from got.error
    assert got.value is not None
    if request.date_range is None:
        return Followers(False, got.value["count"], [], got.cached)
    return Followers(True, None, _days(got.value), got.cached)


async def profile_summary(
    session: AsyncSession, principal: Principal, store: CredentialStore, adapters: AdapterLookup, body: Any
) -> ProfileSummary:
    """linkedin-profile-summary: followers (and growth in the range) and post totals.

    A failed fetch counts as 0 and is reported in `errors`; LinkedIn's -1 is None.
    """
    request = parse.profile_summary(body)
    account = await LinkedInAccount.open(session, principal, request.account, store, adapters)
    wants: dict[str, Want] = {"followersLifetime": _followers_want(None)}
    if request.date_range is not None:
        wants["followersPeriod"] = _followers_want(request.date_range)
    for _field, metric in PROFILE_METRICS:
        wants[f"post_{metric}"] = _account_want(metric, False, request.date_range)
    try:
        got = await account.fetch(list(wants.values()))
    except PlatformError as error:
        raise account.failure(error, PROFILE_FAILED) from error
    outcome = {name: got[want.key] for name, want in wants.items()}
    errors = [(name, _profile_error(name)) for name, g in outcome.items() if g.error is not None]
    lifetime = outcome["followersLifetime"]
    period = outcome.get("followersPeriod")
    growth = None
    if period is not None and period.value is not None:
        growth = sum(d.count or 0 for d in _days(period.value))
    posts = {field: _count_or_zero(outcome[f"post_{metric}"]) for field, metric in PROFILE_METRICS}
    nothing = all(g.error is not None for g in outcome.values())
    return ProfileSummary(_count_or_zero(lifetime), growth, posts, errors, nothing)


# ----- shared steps ---------------------------------------------------------------------


async def _metrics(
    account: LinkedInAccount, wants: Mapping[str, Want], query: MetricQuery, catch_all: str
) -> dict[str, MetricResult]:
    """The metrics' results; a single metric that fails fails the request."""
    try:
        got = await account.fetch(list(wants.values()))
    except PlatformError as error:
        raise account.failure(error, METRIC_FAILED if query.single else catch_all) from error
    results: dict[str, MetricResult] = {}
    for metric, want in wants.items():
        outcome = got[want.key]
        if outcome.error is not None and query.single:
            raise account.failure(outcome.error, METRIC_FAILED) from outcome.error
        results[metric] = MetricResult(_value(outcome.value), outcome.cached, outcome.error is not None)
    return results


def _post_count(urn: str, metric: str) -> Fetch[dict[str, Any]]:
    async def fetch(insights: Insights, creds: Credentials) -> dict[str, Any]:
        return {"count": await insights.post_count(creds, urn, metric)}

    return fetch


def _account_want(metric: str, daily: bool, date_range: DateRange | None) -> Want:
    span = date_range.label if date_range else "lifetime"
    period = date_range.period if date_range else None
    if daily:
        assert period is not None

        async def series(insights: Insights, creds: Credentials) -> dict[str, Any]:
            return _stored_days(await insights.account_daily(creds, metric, period))

        return Want(cache_key("account", "DAILY", metric, span), POSTS, DAILY_TTL, series)

    async def total(insights: Insights, creds: Credentials) -> dict[str, Any]:
        return {"count": await insights.account_total(creds, metric, period)}

    return Want(cache_key("account", "TOTAL", metric, span), POSTS, TOTAL_TTL, total)


def _followers_want(date_range: DateRange | None) -> Want:
    if date_range is None:

        async def lifetime(insights: Insights, creds: Credentials) -> dict[str, Any]:
            return {"count": await insights.follower_count(creds)}

        return Want(cache_key("followers", "lifetime"), FOLLOWERS, FOLLOWERS_TTL, lifetime)
    period: Period = date_range.period

    async def gains(insights: Insights, creds: Credentials) -> dict[str, Any]:
        return _stored_days(await insights.follower_gains(creds, period))

    return Want(cache_key("followers", "daily", date_range.label), FOLLOWERS, FOLLOWERS_TTL, gains)


def _stored_days(days: list[DayCount]) -> dict[str, Any]:
    return {"days": [[d.start.isoformat(), d.end.isoformat(), d.count] for d in days]}


def _days(value: Mapping[str, Any]) -> list[DayCount]:
    return [DayCount(date.fromisoformat(s), date.fromisoformat(e), c) for s, e, c in value["days"]]


def _value(value: Mapping[str, Any] | None) -> int | None | list[DayCount]:
    if value is None:
        return None
    return _days(value) if "days" in value else value["count"]


def _count_or_zero(got: Got) -> int | None:
    return 0 if got.value is None else got.value["count"]


def _profile_error(name: str) -> str:
    if name == "followersLifetime":
        return "Failed to fetch follower count"
    if name == "followersPeriod":
        return "Failed to fetch follower growth"
    return f"Failed to fetch {name.removeprefix('post_').lower()} count"
