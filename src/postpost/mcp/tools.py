"""The tools: each one validated arguments in, one service call, the REST body out.

A tool is a `ToolSpec` in `TOOLS`: its name, description (what an assistant reads to pick it and
fill it in), arguments model (its input schema), hints, and handler. Adding a tool is one handler
and one entry; the server lists and dispatches whatever `TOOLS` holds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from mcp_types import Tool, ToolAnnotations
from sqlalchemy.ext.asyncio import AsyncSession

from postpost import wire, wire_linkedin
from postpost.mcp import arguments as args
from postpost.mcp.deps import McpDeps
from postpost.mcp.preview import preview_split
from postpost.services import (
    connection_checks,
    connections,
    linkedin_insights,
    linkedin_social,
    listing,
    media,
    post_logs,
    posts,
    webhooks,
    workspace,
)
from postpost.services.auth import Principal
from postpost.services.credentials import CredentialStore
from postpost.services.linkedin_access import AdapterLookup, LinkedInFailure

A = TypeVar("A", bound=args.ToolArguments)


@dataclass(frozen=True)
class Call:
    """One tool call: its database session, who it acts as, and the server's parts."""

    session: AsyncSession
    principal: Principal
    deps: McpDeps

    @property
    def linkedin(self) -> tuple[AsyncSession, Principal, CredentialStore, AdapterLookup]:
        """The first arguments of every LinkedIn use case."""
        return self.session, self.principal, self.deps.credentials, self.deps.adapters.get


Handler = Callable[[Call, A], Awaitable[Any]]

READ = ToolAnnotations(read_only_hint=True, open_world_hint=False)
WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)
DELETE = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
)
READ_PLATFORM = ToolAnnotations(read_only_hint=True, open_world_hint=True)
ACT = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=True)
UNDO = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True
)


@dataclass(frozen=True)
class ToolSpec(Generic[A]):
    """A tool as the server lists and runs it. `failure` is the message of an unexpected error."""

    name: str
    description: str
    arguments: type[A]
    run: Handler[A]
    annotations: ToolAnnotations
    failure: str

    def definition(self) -> Tool:
        return Tool(
            name=self.name,
            description=self.description,
            input_schema=args.input_schema(self.arguments),
            annotations=self.annotations,
        )


async def _list_posts(call: Call, a: args.ListPosts) -> Any:
    params = {name: str(value) for name, value in a.rest_body().items()}
    return wire.post_page(await listing.list_posts(call.session, call.principal.user_id, params))


async def _create_post(call: Call, a: args.CreatePost) -> Any:
    return wire.created_post(await posts.create_post(call.session, call.principal, a.rest_body()))


async def _get_post(call: Call, a: args.PostGroupRef) -> Any:
    return wire.post_group(await posts.get_post(call.session, call.principal, a.post_group_id))


async def _update_post(call: Call, a: args.UpdatePost) -> Any:
    body = a.rest_body(exclude={"post_group_id"})
    return wire.updated_post(await posts.update_post(call.session, call.principal, a.post_group_id, body))


async def _delete_post(call: Call, a: args.PostGroupRef) -> Any:
    removed = await posts.delete_post(call.session, call.principal, a.post_group_id)
    await media.remove_files(call.deps.storage, removed)
    return {"success": True}


async def _get_upload_url(call: Call, a: args.GetUploadUrl) -> Any:
    ceiling = call.deps.settings.media_max_bytes
    return await media.create_upload(
        call.session, call.deps.storage, call.principal, a.rest_body(), ceiling=ceiling
    )


async def _list_connections(call: Call, _a: args.NoArguments) -> Any:
    return wire.connections(await connections.list_connections(call.session, call.principal.user_id))


async def _test_connection(call: Call, a: args.ConnectionRef) -> Any:
    deps = call.deps
    result = await connection_checks.test_connection(
        call.session, call.principal, deps.credentials, deps.adapters.get, a.platform_id
    )
    return wire.connection_test(result)


async def _get_post_logs(call: Call, a: args.PostGroupRef) -> Any:
    return wire.post_logs(await post_logs.get_post_logs(call.session, call.principal, a.post_group_id))


async def _list_webhooks(call: Call, _a: args.NoArguments) -> Any:
    return {"success": True, "webhooks": await webhooks.list_webhooks(call.session, call.principal)}


async def _preview_split(_call: Call, a: args.PreviewSplit) -> Any:
    return preview_split(a.content, a.platforms)


async def _linkedin_post_stats(call: Call, a: args.LinkedInPostStats) -> Any:
    result = await linkedin_insights.post_statistics(*call.linkedin, a.rest_body())
    return wire_linkedin.statistics(result)


async def _linkedin_account_stats(call: Call, a: args.LinkedInAccountStats) -> Any:
    result = await linkedin_insights.account_statistics(*call.linkedin, a.rest_body())
    return wire_linkedin.statistics(result)


async def _linkedin_followers(call: Call, a: args.LinkedInFollowers) -> Any:
    return wire_linkedin.followers(await linkedin_insights.followers(*call.linkedin, a.rest_body()))


