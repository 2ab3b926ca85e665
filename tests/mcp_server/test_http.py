"""The `/mcp` endpoint of `postpost serve` over real HTTP: transport, sessions, auth, entitlements."""

from __future__ import annotations

import json
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from postpost.db.session import Database
from postpost.mcp.http import SESSION_ERROR
from postpost.services import accounts
from tests.conftest import MakeUser
from tests.mcp_server.conftest import bearer, body, connect, error

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2024-11-05",
        "capabilities": {},
        "clientInfo": {"name": "curl-test", "version": "1.0.0"},
    },
}
ACCEPT = {"Accept": "application/json, text/event-stream"}
TOOL_NAMES = {
    "list_posts",
    "create_post",
    "get_post",
    "update_post",
    "delete_post",
    "get_upload_url",
    "list_connections",
    "list_workspace_users",
    "create_workspace_user",
    "workspace_detach_user",
    "get_post_logs",
    "test_connection",
    "preview_split",
    "list_webhooks",
    "linkedin_post_stats",
    "linkedin_account_stats",
    "linkedin_followers",
    "linkedin_profile_summary",
    "linkedin_create_reaction",
    "linkedin_delete_reaction",
    "linkedin_create_comment",
    "linkedin_delete_comment",
}


async def request(method: str, url: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.request(method, url, **kwargs)


async def initialize(url: str, headers: dict[str, str]) -> httpx.Response:
    return await request("POST", url, json=INITIALIZE, headers=headers)


async def list_tools(url: str, headers: dict[str, str], session_id: str) -> httpx.Response:
    message = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}
    return await request("POST", url, json=message, headers={**headers, "mcp-session-id": session_id})


async def test_health(served: str) -> None:
    reply = await request("GET", f"{served}/mcp/health")
    assert reply.status_code == 200
    assert reply.json() == {"status": "ok", "service": "postpost-mcp"}


async def test_initialize_and_tool_schemas(mcp_url: str, make_user: MakeUser) -> None:
    user = await make_user()
    async with connect(mcp_url, bearer(user)) as session:
        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    assert set(tools) == TOOL_NAMES
    create = tools["create_post"].input_schema
    assert create["required"] == ["content", "platforms"]
    assert set(create["properties"]) == {
        "content",
        "platforms",
        "scheduledTime",
        "platformSettings",
        "altTexts",
        "asUserId",
    }
    assert "bluesky-did:plc:" in create["properties"]["platforms"]["description"]
    assert "telegram--100" in create["properties"]["platforms"]["description"]
    stats = tools["linkedin_post_stats"].input_schema
    assert stats["required"] == ["platformId", "postedId"]
    assert "SHARE" in stats["properties"]["queryTypes"]["items"]["enum"]
    date_range = tools["linkedin_followers"].input_schema["properties"]["dateRange"]
    assert date_range["properties"]["start"]["required"] == ["year", "month", "day"], "inlined, no $ref"
    assert "2026-03-01T14:00:00Z" in create["properties"]["scheduledTime"]["description"]
    listing = tools["list_posts"].input_schema["properties"]
    assert (listing["page"]["default"], listing["limit"]["default"], listing["limit"]["maximum"]) == (
        1,
        20,
        100,
    )
    assert (listing["sortBy"]["default"], listing["sortOrder"]["default"]) == ("createdAt", "desc")
    assert listing["status"]["enum"] == ["draft", "scheduled", "published", "failed", "partially_published"]
    upload = tools["get_upload_url"].input_schema
    assert upload["required"] == ["postGroupId", "fileName", "contentType", "type"]
    assert upload["properties"]["type"]["enum"] == ["image", "video"]
    assert tools["update_post"].input_schema["properties"]["status"]["enum"] == ["draft", "scheduled"]
    assert tools["create_workspace_user"].input_schema["required"] == ["username"]
    assert tools["workspace_detach_user"].input_schema["required"] == ["userId"]
    assert tools["list_connections"].input_schema["properties"].keys() == {"asUserId"}
    for tool in tools.values():
        assert tool.input_schema["properties"]["asUserId"]["pattern"] == "^[0-9a-fA-F]{24}$"
        assert tool.input_schema["additionalProperties"] is False
    assert tools["get_post"].annotations.read_only_hint is True
    assert tools["delete_post"].annotations.destructive_hint is True


@pytest.mark.parametrize("suffix", ["", "/"])
async def test_both_paths_and_x_api_key(mcp_url: str, make_user: MakeUser, suffix: str) -> None:
    user = await make_user()
    async with connect(mcp_url + suffix, {"x-api-key": user.api_key}) as session:
        assert body(await session.call_tool("list_connections", {})) == {"success": True, "connections": []}


