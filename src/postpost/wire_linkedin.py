"""The PostPost v1 bodies of the LinkedIn routes, built from the LinkedIn services' results.

Kept beside `wire.py` (same role) so the REST API and the MCP server answer alike.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from postpost.platforms._linkedin_insights import DayCount
from postpost.services.linkedin_input import CommentDeletion
from postpost.services.linkedin_insights import (
    METRIC_FAILED,
    Followers,
    MetricResult,
    ProfileSummary,
    Statistics,
)
from postpost.services.linkedin_social import CommentOutcome, ReactionOutcome

PROFILE_UNAVAILABLE = "Failed to fetch LinkedIn profile data"


def statistics(result: Statistics) -> dict[str, Any]:
    """Post or account statistics: one figure (`count`/`data`) or `metrics` with partial failures."""
    cached = [name for name, m in result.metrics.items() if m.cached]
    if result.single:
        [only] = result.metrics.values()
        body: dict[str, Any] = {"success": True}
        if result.aggregation is None:
            body["count"] = only.value
        else:
            body |= {"data": _metric_value(only), "aggregation": result.aggregation}
        return body | {"cached": bool(cached)}
    failed = [name for name, m in result.metrics.items() if m.failed]
    body = {"success": not failed, "metrics": {name: _metric_value(m) for name, m in result.metrics.items()}}
    if result.aggregation is not None:
        body["aggregation"] = result.aggregation
    if failed:
        body["errors"] = [{"metric": name, "error": METRIC_FAILED} for name in failed]
    if cached:
        body["cachedMetrics"] = cached
    body["cached"] = bool(cached)
    return body


def followers(result: Followers) -> dict[str, Any]:
    if not result.daily:
        return {"success": True, "followersCount": result.count, "cached": result.cached}
    data = [{"date": d.start.isoformat(), "count": d.count} for d in result.days]
    growth = sum(d.count or 0 for d in result.days)
    return {"success": True, "data": data, "totalGrowth": growth, "cached": result.cached}


def profile_summary(result: ProfileSummary) -> tuple[int, dict[str, Any]]:
    """The status and body: 200 (complete or partial) or 502 when nothing could be fetched."""
    errors = [{"metric": metric, "error": message} for metric, message in result.errors]
    if result.nothing_fetched:
        return 502, {"success": False, "error": PROFILE_UNAVAILABLE, "errors": errors}
    follower_part: dict[str, Any] = {"total": result.followers_total}
    if result.period_growth is not None:
        follower_part["periodGrowth"] = result.period_growth
    profile = {"followers": follower_part, "posts": dict(result.posts)}
    if errors:
        return 200, {"success": False, "partialData": True, "profile": profile, "errors": errors}
    return 200, {"success": True, "profile": profile}


def reaction(result: ReactionOutcome) -> dict[str, Any]:
    body: dict[str, Any] = {"success": True, "reaction": result.reaction}
    if result.translated:
        body["urnTranslated"] = {"from": result.posted_id, "to": result.sent_as}
    return body


def comment(result: CommentOutcome) -> dict[str, Any]:
    """LinkedIn's answer spread, then `id`, `commentUrn` and `message` set explicitly."""
    created = {**result.answer, "id": result.id, "commentUrn": result.urn, "message": result.message}
    return {"success": True, "comment": created}


def deleted_comment(result: CommentDeletion) -> dict[str, Any]:
    return {"success": True, "deleted": result.comment_id}


def _metric_value(metric: MetricResult) -> Any:
    if isinstance(metric.value, list):
        return [_day(d) for d in metric.value]
    return metric.value


def _day(day: DayCount) -> dict[str, Any]:
    return {"count": day.count, "dateRange": {"start": _date(day.start), "end": _date(day.end)}}


def _date(value: date) -> dict[str, int]:
    return {"year": value.year, "month": value.month, "day": value.day}