async def _linkedin_profile_summary(call: Call, a: args.LinkedInProfileSummary) -> Any:
    status, body = wire_linkedin.profile_summary(
        await linkedin_insights.profile_summary(*call.linkedin, a.rest_body())
    )
    if status != 200:
        raise LinkedInFailure(body["error"], status)
    return body


async def _linkedin_create_reaction(call: Call, a: args.LinkedInReaction) -> Any:
    return wire_linkedin.reaction(await linkedin_social.create_reaction(*call.linkedin, a.rest_body()))


async def _linkedin_delete_reaction(call: Call, a: args.LinkedInPostRef) -> Any:
    return wire_linkedin.reaction(await linkedin_social.delete_reaction(*call.linkedin, a.rest_body()))


async def _linkedin_create_comment(call: Call, a: args.LinkedInComment) -> Any:
    return wire_linkedin.comment(await linkedin_social.create_comment(*call.linkedin, a.rest_body()))


async def _linkedin_delete_comment(call: Call, a: args.LinkedInCommentRef) -> Any:
    deletion = await linkedin_social.delete_comment(*call.linkedin, a.rest_body())
    return wire_linkedin.deleted_comment(deletion)


async def _list_workspace_users(call: Call, _a: args.NoArguments) -> Any:
    users = await workspace.list_users(call.session, call.principal, call.deps.links)
    return {"users": [wire.managed_user(u) for u in users]}


async def _create_workspace_user(call: Call, a: args.CreateWorkspaceUser) -> Any:
    user = await workspace.create_user(call.session, call.principal, call.deps.links, a.rest_body())
    return {"user": wire.managed_user(user)}


async def _workspace_detach_user(call: Call, a: args.WorkspaceUserRef) -> Any:
    await workspace.detach_user(call.session, call.principal, a.user_id)
    return {"success": True}


