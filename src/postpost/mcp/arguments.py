"""The arguments of each tool. A model's JSON schema (camelCase, as in the REST API) is the
tool's input schema, and validating a call's arguments against the model checks them.

Field descriptions carry examples of the formats an assistant must not guess: compound
platformIds and ISO 8601 times with a zone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from postpost.media.formats import accepted_types
from postpost.platforms._linkedin_insights import METRICS
from postpost.platforms.registry import PLATFORM_NAMES
from postpost.services.linkedin_input import AGGREGATIONS, COMMENT_MAX, REACTIONS
from postpost.services.listing import GROUP_STATUSES, SORT_FIELDS
from postpost.services.posts import EDITABLE

PLATFORM_ID = (
    "A connected account's platformId exactly as list_connections returns it: the platform name, a "
    "dash, then the account id. Examples: 'twitter-1234567890', 'linkedin-Tz9W5i6ZYG', "
    "'mastodon-109876543210', 'bluesky-did:plc:abc123xyz' (a Bluesky id is a DID, colons included), "
    "'telegram--1001234567890' (a Telegram channel id starts with its own minus sign, hence two "
    "dashes). Never a bare platform name such as 'twitter'."
)
TIME = (
    "ISO 8601 date and time with a time zone, 'Z' for UTC or an offset: '2026-03-01T14:00:00Z', "
    "'2026-03-01T09:00:00-05:00', '2026-03-01T14:00:00.000Z'. A time without a zone ('2026-03-01 "
    "14:00', '2026-03-01T14:00') is refused; convert phrases like 'tomorrow at 9am' in the user's time "
    "zone first. A time in the past publishes now."
)
POST_GROUP_ID = (
    "The postGroupId that create_post or list_posts returned: 24 hexadecimal digits, e.g. "
    "'67a1b2c3d4e5f6a7b8c9d0e1'."
)
AS_USER_ID = (
    "Workspace owners only: act as one of your managed users (their 24-hex-digit '_id' from "
    "list_workspace_users, e.g. '67b0c1d2e3f4a5b6c7d8e9f0'). Same rules as the REST header "
    "x-postpost-user-id. Omit to act as yourself."
)
ALT_TEXTS = (
    "Alt texts for the post group's media, by position in upload order (null for a file without one), "
    "e.g. ['A red bicycle against a wall', null]."
)


def choice(values: Iterable[str], description: str, default: Any = None, **kwargs: Any) -> Any:
    """A string field whose schema lists its values; the service behind the tool checks the value
    and answers with the REST API's own error."""
    return Field(default, description=description, json_schema_extra={"enum": list(values)}, **kwargs)


class ToolArguments(BaseModel):
    """Base of every tool's arguments: camelCase names, unknown names refused, optional `asUserId`."""

    model_config = ConfigDict(alias_generator=to_camel, extra="forbid", frozen=True)

    as_user_id: str | None = Field(None, pattern=r"^[0-9a-fA-F]{24}$", description=AS_USER_ID)

    def rest_body(self, *, exclude: set[str] | None = None) -> dict[str, Any]:
        """The arguments as the REST API's JSON body (camelCase, omitted values absent)."""
        return self.model_dump(by_alias=True, exclude_none=True, exclude={"as_user_id", *(exclude or ())})


class NoArguments(ToolArguments):
    """Nothing but the optional `asUserId`."""


class PostGroupRef(ToolArguments):
    post_group_id: str = Field(description=POST_GROUP_ID)


class ListPosts(ToolArguments):
    status: str | None = choice(GROUP_STATUSES, "Only post groups in this status.")
    platform: str | None = choice(
        PLATFORM_NAMES,
        "Only post groups with a post on this platform: a platform name such as 'linkedin', "
        "not a platformId.",
    )
    from_date: str | None = Field(
        None, description=f"Only groups scheduled at or after this time. {TIME.split('. ')[0]}."
    )
    to_date: str | None = Field(
        None, description="Only groups scheduled at or before this time, e.g. '2026-02-28T23:59:59Z'."
    )
    page: int = Field(1, ge=1, description="Page number, from 1.")
    limit: int = Field(20, ge=1, le=100, description="Post groups per page (1 to 100).")
    sort_by: str = choice(SORT_FIELDS, "Field to sort by.", "createdAt")
    sort_order: str = choice(("asc", "desc"), "Sort direction.", "desc")


