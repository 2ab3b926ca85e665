"""The LinkedIn routes' request bodies, checked in the documented order with the documented messages.

Presence checks follow JavaScript truthiness, as the original did: a missing key, ``null``, ``""``,
``0`` and ``false`` all count as missing. `queryTypes`, `aggregation`, `period` and `reactionType`
are case-insensitive; `queryType` must be uppercase. When both `queryType` and `queryTypes` are
sent, `queryTypes` wins.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeGuard

from postpost.errors import InvalidInput
from postpost.platforms._linkedin_insights import METRICS, Period

REACTIONS = ("LIKE", "PRAISE", "EMPATHY", "INTEREST", "APPRECIATION", "ENTERTAINMENT")
AGGREGATIONS = ("DAILY", "TOTAL")
COMMENT_MAX = 1250
DEFAULT_DAYS = 30  # a DAILY series without a dateRange covers the last 30 days, today included
PREFIX = "linkedin-"

_POST_URN = re.compile(r"^urn:li:(share|ugcPost|activity):(\d+)$")
_COMMENT_URN = re.compile(r"^urn:li:comment:\(urn:li:(?:activity|share|ugcPost):\d+,(\d+)\)$")
_METRIC_LIST = ", ".join(METRICS)
INVALID_QUERY_TYPE = f"Invalid queryType. Must be one of: {_METRIC_LIST}"
DATE_FIELDS = "dateRange.start and dateRange.end must have: year, month, day"


@dataclass(frozen=True)
class DateRange:
    """Whole UTC days from `start` to `end`, both included (as a client writes January: 1 to 31)."""

    start: date
    end: date

    @property
    def period(self) -> Period:
        """The same days as LinkedIn asks for them: its end is the first day after."""
        return Period(self.start, self.end + timedelta(days=1))

    @property
    def label(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


@dataclass(frozen=True)
class MetricQuery:
    """The metrics asked for; `single` when asked with `queryType` (answered as one figure),
    `everything` when asked with ``"ALL"``."""

    metrics: tuple[str, ...]
    single: bool
    everything: bool = False


@dataclass(frozen=True)
class PostStatisticsRequest:
    account: str
    posted_id: str
    query: MetricQuery


@dataclass(frozen=True)
class AccountStatisticsRequest:
    account: str
    query: MetricQuery
    daily: bool
    date_range: DateRange | None


@dataclass(frozen=True)
class FollowersRequest:
    account: str
    date_range: DateRange | None  # set for the daily period only


@dataclass(frozen=True)
class ProfileRequest:
    account: str
    date_range: DateRange | None


@dataclass(frozen=True)
class ReactionRequest:
    account: str
    posted_id: str
    reaction_type: str | None  # None when removing


@dataclass(frozen=True)
class CommentRequest:
    account: str
    posted_id: str
    message: str
    parent: str | None


@dataclass(frozen=True)
class CommentDeletion:
    account: str
    posted_id: str
    comment_id: str | int  # as passed (the answer echoes it)

    @property
    def numeric_id(self) -> str:
        text = str(self.comment_id)
        found = _COMMENT_URN.match(text)
        return found.group(1) if found else text


def truthy(value: Any) -> bool:
    """JavaScript truthiness of a JSON value."""
    return (
        value is not None
        and value is not False
        and value != ""
        and not (isinstance(value, int | float) and not isinstance(value, bool) and value == 0)
    )


def account_ref(platform_id: str) -> str | None:
    """The LinkedIn account id `platform_id` names (``linkedin-<id>`` or the bare id); None if none."""
    raw = platform_id[len(PREFIX) :] if platform_id.startswith(PREFIX) else platform_id
    return raw if raw and not any(ch.isspace() for ch in raw) else None


def post_statistics(body: Any) -> PostStatisticsRequest:
    fields = _fields(body)
    posted_id, platform_id = fields.get("postedId"), fields.get("platformId")
    if not truthy(posted_id) or not truthy(platform_id):
        raise InvalidInput("postedId and platformId are required")
    if not isinstance(posted_id, str) or not isinstance(platform_id, str):
        raise InvalidInput("postedId and platformId must be strings")
    query = _metric_query(fields)
    return PostStatisticsRequest(account_ref(platform_id) or "", posted_id, query)


def account_statistics(body: Any) -> AccountStatisticsRequest:
    fields = _fields(body)
    platform_id = _platform_id(fields, check_format=False)
    query = _metric_query(fields)
    aggregation = "TOTAL"
    if "aggregation" in fields:
        if not isinstance(fields["aggregation"], str):
            raise InvalidInput("aggregation must be a string")
        aggregation = fields["aggregation"].upper()
        if aggregation not in AGGREGATIONS:
            raise InvalidInput("Invalid aggregation. Must be one of: DAILY, TOTAL")
    date_range = _date_range(fields["dateRange"]) if "dateRange" in fields else None
    daily = aggregation == "DAILY"
    if daily and "MEMBERS_REACHED" in query.metrics:
        if not query.everything:
            raise InvalidInput("MEMBERS_REACHED with DAILY aggregation is not supported by LinkedIn API")
        query = MetricQuery(tuple(m for m in query.metrics if m != "MEMBERS_REACHED"), single=False)
    if daily and date_range is None:
        end = datetime.now(UTC).date()
        date_range = DateRange(end - timedelta(days=DEFAULT_DAYS - 1), end)
    return AccountStatisticsRequest(account_ref(platform_id) or "", query, daily, date_range)


def followers(body: Any) -> FollowersRequest:
    fields = _fields(body)
    account = _account(fields)
    daily = False
    if "period" in fields:
        if not isinstance(fields["period"], str):
            raise InvalidInput("period must be a string")
        period = fields["period"].lower()
        if period not in ("lifetime", "daily"):
            raise InvalidInput("Invalid period. Must be one of: lifetime, daily")
        daily = period == "daily"
    if not daily:
        return FollowersRequest(account, None)
    if "dateRange" not in fields:
        raise InvalidInput("dateRange is required for daily period")
    return FollowersRequest(account, _date_range(fields["dateRange"]))


def profile_summary(body: Any) -> ProfileRequest:
    fields = _fields(body)
    account = _account(fields)
    date_range = _date_range(fields["dateRange"]) if "dateRange" in fields else None
    return ProfileRequest(account, date_range)


def new_reaction(body: Any) -> ReactionRequest:
    fields = _fields(body)
    posted_id, reaction, platform_id = (fields.get(k) for k in ("postedId", "reactionType", "platformId"))
    if not (truthy(posted_id) and truthy(reaction) and truthy(platform_id)):
        raise InvalidInput("postedId, reactionType, and platformId are required")
    if not isinstance(platform_id, str):
        raise InvalidInput("platformId must be a string")
    urn = _post_urn(posted_id)
    kind = reaction.upper() if isinstance(reaction, str) else None
    if kind not in REACTIONS:
        raise InvalidInput(f"reactionType must be one of: {', '.join(REACTIONS)}")
    return ReactionRequest(_checked_account(platform_id), urn, kind)


def removed_reaction(fields: Mapping[str, Any]) -> ReactionRequest:
    posted_id, platform_id = fields.get("postedId"), fields.get("platformId")
    if not truthy(posted_id) or not truthy(platform_id):
        raise InvalidInput("postedId and platformId are required")
    if not isinstance(platform_id, str):
        raise InvalidInput("platformId must be a string")
    urn = _post_urn(posted_id)
    return ReactionRequest(_checked_account(platform_id), urn, None)


def new_comment(body: Any) -> CommentRequest:
    fields = _fields(body)
    posted_id, message, platform_id = (fields.get(k) for k in ("postedId", "message", "platformId"))
    if not (truthy(posted_id) and truthy(message) and truthy(platform_id)):
        raise InvalidInput("postedId, message, and platformId are required")
    if not isinstance(platform_id, str):
        raise InvalidInput("platformId must be a string")
    urn = _post_urn(posted_id)
    if not isinstance(message, str) or not message.strip():
        raise InvalidInput("message cannot be empty")
    if len(message) > COMMENT_MAX:
        raise InvalidInput(f"message cannot exceed {COMMENT_MAX} characters")
    parent = fields.get("parentComment")
    if truthy(parent) and not (isinstance(parent, str) and _COMMENT_URN.match(parent)):
        raise InvalidInput("parentComment must be a valid LinkedIn URN")
    return CommentRequest(_checked_account(platform_id), urn, message, parent if truthy(parent) else None)


def removed_comment(fields: Mapping[str, Any]) -> CommentDeletion:
    posted_id, comment_id, platform_id = (fields.get(k) for k in ("postedId", "commentId", "platformId"))
    if not (truthy(posted_id) and truthy(comment_id) and truthy(platform_id)):
        raise InvalidInput("postedId, commentId, and platformId are required")
    if not isinstance(platform_id, str):
        raise InvalidInput("platformId must be a string")
    urn = _post_urn(posted_id)
    if not _comment_ref(comment_id):
        raise InvalidInput("commentId must be a valid LinkedIn URN or numeric ID")
    return CommentDeletion(_checked_account(platform_id), urn, comment_id)


def merged_fields(body: Any, query: Mapping[str, str]) -> dict[str, Any]:
    """A DELETE's fields: the JSON body's, else the query string's."""
    fields = dict(query)
    if isinstance(body, dict):
        fields.update({k: v for k, v in body.items() if v is not None or k not in fields})
    return fields


