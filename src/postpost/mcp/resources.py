"""Resources an assistant can read without a tool call: the connections, the next scheduled posts,
and (as a template) any post group. Their contents are the REST bodies as JSON."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from mcp_types import Resource, ResourceTemplate

from postpost import wire
from postpost.mcp.tools import Call
from postpost.services import connections, listing, posts

JSON = "application/json"
POST_PREFIX = "postpost://posts/"
UPCOMING = 20


@dataclass(frozen=True)
class ResourceSpec:
    resource: Resource
    read: Callable[[Call], Awaitable[Any]]


async def _connections(call: Call) -> Any:
    return wire.connections(await connections.list_connections(call.session, call.principal.user_id))


async def _scheduled(call: Call) -> Any:
    params = {"status": "scheduled", "sortBy": "scheduledTime", "sortOrder": "asc", "limit": str(UPCOMING)}
    return wire.post_page(await listing.list_posts(call.session, call.principal.user_id, params))


RESOURCES = {
    spec.resource.uri: spec
    for spec in (
        ResourceSpec(
            Resource(
                uri="postpost://connections",
                name="connections",
                title="Connected accounts",
                description="Your connected social accounts with their platformIds and token health "
                "(the list_connections answer).",
                mime_type=JSON,
            ),
            _connections,
        ),
        ResourceSpec(
            Resource(
                uri="postpost://posts/scheduled",
                name="scheduled-posts",
                title="Next scheduled posts",
                description=f"The next {UPCOMING} scheduled post groups, soonest first "
                "(a list_posts answer).",
                mime_type=JSON,
            ),
            _scheduled,
        ),
    )
}

POST_TEMPLATE = ResourceTemplate(
    uri_template=POST_PREFIX + "{postGroupId}",
    name="post",
    title="Post group",
    description="One post group by its postGroupId (the get_post answer).",
    mime_type=JSON,
)


def reader(uri: str) -> Callable[[Call], Awaitable[Any]] | None:
    """How to read `uri`, or None when no resource has it."""
    spec = RESOURCES.get(uri)
    if spec is not None:
        return spec.read
    if uri.startswith(POST_PREFIX):
        group_id = uri.removeprefix(POST_PREFIX)

        async def read_post(call: Call) -> Any:
            return wire.post_group(await posts.get_post(call.session, call.principal, group_id))

        return read_post
    return None
