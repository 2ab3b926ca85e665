"""Pydantic models describing the LinkedIn routes in /openapi.json (bodies are validated by services)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


def request_body(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """openapi_extra for a JSON body the service validates itself, nested models inlined."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                found = definitions[node["$ref"].rsplit("/", 1)[-1]]
                return inline({**found, **{k: v for k, v in node.items() if k != "$ref"}})
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    content = {"application/json": {"schema": inline(schema)}}
    return {"requestBody": {"required": required, "content": content}}


Metric = Literal["IMPRESSION", "MEMBERS_REACHED", "RESHARE", "REACTION", "COMMENT"]
METRICS_HELP = 'Metrics (case-insensitive), or `"ALL"` / `["ALL"]` for all five.'


class Day(BaseModel):
    year: int
    month: int
    day: int


class DateRangeBody(BaseModel):
    start: Day = Field(description="First day (UTC), included.")
    end: Day = Field(description="Last day (UTC), included.")


class PostStatisticsBody(BaseModel):
    postedId: str = Field(description="`urn:li:share:…`, `urn:li:ugcPost:…`, or a bare share id.")
    platformId: str = Field(description="`linkedin-<id>`.")
    queryType: Metric | None = Field(None, description="One metric, UPPERCASE only.")
    queryTypes: list[str] | str | None = Field(None, description=METRICS_HELP + " Wins over `queryType`.")


class AccountStatisticsBody(BaseModel):
    platformId: str
    queryType: Metric | None = Field(None, description="One metric, UPPERCASE only.")
    queryTypes: list[str] | str | None = Field(None, description=METRICS_HELP)
    aggregation: str = Field("TOTAL", description="`TOTAL` or `DAILY` (case-insensitive).")
    dateRange: DateRangeBody | None = Field(None, description="DAILY without it covers the last 30 days.")


class FollowersBody(BaseModel):
    platformId: str
    period: str = Field("lifetime", description="`lifetime` or `daily` (case-insensitive).")
    dateRange: DateRangeBody | None = Field(None, description="Required for `daily`.")


class ProfileSummaryBody(BaseModel):
    platformId: str
    dateRange: DateRangeBody | None = Field(None, description="Adds `periodGrowth`; limits post totals.")


class ReactionBody(BaseModel):
    postedId: str = Field(description="`urn:li:share:…`, `urn:li:ugcPost:…` or `urn:li:activity:…`.")
    reactionType: str = Field(
        description="`LIKE`, `PRAISE`, `EMPATHY`, `INTEREST`, `APPRECIATION`, `ENTERTAINMENT`."
    )
    platformId: str


class ReactionRemovalBody(BaseModel):
    postedId: str
    platformId: str


class CommentBody(BaseModel):
    postedId: str
    message: str = Field(description="At most 1,250 characters.")
    platformId: str
    parentComment: str | None = Field(None, description="`urn:li:comment:(…)` to reply to.")


class CommentRemovalBody(BaseModel):
    postedId: str
    commentId: str = Field(description="Numeric comment id or full `urn:li:comment:(…)`.")
    platformId: str


class MetricError(BaseModel):
    metric: str
    error: str


class DailyCount(BaseModel):
    count: int | None
    dateRange: DateRangeBody = Field(description="LinkedIn's day: `end` is the next day.")


class PostStatisticsReply(BaseModel):
    success: bool = Field(description="False when a metric failed (see `errors`).")
    count: int | None = Field(None, description="With `queryType`; null when LinkedIn has no figure (-1).")
    metrics: dict[str, int | None] | None = Field(
        None, description="With `queryTypes`; failed ones are null."
    )
    errors: list[MetricError] | None = None
    cachedMetrics: list[str] | None = Field(None, description="Present when any metric came from the cache.")
    cached: bool


class AccountStatisticsReply(BaseModel):
    success: bool
    data: int | list[DailyCount] | None = Field(None, description="With `queryType`.")
    metrics: dict[str, int | list[DailyCount] | None] | None = Field(None, description="With `queryTypes`.")
    aggregation: Literal["TOTAL", "DAILY"]
    errors: list[MetricError] | None = None
    cachedMetrics: list[str] | None = None
    cached: bool


class FollowerDay(BaseModel):
    date: str = Field(description="`YYYY-MM-DD`.")
    count: int | None


class FollowersReply(BaseModel):
    success: Literal[True]
    followersCount: int | None = Field(None, description="Lifetime period.")
    data: list[FollowerDay] | None = Field(None, description="Daily period: new followers per day.")
    totalGrowth: int | None = None
    cached: bool


class ProfileFollowers(BaseModel):
    total: int | None
    periodGrowth: int | None = Field(None, description="Only with `dateRange`.")


class ProfilePosts(BaseModel):
    totalImpressions: int | None
    totalMembersReached: int | None
    totalReactions: int | None
    totalComments: int | None
    totalReshares: int | None


class Profile(BaseModel):
    followers: ProfileFollowers
    posts: ProfilePosts


class ProfileSummaryReply(BaseModel):
    success: bool
    partialData: bool | None = Field(None, description="True when some fetches failed.")
    profile: Profile
    errors: list[MetricError] | None = None


class ProfileUnavailable(BaseModel):
    success: Literal[False]
    error: str = Field(description="`Failed to fetch LinkedIn profile data`.")
    errors: list[MetricError]


class UrnTranslation(BaseModel):
    from_: str = Field(alias="from")
    to: str


class ReactionReply(BaseModel):
    success: Literal[True]
    reaction: dict[str, Any] | None = Field(description="LinkedIn's answer.")
    urnTranslated: UrnTranslation | None = Field(None, description="When an activity URN was translated.")


class Comment(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str = Field(description="Numeric comment id (LinkedIn's `x-restli-id`).")
    commentUrn: str
    message: str


class CommentReply(BaseModel):
    success: Literal[True]
    comment: Comment


class CommentDeletedReply(BaseModel):
    success: Literal[True]
    deleted: str | int = Field(description="The `commentId` exactly as sent.")


class LinkedInErrorBody(BaseModel):
    error: str
    details: Any = Field(None, description="LinkedIn's error answer (never credentials).")
    status: int | None = Field(None, description="LinkedIn's HTTP status.")
