"""The `/mcp` endpoint of `postpost serve`: MCP over streamable HTTP with stateful sessions.

In front of the SDK's session manager, every request (at `/mcp` and `/mcp/`) must carry a
well-formed API key; one that opens a session (no `mcp-session-id`) is also authenticated, so a
wrong key or a plan without `mcpAccess` is refused at `initialize`. A session belongs to the key
that opened it. Clients that omit `Accept` or `Content-Type` are tolerated, and the SDK's session
errors are answered with the documented text. `GET /mcp/health` needs no key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.context import ServerRequestContext
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.types import Message, Receive, Scope, Send

from postpost.errors import PostpostError
from postpost.mcp.auth import KEY_REQUIRED, api_key_from_headers, principal_for
from postpost.mcp.deps import McpDeps
from postpost.mcp.server import build_server

PATH = "/mcp"
SESSION_ERROR = "Invalid or missing session. Send a POST without mcp-session-id to start."
HEALTH = {"status": "ok", "service": "postpost-mcp"}
AUTH_ERROR = -32001  # a JSON-RPC server error code: the request was not authenticated
_JSON = "application/json"


def request_key(ctx: ServerRequestContext[Any, Any]) -> str | None:
    """The API key on the HTTP request that carried this MCP message."""
    request = ctx.request
    return api_key_from_headers(request.headers) if isinstance(request, Request) else None


class McpEndpoint:
    """The ASGI app serving MCP; `running()` is its lifespan, `mount(app)` adds `/mcp` and `/mcp/*`."""

    def __init__(self, deps: McpDeps) -> None:
        self.deps = deps
        self.sessions = StreamableHTTPSessionManager(app=build_server(deps, request_key), json_response=True)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[McpEndpoint]:
        """Runs the session manager (sessions end with it) and releases the deps afterwards."""
        try:
            async with self.sessions.run():
                yield self
        finally:
            await self.deps.close()

    def mount(self, app: Starlette) -> None:
        app.router.routes.append(Route(PATH, endpoint=self, include_in_schema=False))
        inner = [Route("/health", _health, methods=["GET"]), Route("/", endpoint=self)]
        app.router.routes.append(Mount(PATH, routes=inner))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope = _tolerant(scope)
        headers = Headers(scope=scope)
        key = api_key_from_headers(headers)
        if key is None:
            await _refuse(401, KEY_REQUIRED, scope, receive, send)
            return
        if MCP_SESSION_ID_HEADER not in headers:
            try:
                async with self.deps.database.session() as session:
                    await principal_for(session, self.deps.hasher, key)
            except PostpostError as exc:
                status = exc.status_code if exc.status_code in (401, 403) else 400
                await _refuse(status, exc.message, scope, receive, send)
                return
        owner = AccessToken(token="", client_id=hashlib.sha256(key.encode()).hexdigest(), scopes=[])
        scope["user"] = AuthenticatedUser(owner)
        await self.sessions.handle_request(scope, receive, _session_errors(send))


async def _health(_request: Request) -> JSONResponse:
    return JSONResponse(HEALTH)


def _tolerant(scope: Scope) -> Scope:
    """The request as the SDK wants it: a POST accepts JSON and its body is read as JSON (clients
    that omit `Accept`, or send curl's default form type, are served)."""
    if scope.get("method") != "POST":
        return dict(scope)
    given = Headers(scope=scope)
    accept = given.get("accept", "")
    if "json" not in accept and "*/*" not in accept:
        accept = ", ".join(filter(None, [accept, "application/json, text/event-stream"]))
    content_type = given.get("content-type", "")
    if not content_type.lower().startswith(_JSON):
        content_type = _JSON
    headers = [(k, v) for k, v in scope["headers"] if k not in (b"accept", b"content-type")]
    headers += [(b"accept", accept.encode("latin-1")), (b"content-type", content_type.encode("latin-1"))]
    return {**scope, "headers": headers}


async def _refuse(status: int, message: str, scope: Scope, receive: Receive, send: Send) -> None:
    body = {"jsonrpc": "2.0", "id": None, "error": {"code": AUTH_ERROR, "message": message}}
    headers = {"WWW-Authenticate": 'Bearer realm="postpost"'} if status == 401 else None
    await JSONResponse(body, status_code=status, headers=headers)(scope, receive, send)


def _session_errors(send: Send) -> Send:
    """Give the SDK's session errors (400/404 naming the session) the documented message."""
    held: Message | None = None

    async def relay(message: Message) -> None:
        nonlocal held
        if message["type"] == "http.response.start" and message["status"] in (400, 404):
            held = message
            return
        if held is not None and message["type"] == "http.response.body":
            start, held = held, None
            body = _rewritten(message.get("body", b""))
            if body is not None:
                headers = [(k, v) for k, v in start["headers"] if k != b"content-length"]
                start = {**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]}
                message = {**message, "body": body}
            await send(start)
        await send(message)

    return relay


def _rewritten(body: bytes) -> bytes | None:
    """The body with the session error text, or None when it is not a session error."""
    try:
        reply = json.loads(body)
        message = reply["error"]["message"]
    except (ValueError, TypeError, KeyError):
        return None
    if not isinstance(message, str) or "session" not in message.lower():
        return None
    reply["error"]["message"] = SESSION_ERROR
    return json.dumps(reply, separators=(",", ":")).encode()
