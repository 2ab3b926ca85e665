"""`postpost mcp`: the MCP server over stdio, for desktop clients that start it as a process.

The key given on the command line is checked once at start (a wrong key or a plan without
`mcpAccess` stops the process) and again on every call, like over HTTP.
"""

from __future__ import annotations

from mcp.server.stdio import stdio_server

from postpost.mcp.auth import principal_for
from postpost.mcp.deps import McpDeps
from postpost.mcp.server import build_server


async def check_key(deps: McpDeps, api_key: str) -> None:
    """Raise the contract's error when `api_key` may not use MCP."""
    async with deps.database.session() as session:
        await principal_for(session, deps.hasher, api_key)


async def serve_stdio(deps: McpDeps, api_key: str) -> None:
    """Serve MCP on stdin/stdout until the client closes them."""
    server = build_server(deps, lambda _ctx: api_key)
    try:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())
    finally:
        await deps.close()