class CreatePost(ToolArguments):
    content: str = Field(
        description="The text of the post. On X, Threads, Mastodon and Bluesky text over the platform's "
        "limit becomes a thread; a line holding only '---' starts the next post of the thread. "
        "Call preview_split first to see the parts."
    )
    platforms: list[str] = Field(
        description=f"The accounts to publish to, one platformId each. {PLATFORM_ID}",
        examples=[["mastodon-109876543210", "bluesky-did:plc:abc123xyz"]],
    )
    scheduled_time: str | None = Field(
        None,
        description=f"When to publish. Omit it to save a draft (schedule it later with update_post). {TIME}",
    )
    platform_settings: dict[str, dict[str, Any]] | None = Field(
        None,
        description="Per-platform options keyed by platform name, e.g. {'youtube': {'title': 'Launch', "
        "'privacy': 'unlisted'}, 'tiktok': {'viewerSetting': 'PUBLIC_TO_EVERYONE'}}. See the REST "
        "create-post documentation for every field.",
    )
    alt_texts: list[str | None] | None = Field(None, description=ALT_TEXTS)


class UpdatePost(PostGroupRef):
    status: str | None = choice(
        EDITABLE, "'draft' pauses the group; 'scheduled' schedules it (at scheduledTime, or now)."
    )
    scheduled_time: str | None = Field(None, description=f"The new publishing time. {TIME}")
    alt_texts: list[str | None] | None = Field(
        None, description=f"Replaces the group's alt texts. {ALT_TEXTS}"
    )


class GetUploadUrl(PostGroupRef):
    file_name: str = Field(description="The file's name, e.g. 'photo.jpg'.")
    content_type: str = Field(description=f"The file's MIME type, one of: {', '.join(accepted_types())}.")
    media_type: str = choice(("image", "video"), "'image' or 'video'.", ..., alias="type")


class CreateWorkspaceUser(ToolArguments):
    username: str = Field(description="The new user's e-mail address, e.g. 'jane@example.com'.")
    display_name: str | None = Field(None, description="A display name, e.g. 'Jane Doe'.")


class WorkspaceUserRef(ToolArguments):
    user_id: str = Field(description="The managed user's '_id' from list_workspace_users (24 hex digits).")


class ConnectionRef(ToolArguments):
    platform_id: str = Field(description=PLATFORM_ID)


class PreviewSplit(ToolArguments):
    content: str = Field(description="The text to check, exactly as you would pass it to create_post.")
    platforms: list[str] = Field(
        description="Platform names ('twitter', 'bluesky', …) or platformIds ('mastodon-109876543210'); "
        "only the platform part of a platformId matters.",
        examples=[["twitter", "bluesky", "linkedin"]],
    )


LINKEDIN_ID = (
    "A LinkedIn connection's platformId from list_connections, e.g. 'linkedin-Tz9W5i6ZYG' (a member) "
    "or 'linkedin-2414183' (a company page connected as an organisation)."
)
POSTED_ID = (
    "The LinkedIn post: its URN, e.g. 'urn:li:share:7123456789012345678' or "
    "'urn:li:ugcPost:7123456789012345678' (a published post's postedId in get_post), or "
    "'urn:li:activity:7123456789012345678' from the post's web address."
)
QUERY_TYPES = (
    "Metrics to fetch: any of {metrics}; 'SHARE' is accepted for RESHARE. Omit for all of them."
).format(metrics=", ".join(METRICS))
REPLY_FIELDS = "Answers with the REST body of the same route."


class Day(BaseModel):
    """A calendar day, as LinkedIn's routes take it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    year: int = Field(description="e.g. 2026")
    month: int = Field(description="1 to 12")
    day: int = Field(description="1 to 31")


class DateRange(BaseModel):
    """Both days included: {start: 2026-01-01, end: 2026-01-31} is all of January."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: Day
    end: Day


Metric = Annotated[str, Field(json_schema_extra={"enum": [*METRICS, "SHARE", "ALL"]})]