async def test_session_lifecycle_and_session_errors(mcp_url: str, make_user: MakeUser) -> None:
    user = await make_user()
    headers = {**bearer(user), **ACCEPT}
    opened = await initialize(mcp_url, headers)
    assert opened.status_code == 200, opened.text
    assert opened.json()["result"]["serverInfo"]["name"] == "postpost"
    session_id = opened.headers["mcp-session-id"]
    assert (await list_tools(mcp_url, headers, session_id)).status_code == 200

    missing = await request(
        "POST", mcp_url, json={"jsonrpc": "2.0", "id": 3, "method": "tools/list"}, headers=headers
    )
    unknown = await list_tools(mcp_url, headers, "f" * 32)
    for reply in (missing, unknown):
        assert reply.json()["error"]["message"] == SESSION_ERROR
    assert (missing.status_code, unknown.status_code) == (400, 404)

    other = await make_user()
    stolen = await list_tools(
        mcp_url, {**bearer(other), **ACCEPT}, session_id
    )  # a session belongs to its key
    assert (stolen.status_code, stolen.json()["error"]["message"]) == (404, SESSION_ERROR)

    closed = await request("DELETE", mcp_url, headers={**headers, "mcp-session-id": session_id})
    assert closed.status_code == 200
    after = await list_tools(mcp_url, headers, session_id)
    assert (after.status_code, after.json()["error"]["message"]) == (404, SESSION_ERROR)


async def test_clients_that_omit_accept_and_content_type_are_served(
    mcp_url: str, make_user: MakeUser
) -> None:
    user = await make_user()
    for headers in ({}, {"Content-Type": "application/x-www-form-urlencoded"}):  # the latter: curl -d
        reply = await request(
            "POST", mcp_url, content=json.dumps(INITIALIZE), headers={**bearer(user), **headers}
        )
        assert reply.status_code == 200, reply.text
        assert reply.json()["result"]["protocolVersion"] == "2024-11-05"
        assert reply.headers["mcp-session-id"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "{key}"},  # no Bearer
        {"Authorization": "Bearer  {key}"},  # two spaces
        {"Authorization": "Basic {key}"},
        {"Authorization": "Bearer not-a-key"},
        {"x-api-key": "not-a-key"},
    ],
)
async def test_a_missing_or_malformed_key_is_refused(
    mcp_url: str, make_user: MakeUser, headers: dict[str, str]
) -> None:
    user = await make_user()
    filled = {name: value.format(key=user.api_key) for name, value in headers.items()}
    reply = await initialize(mcp_url, {**filled, **ACCEPT})
    assert reply.status_code == 401
    assert reply.json()["error"]["message"].startswith("API key required")
    assert "mcp-session-id" not in reply.headers


def refused(message: str) -> pytest.RaisesGroup[MCPError]:
    """The SDK client's failure to initialize, raised out of its task groups."""
    return pytest.RaisesGroup(pytest.RaisesExc(MCPError, match=message), flatten_subgroups=True)


async def test_the_sdk_client_reports_refusals(mcp_url: str, make_user: MakeUser) -> None:
    with refused("^API key required"):
        async with connect(mcp_url, {}):
            pass
    user = await make_user()
    with refused("^Invalid API key$"):
        async with connect(mcp_url, {"Authorization": f"Bearer {user.api_key}x"}):
            pass


async def test_mcp_access_gates_mcp_not_api_access(served: str, mcp_url: str, make_user: MakeUser) -> None:
    no_mcp = await make_user(entitlements={"mcpAccess": False})
    refused = await initialize(mcp_url, {**bearer(no_mcp), **ACCEPT})
    assert (refused.status_code, refused.json()["error"]["message"]) == (
        403,
        "MCP access is not enabled for this account",
    )
    # the REST API still serves that key: apiAccess is a different entitlement
    rest = await request("GET", f"{served}/api/v1/platform-connections", headers=no_mcp.headers)
    assert rest.status_code == 200

    mcp_only = await make_user("starter", entitlements={"mcpAccess": True})
    rest = await request("GET", f"{served}/api/v1/platform-connections", headers=mcp_only.headers)
    assert (rest.status_code, rest.json()) == (403, {"error": "API access is not enabled for this account"})
    async with connect(mcp_url, bearer(mcp_only)) as session:
        assert body(await session.call_tool("list_connections", {}))["success"] is True

    starter = await make_user("starter")
    assert (await initialize(mcp_url, {**bearer(starter), **ACCEPT})).status_code == 403


async def test_every_call_is_authenticated(mcp_url: str, make_user: MakeUser, database: Database) -> None:
    user = await make_user()
    async with connect(mcp_url, bearer(user)) as session:
        assert body(await session.call_tool("list_connections", {}))["success"] is True
        async with database.session() as db:
            for key in await accounts.list_keys(db, user.id):
                await accounts.revoke_key(db, key.id)
            await db.commit()
        assert error(await session.call_tool("list_connections", {})) == "Invalid API key"


async def test_stateless_requests_of_the_2026_revision(mcp_url: str, make_user: MakeUser) -> None:
    """The SDK's `Client` speaks the 2026-07-28 revision: no handshake, no session; still authenticated."""
    user = await make_user()
    async with (
        httpx2.AsyncClient(headers=bearer(user)) as http,
        Client(streamable_http_client(mcp_url, http_client=http)) as client,
    ):
        assert body(await client.call_tool("list_connections", {})) == {"success": True, "connections": []}
        assert error(await client.call_tool("get_post", {"postGroupId": "0" * 24})) == "Post group not found"
    with refused("^API key required"):
        async with (
            httpx2.AsyncClient() as http,
            Client(streamable_http_client(mcp_url, http_client=http)) as client,
        ):
            await client.call_tool("list_connections", {})
