"""LinkedIn's analytics and social actions on the versioned REST API (Rest.li 2.0 query encoding).

A member connection reads its own figures: ``memberCreatorPostAnalytics`` (one post with the
``entity`` finder, all of the member's posts with ``me``) and ``memberFollowersCount`` (``me``
for the lifetime count, ``dateRange`` for daily gains). An organisation connection (its
``author_urn`` is ``urn:li:organization:…``) reads its page's: ``organizationalEntityShareStatistics``,
``networkSizes`` and ``organizationalEntityFollowerStatistics``. Reactions go through the Reactions
API (``/rest/reactions``), comments through ``/rest/socialActions/{post}/comments``; both act as the
connection's author.

LinkedIn answers ``-1`` for a figure it cannot provide: it is returned as None. A failed answer is
raised as `Refusal`, a `PlatformError` that also carries LinkedIn's error body.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import quote

from yarl import URL

from postpost.platforms import _http
from postpost.platforms._linkedin_api import API_VERSION, Api, author_of, bearer, classify, malformed
from postpost.platforms.base import Credentials, ErrorCode, PlatformError

METRICS = ("IMPRESSION", "MEMBERS_REACHED", "RESHARE", "REACTION", "COMMENT")
# an organisation's share statistics name the same figures differently
SHARE_FIELDS = {
    "IMPRESSION": "impressionCount",
    "MEMBERS_REACHED": "uniqueImpressionsCount",
    "RESHARE": "shareCount",
    "REACTION": "likeCount",
    "COMMENT": "commentCount",
}
ORGANIZATION = "urn:li:organization:"


@dataclass(frozen=True)
class Period:
    """Whole UTC days from `start` up to, not including, `end` (LinkedIn's date ranges)."""

    start: date
    end: date


@dataclass(frozen=True)
class DayCount:
    """One day of a daily series; `count` is None when LinkedIn reports it unavailable."""

    start: date
    end: date
    count: int | None


@dataclass(frozen=True)
class CreatedComment:
    """A comment LinkedIn created: its id (``x-restli-id``) and the answer's body."""

    id: str
    body: dict[str, Any]


class Refusal(PlatformError):
    """LinkedIn's error answer, classified, with its body (`details`: the JSON, or its text)."""

    def __init__(self, result: _http.HttpResult, *, refreshable: bool) -> None:
        base = classify(result, creating=False, refreshable=refreshable)
        super().__init__(
            base.code,
            base.message,
            status=base.status,
            platform_error=base.platform_error,
            retry_at=base.retry_at,
            refreshable=base.refreshable,
        )
        body = _http.json_body(result.body)
        self.details: Any = body if body is not None else (_http.error_text(result.body) or "")
        message = body.get("message") if isinstance(body, dict) else None
        self.detail = str(message or self.details or f"HTTP {result.status}")


class Insights:
    """The analytics and social-action calls of one LinkedIn adapter (stateless)."""

    def __init__(self, api: Api) -> None:
        self.api = api

    # ----- post and account statistics ------------------------------------------------

    async def post_count(self, creds: Credentials, post_urn: str, metric: str) -> int | None:
        """One metric of one post (a share or ugcPost URN), over its lifetime."""
        organization = _organization(creds)
        if organization is not None:
            kind = "ugcPosts" if ":ugcPost:" in post_urn else "shares"
            query = _share_statistics(organization) + f"&{kind}=List({_enc(post_urn)})"
            return _share_figure(await self._get(creds, query), metric)
        entity = f"({'ugc' if ':ugcPost:' in post_urn else 'share'}:{_enc(post_urn)})"
        body = await self._get(
            creds,
            f"/rest/memberCreatorPostAnalytics?q=entity&entity={entity}&queryType={metric}&aggregation=TOTAL",
        )
        return _member_total(body, metric)

    async def account_total(self, creds: Credentials, metric: str, period: Period | None) -> int | None:
        """One metric over all of the account's posts: lifetime, or within `period`."""
        organization = _organization(creds)
        if organization is not None:
            if period is None:
                return _share_figure(await self._get(creds, _share_statistics(organization)), metric)
            days = await self.account_daily(creds, metric, period)
            known = [d.count for d in days if d.count is not None]
            return sum(known) if known or not days else None
        query = f"/rest/memberCreatorPostAnalytics?q=me&queryType={metric}&aggregation=TOTAL"
        if period is not None:
            query += f"&dateRange={_date_range(period)}"
        return _member_total(await self._get(creds, query), metric)

    async def account_daily(self, creds: Credentials, metric: str, period: Period) -> list[DayCount]:
        """One metric over all of the account's posts, day by day within `period`."""
        organization = _organization(creds)
        if organization is not None:
            query = _share_statistics(organization) + f"&timeIntervals={_intervals(period)}"
            body = await self._get(creds, query)
            return [
                DayCount(*_interval(e), _count(_stats(e).get(SHARE_FIELDS[metric]))) for e in _elements(body)
            ]
        body = await self._get(
            creds,
            f"/rest/memberCreatorPostAnalytics?q=me&queryType={metric}&aggregation=DAILY"
            f"&dateRange={_date_range(period)}",
        )
        found = [DayCount(*_days(e.get("dateRange")), _count(e.get("count"))) for e in _elements(body)]
        return sorted(found, key=lambda d: d.start)

    # ----- followers -------------------------------------------------------------------

    async def follower_count(self, creds: Credentials) -> int | None:
        """How many members follow the account now."""
        organization = _organization(creds)
        if organization is not None:
            path = f"/rest/networkSizes/{_enc(organization)}?edgeType=COMPANY_FOLLOWED_BY_MEMBER"
            return _count(_as_object(await self._get(creds, path)).get("firstDegreeSize"))
        elements = _elements(await self._get(creds, "/rest/memberFollowersCount?q=me"))
        return _count(elements[0].get("memberFollowersCount")) if elements else 0

    async def follower_gains(self, creds: Credentials, period: Period) -> list[DayCount]:
        """New followers day by day within `period`."""
        organization = _organization(creds)
        if organization is not None:
            query = (
                "/rest/organizationalEntityFollowerStatistics?q=organizationalEntity"
                f"&organizationalEntity={_enc(organization)}&timeIntervals={_intervals(period)}"
            )
            found = []
            for element in _elements(await self._get(creds, query)):
                gains = _as_object(element.get("followerGains"))
                parts = [_count(gains.get(k)) for k in ("organicFollowerGain", "paidFollowerGain")]
                count = None if None in parts else sum(p or 0 for p in parts)
                found.append(DayCount(*_interval(element), count))
            return found
        body = await self._get(
            creds, f"/rest/memberFollowersCount?q=dateRange&dateRange={_date_range(period)}"
        )
        found = [
            DayCount(*_days(e.get("dateRange")), _count(e.get("memberFollowersCount")))
            for e in _elements(body)
        ]
        return sorted(found, key=lambda d: d.start)

    # ----- reactions and comments ------------------------------------------------------

    async def react(self, creds: Credentials, entity: str, reaction_type: str) -> dict[str, Any]:
        """React to a post (or a comment) as the connection's author; LinkedIn's reaction."""
        body = {"root": entity, "reactionType": reaction_type}
        result = await self._send(
            creds, "POST", f"/rest/reactions?actor={_enc(author_of(creds))}", json_data=body
        )
        created = _http.json_object(result.body)
        if not created and result.headers.get("x-restli-id"):
            created = {"id": result.headers["x-restli-id"]}
        return created

    async def unreact(self, creds: Credentials, entity: str) -> dict[str, Any] | None:
        """Remove the author's reaction; LinkedIn's answer body, if any (usually none)."""
        key = f"(actor:{_enc(author_of(creds))},entity:{_enc(entity)})"  # a Rest.li compound key
        result = await self._send(creds, "DELETE", f"/rest/reactions/{key}")
        return _http.json_object(result.body) or None

    async def comment(
        self, creds: Credentials, post_urn: str, text: str, parent: str | None = None
    ) -> CreatedComment:
        """Comment on a post (a reply when `parent` names a comment) as the connection's author."""
        actor = author_of(creds)
        body: dict[str, Any] = {"actor": actor, "object": post_urn, "message": {"text": text}}
        if parent:
            body["parentComment"] = parent
        result = await self._send(
            creds, "POST", f"/rest/socialActions/{_enc(post_urn)}/comments", json_data=body
        )
        comment_id = result.headers.get("x-restli-id") or ""
        created = _http.json_object(result.body)
        comment_id = comment_id or str(created.get("id") or "")
        if not comment_id:
            raise malformed(result, "comment answer has no x-restli-id")
        return CreatedComment(comment_id, created)

    async def delete_comment(self, creds: Credentials, post_urn: str, comment_id: str) -> None:
        """Delete one of the author's comments on a post."""
        path = f"/rest/socialActions/{_enc(post_urn)}/comments/{_enc(comment_id)}"
        await self._send(creds, "DELETE", f"{path}?actor={_enc(author_of(creds))}")

    # ----- HTTP --------------------------------------------------------------------------

    async def _get(self, creds: Credentials, path: str) -> Any:
        result = await self._send(creds, "GET", path)
        body = _http.json_body(result.body)
        if body is None:
            raise malformed(result, "answered without a JSON body")
        return body

    async def _send(
        self, creds: Credentials, method: str, path: str, *, json_data: Any = None
    ) -> _http.HttpResult:
        """One versioned call; `path` carries its query, already Rest.li-encoded."""
        headers = {**bearer(creds), "LinkedIn-Version": API_VERSION, "X-Restli-Protocol-Version": "2.0.0"}
        result = await _http.send(
            self.api.http,
            method,
            URL(creds.base_url + path, encoded=True),
            client_timeout=self.api.timeout,
            platform="LinkedIn",
            headers=headers,
            json_data=json_data,
        )
        if result.status >= 300:
            raise Refusal(result, refreshable="refresh_token" in creds.secrets)
        return result


def _organization(creds: Credentials) -> str | None:
    author = author_of(creds)
    return author if author.startswith(ORGANIZATION) else None


def _enc(value: str) -> str:
    """A value inside a Rest.li 2.0 query or path: everything reserved percent-encoded."""
    return quote(value, safe="")


def _date_range(period: Period) -> str:
    def day(d: date) -> str:
        return f"(day:{d.day},month:{d.month},year:{d.year})"

    return f"(start:{day(period.start)},end:{day(period.end)})"


def _intervals(period: Period) -> str:
    def ms(d: date) -> int:
        return int(datetime.combine(d, time(), UTC).timestamp() * 1000)

    return f"(timeRange:(start:{ms(period.start)},end:{ms(period.end)}),timeGranularityType:DAY)"


def _share_statistics(organization: str) -> str:
    return (
        "/rest/organizationalEntityShareStatistics?q=organizationalEntity"
        f"&organizationalEntity={_enc(organization)}"
    )


def _as_object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _elements(body: Any) -> list[Mapping[str, Any]]:
    elements = _as_object(body).get("elements")
    if not isinstance(elements, list):
        raise PlatformError(ErrorCode.UNKNOWN_ERROR, "LinkedIn answered without an elements list")
    return [e for e in elements if isinstance(e, Mapping)]


def _count(value: Any) -> int | None:
    """A figure as LinkedIn gave it; None for its ``-1`` (unavailable)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PlatformError(
            ErrorCode.UNKNOWN_ERROR, f"LinkedIn answered a figure that is not a number: {value!r}"
        )
    return None if value < 0 else int(value)


def _metric_of(element: Mapping[str, Any]) -> str | None:
    """``metricType``: a string since 202605, a one-key union object before."""
    value = element.get("metricType")
    if isinstance(value, Mapping) and len(value) == 1:
        value = next(iter(value.values()))
    return value if isinstance(value, str) else None


def _member_total(body: Any, metric: str) -> int | None:
    elements = _elements(body)
    for element in elements:
        if _metric_of(element) in (metric, None):
            return _count(element.get("count"))
    return 0


def _stats(element: Mapping[str, Any]) -> Mapping[str, Any]:
    return _as_object(element.get("totalShareStatistics"))


def _share_figure(body: Any, metric: str) -> int | None:
    elements = _elements(body)
    return _count(_stats(elements[0]).get(SHARE_FIELDS[metric], 0)) if elements else 0


def _date(value: Any) -> date:
    parts = _as_object(value)
    try:
        return date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise PlatformError(
            ErrorCode.UNKNOWN_ERROR, f"LinkedIn answered an unreadable date: {value!r}"
        ) from exc


def _days(value: Any) -> tuple[date, date]:
    parts = _as_object(value)
    return _date(parts.get("start")), _date(parts.get("end"))


def _interval(element: Mapping[str, Any]) -> tuple[date, date]:
    """A ``timeRange`` of epoch milliseconds as UTC days."""
    span = _as_object(element.get("timeRange"))
    try:
        start, end = (datetime.fromtimestamp(int(span[k]) / 1000, UTC).date() for k in ("start", "end"))
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise PlatformError(
            ErrorCode.UNKNOWN_ERROR, f"LinkedIn answered an unreadable timeRange: {span!r}"
        ) from exc
    return start, end
