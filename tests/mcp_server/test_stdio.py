"""`postpost mcp --api-key sk_…`: the MCP server over stdio, as a desktop client starts it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client

from tests.conftest import SECRET, MakeConnection, MakeUser
from tests.mcp_server.conftest import body, error

POSTPOST = str(Path(sys.executable).with_name("postpost"))


@pytest.fixture
def env(mcp_database_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        "POSTPOST_DATABASE_URL": mcp_database_url,
        "POSTPOST_SECRET_KEY": SECRET,
        "POSTPOST_DATA_DIR": str(tmp_path),
    }


@asynccontextmanager
async def stdio(env: dict[str, str], *args: str) -> AsyncIterator[ClientSession]:
    server = StdioServerParameters(command=POSTPOST, args=["mcp", *args], env=env)
    async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


async def test_tools_over_stdio(
    env: dict[str, str], make_user: MakeUser, make_connection: MakeConnection
) -> None:
    user = await make_user()
    account = await make_connection(user, "mastodon")
    async with stdio(env, "--api-key", user.api_key) as mcp:
        names = {tool.name for tool in (await mcp.list_tools()).tools}
        assert {"create_post", "get_post", "preview_split"} <= names
        listed = body(await mcp.call_tool("list_connections", {}))
        assert [c["platformId"] for c in listed["connections"]] == [account]
        group = body(
            await mcp.call_tool("create_post", {"content": "From a desktop", "platforms": [account]})
        )
        post = body(await mcp.call_tool("get_post", {"postGroupId": group["postGroupId"]}))
        assert (post["content"], post["status"]) == ("From a desktop", "draft")
        assert error(await mcp.call_tool("get_post", {"postGroupId": "0" * 24})) == "Post group not found"
        resources = {str(r.uri) for r in (await mcp.list_resources()).resources}
        assert resources == {"postpost://connections", "postpost://posts/scheduled"}


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [POSTPOST, "mcp", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


async def test_a_key_that_may_not_use_mcp_stops_it(env: dict[str, str], make_user: MakeUser) -> None:
    user = await make_user()
    no_mcp = await make_user(entitlements={"mcpAccess": False})
    wrong = run({**env, "POSTPOST_MCP_API_KEY": user.api_key + "x"})  # the key may come from there
    assert (wrong.returncode, wrong.stdout) == (1, "")
    assert "Invalid API key" in wrong.stderr
    refused = run(env, "--api-key", no_mcp.api_key)
    assert refused.returncode == 1
    assert "MCP access is not enabled for this account" in refused.stderr
