"""The SDK server: lists and runs the tools and resources, authenticating every call.

Each tool call validates its arguments, authenticates the caller's key as an MCP client (with
`asUserId` when given), runs the handler in one database session and answers with the REST body
as JSON text. Failures are tool errors (`isError`) whose text is the REST error message; a plan
limit also gives its explanation, e.g. "Post limit reached: …".
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    CallToolRequestParams,
    CallToolResult,
    ListResourcesResult,
    ListResourceTemplatesResult,
    ListToolsResult,
    PaginatedRequestParams,
    ReadResourceRequestParams,
    ReadResourceResult,
    TextContent,
    TextResourceContents,
)
from pydantic import ValidationError

from postpost import __version__
from postpost.errors import LimitExceeded, NotFound, PostpostError
from postpost.mcp.auth import principal_for
from postpost.mcp.deps import McpDeps
from postpost.mcp.resources import JSON, POST_TEMPLATE, RESOURCES, reader
from postpost.mcp.tools import TOOLS, Call, ToolSpec
from postpost.services.linkedin_access import LinkedInFailure

log = logging.getLogger("postpost.mcp")

KeySource = Callable[[ServerRequestContext[Any, Any]], str | None]
RESOURCE_NOT_FOUND = -32002  # the MCP specification's code for an unknown resource
INSTRUCTIONS = (
    "PostPost publishes posts to connected social accounts. Call list_connections first: create_post "
    "takes platformIds exactly as listed there (e.g. 'mastodon-109876543210', "
    "'bluesky-did:plc:abc123xyz', 'telegram--1001234567890'). Times are ISO 8601 with a zone "
    "('2026-03-01T14:00:00Z'). Use preview_split to see how long text becomes a thread, and get_post or "
    "get_post_logs to follow publishing."
)


def build_server(deps: McpDeps, key_source: KeySource, tools: Sequence[ToolSpec[Any]] = TOOLS) -> Server[Any]:
    """The SDK server for `tools`; `key_source` tells each request's API key."""
    by_name = {tool.name: tool for tool in tools}
    definitions = [tool.definition() for tool in tools]
    listed = [spec.resource for spec in RESOURCES.values()]

    async def list_tools(
        _ctx: ServerRequestContext[Any, Any], _params: PaginatedRequestParams | None
    ) -> ListToolsResult:
        return ListToolsResult(tools=definitions)

    async def call_tool(ctx: ServerRequestContext[Any, Any], params: CallToolRequestParams) -> CallToolResult:
        tool = by_name.get(params.name)
        if tool is None:
            raise MCPError(INVALID_PARAMS, f"Unknown tool: {params.name}")
        return await run_tool(deps, tool, params.arguments or {}, key_source(ctx))

    async def list_resources(
        _ctx: ServerRequestContext[Any, Any], _params: PaginatedRequestParams | None
    ) -> ListResourcesResult:
        return ListResourcesResult(resources=listed)

    async def list_templates(
        _ctx: ServerRequestContext[Any, Any], _params: PaginatedRequestParams | None
    ) -> ListResourceTemplatesResult:
        return ListResourceTemplatesResult(resource_templates=[POST_TEMPLATE])

    async def read_resource(
        ctx: ServerRequestContext[Any, Any], params: ReadResourceRequestParams
    ) -> ReadResourceResult:
        uri = str(params.uri)
        read = reader(uri)
        if read is None:
            raise MCPError(RESOURCE_NOT_FOUND, f"Resource not found: {uri}")
        try:
            async with deps.database.session() as session:
                principal = await principal_for(session, deps.hasher, key_source(ctx))
                body = await read(Call(session, principal, deps))
        except NotFound as exc:
            raise MCPError(RESOURCE_NOT_FOUND, exc.message) from None
        except PostpostError as exc:
            raise MCPError(INVALID_REQUEST, error_text(exc)) from None
        except Exception:
            log.exception("could not read resource %s", uri)
            raise MCPError(INTERNAL_ERROR, "Failed to read resource") from None
        return ReadResourceResult(
            contents=[TextResourceContents(uri=uri, mime_type=JSON, text=as_json(body))]
        )

    return Server(
        "postpost",
        version=__version__,
        title="PostPost",
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_list_resource_templates=list_templates,
        on_read_resource=read_resource,
    )


async def run_tool(
    deps: McpDeps, tool: ToolSpec[Any], raw: dict[str, Any], api_key: str | None
) -> CallToolResult:
    """Validate, authenticate, run; every failure becomes a tool error with the REST message."""
    try:
        arguments = tool.arguments.model_validate(raw)
    except ValidationError as exc:
        return _failed(invalid_arguments(exc))
    try:
        async with deps.database.session() as session:
            principal = await principal_for(session, deps.hasher, api_key, as_user_id=arguments.as_user_id)
            body = await tool.run(Call(session, principal, deps), arguments)
    except PostpostError as exc:
        return _failed(error_text(exc))
    except Exception:
        log.exception("MCP tool %s failed", tool.name)
        return _failed(tool.failure)
    return CallToolResult(content=[TextContent(type="text", text=as_json(body))])


def error_text(exc: PostpostError) -> str:
    """The REST error message; a plan limit adds its explanation, a LinkedIn failure the status
    LinkedIn answered (403, 429 with its wait) and the REST body's other fields (`details`)."""
    if isinstance(exc, LimitExceeded):
        return f"{exc.message}: {exc.fields['message']}"
    if isinstance(exc, LinkedInFailure):
        text = exc.message
        if exc.status_code in (403, 429):
            wait = (exc.headers or {}).get("Retry-After")
            text += f" (LinkedIn answered {exc.status_code}" + (f", retry after {wait} s)" if wait else ")")
        return f"{text}: {as_json(exc.fields)}" if exc.fields else text
    return exc.message


def invalid_arguments(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        problems.append(f"{where}: {error['msg']}" if where else error["msg"])
    return "Invalid arguments: " + "; ".join(problems)


def as_json(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False)


def _failed(text: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)