def translated(urn: str) -> str:
    """``urn:li:activity:N`` as the ``urn:li:ugcPost:N`` LinkedIn's APIs take; others unchanged."""
    found = _POST_URN.match(urn)
    return f"urn:li:ugcPost:{found.group(2)}" if found and found.group(1) == "activity" else urn


def statistics_urn(posted_id: str) -> str:
    """What post statistics ask LinkedIn about: a bare share id becomes its share URN."""
    return f"urn:li:share:{posted_id}" if posted_id.isdigit() else translated(posted_id)


# ----- helpers ----------------------------------------------------------------------------


def _fields(body: Any) -> dict[str, Any]:
    return dict(body) if isinstance(body, dict) else {}


def _platform_id(fields: Mapping[str, Any], *, check_format: bool = True) -> str:
    platform_id = fields.get("platformId")
    if not truthy(platform_id):
        raise InvalidInput("platformId is required")
    if not isinstance(platform_id, str):
        raise InvalidInput("platformId must be a string")
    if check_format:
        _checked_account(platform_id)
    return platform_id


def _account(fields: Mapping[str, Any]) -> str:
    return _checked_account(_platform_id(fields))


def _checked_account(platform_id: str) -> str:
    account = account_ref(platform_id)
    if account is None:
        raise InvalidInput("Invalid platformId")
    return account