def _query_types(values: list[str] | None) -> list[str] | str:
    """The REST `queryTypes`: PostPost's MCP spelling SHARE is LinkedIn's RESHARE; none means ALL."""
    if not values:
        return "ALL"
    return ["RESHARE" if value.upper() == "SHARE" else value for value in values]


class LinkedInAccountRef(ToolArguments):
    platform_id: str = Field(description=LINKEDIN_ID)


class LinkedInPostStats(LinkedInAccountRef):
    posted_id: str = Field(description=POSTED_ID)
    query_types: list[Metric] | None = Field(None, description=QUERY_TYPES)

    def rest_body(self, *, exclude: set[str] | None = None) -> dict[str, Any]:
        return super().rest_body(exclude={"query_types"}) | {"queryTypes": _query_types(self.query_types)}


class LinkedInAccountStats(LinkedInAccountRef):
    query_types: list[Metric] | None = Field(None, description=QUERY_TYPES)
    aggregation: str = choice(
        AGGREGATIONS,
        "TOTAL: one figure per metric; DAILY: one per day (the last 30 days by default).",
        "TOTAL",
    )
    date_range: DateRange | None = Field(None, description="Only posts of these days (both included).")

    def rest_body(self, *, exclude: set[str] | None = None) -> dict[str, Any]:
        return super().rest_body(exclude={"query_types"}) | {"queryTypes": _query_types(self.query_types)}


class LinkedInFollowers(LinkedInAccountRef):
    period: str = choice(
        ("lifetime", "daily"),
        "lifetime: the follower count; daily: new followers per day (needs dateRange).",
        "lifetime",
    )
    date_range: DateRange | None = Field(None, description="The days of a daily series (both included).")


class LinkedInProfileSummary(LinkedInAccountRef):
    date_range: DateRange | None = Field(
        None, description="With it, follower growth and post totals within these days (both included)."
    )


class LinkedInPostRef(LinkedInAccountRef):
    posted_id: str = Field(description=POSTED_ID)


class LinkedInReaction(LinkedInPostRef):
    reaction_type: str = choice(REACTIONS, "The reaction (LIKE is the thumbs-up).", ...)


class LinkedInComment(LinkedInPostRef):
    message: str = Field(description=f"The comment's text, at most {COMMENT_MAX:,} characters.")
    parent_comment: str | None = Field(
        None,
        description="To reply to a comment: its URN, e.g. "
        "'urn:li:comment:(urn:li:activity:7123456789012345678,7234567890123456789)'.",
    )


class LinkedInCommentRef(LinkedInPostRef):
    comment_id: str = Field(
        description="The comment to delete: its number (the id linkedin_create_comment returned) or "
        "its full 'urn:li:comment:(…)' URN."
    )


def input_schema(model: type[ToolArguments]) -> dict[str, Any]:
    """The model's JSON schema as a tool input schema: no titles, optional fields not nullable,
    `asUserId` last."""
    schema = _inlined(model.model_json_schema(by_alias=True))
    schema.pop("title", None)
    schema.pop("description", None)
    required = set(schema.get("required", ()))
    properties: dict[str, Any] = schema["properties"]
    for name, prop in list(properties.items()):
        prop.pop("title", None)
        branches = prop.get("anyOf")
        if name not in required and branches and {"type": "null"} in branches and len(branches) == 2:
            prop.pop("anyOf")
            branch = next(b for b in branches if b != {"type": "null"})
            prop.update({key: value for key, value in branch.items() if key not in prop})
        if prop.get("default", ...) is None:
            prop.pop("default")
    properties["asUserId"] = properties.pop("asUserId")
    return schema


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with its `$defs` references replaced by the definitions themselves (titles
    dropped), so that every client reads nested arguments such as `dateRange` the same way."""
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, list):
            return [resolve(item) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return resolve(definitions[ref.removeprefix("#/$defs/")])
        found = {key: resolve(value) for key, value in node.items() if key not in ("title", "properties")}
        if "properties" in node:
            found["properties"] = {name: resolve(prop) for name, prop in node["properties"].items()}
        return found

    properties = {name: resolve(prop) for name, prop in schema.get("properties", {}).items()}
    return {**schema, "properties": properties}