TOOLS: Sequence[ToolSpec[Any]] = (
    ToolSpec(
        "list_posts",
        "List your post groups, newest first by default, with filters and paging. Each group shows its "
        "status (draft, scheduled, published, failed, partially_published), scheduledTime, and one "
        "entry per platform with its platformId and status. Date filters apply to scheduledTime, so "
        "they leave drafts out.",
        args.ListPosts,
        _list_posts,
        READ,
        "Failed to list posts",
    ),
    ToolSpec(
        "create_post",
        "Create a post group: the same text for one or more connected accounts. With scheduledTime it is "
        "scheduled (a time in the past publishes now); without it, it is saved as a draft. Get the "
        "platformIds from list_connections first; they look like 'mastodon-109876543210' or "
        "'bluesky-did:plc:abc123xyz', never just 'mastodon'. scheduledTime must be ISO 8601 with a zone, "
        "e.g. '2026-03-01T14:00:00Z'. To add media, create the post as a draft, call get_upload_url "
        "and upload the file, then schedule it with update_post. Returns the postGroupId.",
        args.CreatePost,
        _create_post,
        WRITE,
        "Failed to create post group",
    ),
    ToolSpec(
        "get_post",
        "Get one post group: its status, processingStatus, content, scheduledTime, media, and each "
        "platform's post with its status, postedId once published and error once failed.",
        args.PostGroupRef,
        _get_post,
        READ,
        "Failed to fetch post group",
    ),
    ToolSpec(
        "update_post",
        "Reschedule a draft or scheduled post group, schedule a draft, or pause a scheduled group back to "
        "draft. Give status ('draft' or 'scheduled'), scheduledTime (ISO 8601 with a zone, e.g. "
        "'2026-03-01T15:00:00Z'), or both. Groups that are published, failed or being published cannot "
        "change.",
        args.UpdatePost,
        _update_post,
        WRITE,
        "Failed to update post",
    ),
    ToolSpec(
        "delete_post",
        "Delete a post group with its media and logs. Posts already published stay on the platforms.",
        args.PostGroupRef,
        _delete_post,
        DELETE,
        "Failed to delete post group",
    ),
    ToolSpec(
        "get_upload_url",
        "Attach a media file to a draft or scheduled post group: returns uploadUrl (send the file's bytes "
        "there with HTTP PUT and the same Content-Type, within an hour), fileUrl and mediaId.",
        args.GetUploadUrl,
        _get_upload_url,
        WRITE,
        "Failed to create upload URL",
    ),
    ToolSpec(
        "list_connections",
        "List your connected social accounts. Each has the platformId to use in create_post (e.g. "
        "'twitter-1234567890', 'bluesky-did:plc:abc123xyz', 'telegram--1001234567890'), username, "
        "token health (tokenStatus, tokenExpiresIn), lastSuccessfulPost and lastError.",
        args.NoArguments,
        _list_connections,
        READ,
        "Failed to fetch platform connections",
    ),
    ToolSpec(
        "test_connection",
        "Check live that a connected account's credentials still work (it contacts the platform). The "
        "answer's status is 'ok' or 'error' with a message; a failure is also stored as the "
        "connection's lastError.",
        args.ConnectionRef,
        _test_connection,
        ACT,
        "Failed to test connection",
    ),
    ToolSpec(
        "get_post_logs",
        "The publishing timeline of a post group, oldest first (at most 100 entries): scheduling, each "
        "attempt, retries with their error codes, and the outcome per platform. Use it to explain a "
        "failed or late post.",
        args.PostGroupRef,
        _get_post_logs,
        READ,
        "Failed to get post logs",
    ),
    ToolSpec(
        "list_webhooks",
        "List your webhooks: each with its _id, name, url, the events it receives (post.scheduled, "
        "post.published, post.failed, token.expiring), isActive, failureCount and lastTriggeredAt. "
        "Secrets are never shown.",
        args.NoArguments,
        _list_webhooks,
        READ,
        "Failed to list webhooks",
    ),
    ToolSpec(
        "preview_split",
        "Check text against each platform's rules without creating anything: its length as the "
        "platform counts it, the limit, and the parts it becomes. On X, Threads, Mastodon and Bluesky "
        "long text becomes a numbered thread (or splits at lines holding only '---'); other platforms "
        "refuse text over their limit, reported with ok false and the error create_post would give.",
        args.PreviewSplit,
        _preview_split,
        READ,
        "Failed to preview the split",
    ),
    ToolSpec(
        "linkedin_post_stats",
        "Metrics of one published LinkedIn post: impressions, members reached, reshares, reactions, "
        "comments (cached 30 minutes; 'cachedMetrics' says which came from the cache). Give the post's "
        "URN, e.g. 'urn:li:share:7123456789012345678', and the LinkedIn platformId that published it.",
        args.LinkedInPostStats,
        _linkedin_post_stats,
        READ_PLATFORM,
        "Failed to fetch LinkedIn post statistics",
    ),
    ToolSpec(
        "linkedin_account_stats",
        "The same metrics over all of a LinkedIn account's posts: totals (aggregation TOTAL) or one "
        "figure per day (DAILY, the last 30 days unless dateRange says otherwise).",
        args.LinkedInAccountStats,
        _linkedin_account_stats,
        READ_PLATFORM,
        "Failed to fetch LinkedIn account statistics",
    ),
    ToolSpec(
        "linkedin_followers",
        "A LinkedIn account's follower count (period 'lifetime'), or its new followers per day "
        "(period 'daily' with a dateRange such as {'start': {'year': 2026, 'month': 1, 'day': 1}, "
        "'end': {'year': 2026, 'month': 1, 'day': 31}}).",
        args.LinkedInFollowers,
        _linkedin_followers,
        READ_PLATFORM,
        "Failed to fetch LinkedIn followers statistics",
    ),
    ToolSpec(
        "linkedin_profile_summary",
        "A LinkedIn account at a glance: followers (and their growth within dateRange) and the totals of "
        "its posts' impressions, members reached, reactions, comments and reshares. A figure LinkedIn "
        "could not give counts 0 and is listed in 'errors' with partialData true.",
        args.LinkedInProfileSummary,
        _linkedin_profile_summary,
        READ_PLATFORM,
        "Failed to fetch LinkedIn profile summary",
    ),
    ToolSpec(
        "linkedin_create_reaction",
        "React to a LinkedIn post as the connected account (one reaction per post: delete it to change "
        "it). An 'urn:li:activity:…' is sent as the matching 'urn:li:ugcPost:…' (see urnTranslated).",
        args.LinkedInReaction,
        _linkedin_create_reaction,
        ACT,
        "Failed to create LinkedIn reaction",
    ),
    ToolSpec(
        "linkedin_delete_reaction",
        "Remove the connected account's reaction from a LinkedIn post.",
        args.LinkedInPostRef,
        _linkedin_delete_reaction,
        ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True
        ),
        "Failed to delete LinkedIn reaction",
    ),
    ToolSpec(
        "linkedin_create_comment",
        "Comment on a LinkedIn post as the connected account, or reply to a comment with parentComment. "
        "Returns the comment's id and commentUrn (keep them to delete it).",
        args.LinkedInComment,
        _linkedin_create_comment,
        ACT,
        "Failed to create LinkedIn comment",
    ),
    ToolSpec(
        "linkedin_delete_comment",
        "Delete a comment the connected account made on a LinkedIn post.",
        args.LinkedInCommentRef,
        _linkedin_delete_comment,
        ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True
        ),
        "Failed to delete LinkedIn comment",
    ),
    ToolSpec(
        "list_workspace_users",
        "Workspace owners: list the users you manage, with their '_id' (for asUserId and "
        "workspace_detach_user), username (e-mail) and connect-page link.",
        args.NoArguments,
        _list_workspace_users,
        READ,
        "Failed to list workspace users",
    ),
    ToolSpec(
        "create_workspace_user",
        "Workspace owners: create a managed user (an isolated account billed to you).",
        args.CreateWorkspaceUser,
        _create_workspace_user,
        WRITE,
        "Failed to create workspace user",
    ),
    ToolSpec(
        "workspace_detach_user",
        "Workspace owners: stop managing a user. The user, their posts and connections stay; you can no "
        "longer act as them.",
        args.WorkspaceUserRef,
        _workspace_detach_user,
        DELETE,
        "Failed to detach workspace user",
    ),
)