def _post_urn(value: Any) -> str:
    if not isinstance(value, str) or not _POST_URN.match(value):
        raise InvalidInput("postedId must be a valid LinkedIn URN")
    return value


def _comment_ref(value: Any) -> TypeGuard[str | int]:
    """A comment's numeric id (string or number) or its full URN."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value > 0
    return isinstance(value, str) and (value.isdigit() or bool(_COMMENT_URN.match(value)))


def _metric_query(fields: Mapping[str, Any]) -> MetricQuery:
    query_type, query_types = fields.get("queryType"), fields.get("queryTypes")
    if not truthy(query_type) and not truthy(query_types):
        raise InvalidInput("queryType or queryTypes is required")
    if truthy(query_types):
        return _metric_list(query_types)
    if query_type not in METRICS:
        raise InvalidInput(INVALID_QUERY_TYPE)
    return MetricQuery((str(query_type),), single=True)


def _metric_list(query_types: Any) -> MetricQuery:
    given = query_types if isinstance(query_types, list) else [query_types]
    if not given:
        raise InvalidInput("queryType or queryTypes is required")
    names = [v.upper() if isinstance(v, str) else None for v in given]
    invalid = [_js_text(v) for v, name in zip(given, names, strict=True) if name not in (*METRICS, "ALL")]
    if invalid:
        raise InvalidInput(
            f'Invalid queryTypes: {",".join(invalid)}. Must be one of: {_METRIC_LIST}, or "ALL"'
        )
    if "ALL" in names:
        return MetricQuery(METRICS, single=False, everything=True)
    return MetricQuery(tuple(dict.fromkeys(n for n in names if n)), single=False)


def _js_text(value: Any) -> str:
    """How JavaScript writes a value into a template string."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "[object Object]"
    if isinstance(value, list):
        return ",".join(_js_text(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _date_range(value: Any) -> DateRange:
    if not isinstance(value, dict):
        raise InvalidInput("dateRange must be an object")
    start, end = value.get("start"), value.get("end")
    if not isinstance(start, dict) or not isinstance(end, dict):
        raise InvalidInput("dateRange must have both 'start' and 'end' objects")
    if not all(truthy(part.get(k)) for part in (start, end) for k in ("year", "month", "day")):
        raise InvalidInput(DATE_FIELDS)
    first, last = _day(start), _day(end)
    if first > last:
        raise InvalidInput("dateRange.start must not be after dateRange.end")
    return DateRange(first, last)


def _day(parts: Mapping[str, Any]) -> date:
    try:
        numbers = [_integer(parts[k]) for k in ("year", "month", "day")]
        return date(*numbers)
    except (TypeError, ValueError):
        raise InvalidInput("dateRange holds an invalid date") from None


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError("not a number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise TypeError("not a number")
