"""Every tool on its success and error paths, through the SDK client against `postpost serve`."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from mcp.shared.exceptions import MCPError

from postpost.db.session import Database
from tests.conftest import MakeConnection, MakeUser, TestUser
from tests.mcp_server.conftest import bearer, body, connect, error, sandbox_account
from tests.media.files import image_bytes


def later(hours: float = 48) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_post_lifecycle(mcp_url: str, make_user: MakeUser, make_connection: MakeConnection) -> None:
    user = await make_user()
    account = await make_connection(user, "mastodon")
    async with connect(mcp_url, bearer(user)) as mcp:
        created = body(await mcp.call_tool("create_post", {"content": "Hello", "platforms": [account]}))
        group = created["postGroupId"]
        assert created == {"success": True, "postGroupId": group}
        draft = body(await mcp.call_tool("get_post", {"postGroupId": group}))
        assert (draft["status"], draft["scheduledTime"]) == ("draft", None)
        assert draft["posts"][0]["platformId"] == account.split("-", 1)[1]  # get-post: the raw id

        when = later()
        moved = body(await mcp.call_tool("update_post", {"postGroupId": group, "scheduledTime": when}))
        assert moved["message"] == "Post updated successfully"
        assert moved["postGroup"]["status"] == "draft"
        scheduled = body(await mcp.call_tool("update_post", {"postGroupId": group, "status": "scheduled"}))
        assert scheduled["postGroup"] == {
            "_id": group,
            "status": "scheduled",
            "scheduledTime": when[:-1] + ".000Z",
        }

        page = body(await mcp.call_tool("list_posts", {"status": "scheduled", "limit": 5}))
        assert [p["postGroupId"] for p in page["posts"]] == [group]
        assert page["posts"][0]["platforms"][0]["platformId"] == account  # list-posts: the compound id
        assert page["pagination"]["limit"] == 5
        assert body(await mcp.call_tool("list_posts", {"status": "draft"}))["posts"] == []

        logs = body(await mcp.call_tool("get_post_logs", {"postGroupId": group}))["logs"]
        assert "scheduled" in [entry["event"] for entry in logs]

        assert body(await mcp.call_tool("delete_post", {"postGroupId": group})) == {"success": True}
        for tool in ("get_post", "get_post_logs", "delete_post"):
            assert error(await mcp.call_tool(tool, {"postGroupId": group})) == "Post group not found"


async def test_post_errors_are_the_rest_messages(
    mcp_url: str, make_user: MakeUser, make_connection: MakeConnection
) -> None:
    user, stranger = await make_user(), await make_user()
    account = await make_connection(user, "mastodon")
    youtube = await make_connection(user, "youtube")
    foreign = await make_connection(stranger, "mastodon")
    async with connect(mcp_url, bearer(user)) as mcp:

        async def create(**arguments: object) -> str:
            return error(await mcp.call_tool("create_post", arguments))

        assert await create(content="Hi", platforms=[foreign]) == f"Platform connection not found: {foreign}"
        assert await create(content="Hi", platforms=["mastodon"]) == "Invalid platform ID format: mastodon"
        assert await create(content=" ", platforms=[account]) == "Content is required"
        assert await create(content="Hi", platforms=[account], scheduledTime="2026-03-01 14:00") == (
            "Invalid scheduled time format"
        )
        settings = {"youtube": {"privacy": "secret"}}
        assert (await create(content="Hi", platforms=[youtube], platformSettings=settings)).startswith(
            "Invalid platformSettings.youtube.privacy: must be one of"
        )
        assert await create(platforms=[account]) == "Invalid arguments: content: Field required"
        assert await create(content="Hi", platforms=[account], scheduled_time=later()) == (
            "Invalid arguments: scheduled_time: Extra inputs are not permitted"
        )

        group = body(await mcp.call_tool("create_post", {"content": "Hi", "platforms": [account]}))[
            "postGroupId"
        ]
        assert error(await mcp.call_tool("update_post", {"postGroupId": group})) == (
            "Either status or scheduledTime must be provided"
        )
        assert error(await mcp.call_tool("update_post", {"postGroupId": group, "status": "paused"})) == (
            "Status must be either 'draft' or 'scheduled'"
        )
        assert error(await mcp.call_tool("list_posts", {"status": "sent"})) == (
            "Invalid status. Must be one of: draft, scheduled, published, failed, partially_published"
        )
        assert error(await mcp.call_tool("list_posts", {"limit": 500})).startswith(
            "Invalid arguments: limit:"
        )
        with pytest.raises(MCPError, match="Unknown tool: post_everywhere"):
            await mcp.call_tool("post_everywhere", {})

    async with connect(mcp_url, bearer(stranger)) as mcp:  # another tenant's group does not exist
        assert error(await mcp.call_tool("get_post", {"postGroupId": group})) == "Post group not found"
        assert body(await mcp.call_tool("list_posts", {}))["posts"] == []


async def test_alt_texts_and_drafts_beyond_the_original(
    mcp_url: str, make_user: MakeUser, make_connection: MakeConnection
) -> None:
    user = await make_user()
    account = await make_connection(user, "bluesky", "did:plc:abc123xyz")
    assert account == "bluesky-did:plc:abc123xyz"
    async with connect(mcp_url, bearer(user)) as mcp:
        arguments = {"content": "Look", "platforms": [account], "altTexts": ["A red square", None]}
        group = body(await mcp.call_tool("create_post", arguments))["postGroupId"]
        post = body(await mcp.call_tool("get_post", {"postGroupId": group}))
        assert (post["status"], post["altTexts"]) == ("draft", ["A red square", None])
        too_long = {"content": "Look", "platforms": [account], "altTexts": ["x" * 2001]}
        assert error(await mcp.call_tool("create_post", too_long)).startswith(
            "Alt text 1 is too long for Bluesky"
        )


async def test_plan_limits_show_in_the_error_text(
    mcp_url: str, make_user: MakeUser, make_connection: MakeConnection
) -> None:
    user = await make_user(entitlements={"monthlyPosts": 1})
    account = await make_connection(user, "mastodon")
    arguments = {"content": "Hi", "platforms": [account], "scheduledTime": later()}
    async with connect(mcp_url, bearer(user)) as mcp:
        body(await mcp.call_tool("create_post", arguments))
        refused = error(await mcp.call_tool("create_post", arguments))
    assert refused.startswith("Post limit reached: Monthly post limit reached.")


async def test_get_upload_url_and_upload(
    mcp_url: str, make_user: MakeUser, make_connection: MakeConnection
) -> None:
    user = await make_user()
    account = await make_connection(user, "mastodon")
    async with connect(mcp_url, bearer(user)) as mcp:
        group = body(await mcp.call_tool("create_post", {"content": "Pic", "platforms": [account]}))[
            "postGroupId"
        ]
        upload = {
            "postGroupId": group,
            "fileName": "red square.png",
            "contentType": "image/png",
            "type": "image",
        }
        reply = body(await mcp.call_tool("get_upload_url", upload))
        assert set(reply) == {"success", "uploadUrl", "fileUrl", "mediaId"}
        async with httpx.AsyncClient() as http:
            put = await http.put(
                reply["uploadUrl"], content=image_bytes(), headers={"Content-Type": "image/png"}
            )
        assert put.status_code == 200, put.text
        media = body(await mcp.call_tool("get_post", {"postGroupId": group}))["media"]
        assert [(m["_id"], m["status"]) for m in media] == [(reply["mediaId"], "ready")]

        assert error(await mcp.call_tool("get_upload_url", {**upload, "type": "video"})) == (
            "type 'video' does not match contentType image/png"
        )
        assert error(
            await mcp.call_tool("get_upload_url", {**upload, "contentType": "text/html"})
        ).startswith("Only video and image files are allowed")
        assert error(await mcp.call_tool("get_upload_url", {**upload, "postGroupId": "0" * 24})) == (
            "Post group not found"
        )
        assert error(await mcp.call_tool("get_upload_url", {"postGroupId": group})).startswith(
            "Invalid arguments: fileName: Field required"
        )


async def test_connections_and_live_checks(mcp_url: str, make_user: MakeUser, database: Database) -> None:
    user = await make_user()
    account = await sandbox_account(database, user, "mastodon")
    async with connect(mcp_url, bearer(user)) as mcp:
        listed = body(await mcp.call_tool("list_connections", {}))
        assert [c["platformId"] for c in listed["connections"]] == [account]
        checked = body(await mcp.call_tool("test_connection", {"platformId": account}))
        assert (checked["platformId"], checked["status"]) == (account, "ok")
        assert (
            error(await mcp.call_tool("test_connection", {"platformId": "mastodon-1"}))
            == "Connection not found"
        )
        assert error(await mcp.call_tool("test_connection", {"platformId": "mastodon1"})) == (
            "Invalid platformId format"
        )
        unknown = body(await mcp.call_tool("test_connection", {"platformId": "pinterest-1"}))
        assert (unknown["status"], unknown["message"]) == ("error", "Unknown platform: pinterest")


async def test_list_webhooks_is_the_rest_list(mcp_url: str, served: str, make_user: MakeUser) -> None:
    owner, stranger = await make_user(), await make_user()
    async with httpx.AsyncClient(base_url=f"{served}/api/v1", headers={"x-api-key": owner.api_key}) as http:
        made = await http.post(
            "/webhooks",
            json={"name": "Ops", "url": "https://93.184.215.14/hook", "events": ["post.failed"]},
        )
        assert made.status_code == 201, made.text
        rest = (await http.get("/webhooks")).json()
    async with connect(mcp_url, bearer(owner)) as mcp:
        listed = body(await mcp.call_tool("list_webhooks", {}))
    assert listed == rest
    assert [(h["name"], h["events"]) for h in listed["webhooks"]] == [("Ops", ["post.failed"])]
    assert "secret" not in listed["webhooks"][0]
    async with connect(mcp_url, bearer(stranger)) as mcp:
        assert body(await mcp.call_tool("list_webhooks", {})) == {"success": True, "webhooks": []}


async def test_preview_split_creates_nothing(mcp_url: str, make_user: MakeUser) -> None:
    user = await make_user()
    sentence = "Every word here counts towards the limit of the platform. "
    long_text = sentence * 10  # 590 characters
    targets = ["twitter", "bluesky-did:plc:abc123xyz", "linkedin", "pinterest"]
    async with connect(mcp_url, bearer(user)) as mcp:
        preview = body(await mcp.call_tool("preview_split", {"content": long_text, "platforms": targets}))
        twitter, bluesky, linkedin, pinterest = preview["platforms"]
        assert (twitter["platform"], twitter["limit"], twitter["splitsIntoThread"], twitter["ok"]) == (
            "twitter",
            280,
            True,
            True,
        )
        assert twitter["length"] == len(long_text)
        assert len(twitter["parts"]) == 3
        assert all(p["length"] <= 280 for p in twitter["parts"])
        assert [p["text"][-5:] for p in twitter["parts"]] == ["(1/3)", "(2/3)", "(3/3)"]
        assert (bluesky["target"], bluesky["platform"]) == ("bluesky-did:plc:abc123xyz", "bluesky")
        assert len(bluesky["parts"]) > 1 and all(p["length"] <= 300 for p in bluesky["parts"])
        assert (linkedin["ok"], [p["text"] for p in linkedin["parts"]]) == (True, [long_text])
        assert pinterest == {
            "target": "pinterest",
            "platform": "pinterest",
            "ok": False,
            "error": "Unknown platform: pinterest",
        }

        refused = body(
            await mcp.call_tool("preview_split", {"content": "x" * 3001, "platforms": ["linkedin"]})
        )
        assert refused["platforms"][0]["ok"] is False
        assert refused["platforms"][0]["error"] == (
            "Content is too long for LinkedIn: 3001 characters, the limit is 3000 "
            "(LinkedIn does not split long posts into a thread)"
        )
        manual = body(
            await mcp.call_tool("preview_split", {"content": "one\n---\ntwo", "platforms": ["mastodon"]})
        )
        assert [p["text"] for p in manual["platforms"][0]["parts"]] == ["one", "two"]
        assert error(await mcp.call_tool("preview_split", {"content": "x", "platforms": []})) == (
            "At least one platform is required"
        )
        assert body(await mcp.call_tool("list_posts", {}))["pagination"]["totalItems"] == 0


async def test_workspace_tools_and_as_user_id(
    mcp_url: str, make_user: MakeUser, make_connection: MakeConnection
) -> None:
    owner = await make_user(workspace=True)
    async with connect(mcp_url, bearer(owner)) as mcp:
        assert body(await mcp.call_tool("list_workspace_users", {})) == {"users": []}
        email = f"managed-{owner.id}@example.com"
        created = body(
            await mcp.call_tool("create_workspace_user", {"username": email, "displayName": "Jane"})
        )
        managed = created["user"]
        assert (managed["username"], managed["displayName"], managed["role"]) == (email, "Jane", "managed")
        assert error(await mcp.call_tool("create_workspace_user", {"username": email})) == (
            "User with this email already exists"
        )
        assert [u["_id"] for u in body(await mcp.call_tool("list_workspace_users", {}))["users"]] == [
            managed["_id"]
        ]

        account = await make_connection(TestUser(managed["_id"], email, ""), "mastodon")
        as_managed = {"asUserId": managed["_id"]}
        listed = body(await mcp.call_tool("list_connections", as_managed))
        assert [c["platformId"] for c in listed["connections"]] == [account]
        assert body(await mcp.call_tool("list_connections", {}))["connections"] == []
        group = body(
            await mcp.call_tool("create_post", {"content": "For Jane", "platforms": [account], **as_managed})
        )
        assert [p["postGroupId"] for p in body(await mcp.call_tool("list_posts", as_managed))["posts"]] == [
            group["postGroupId"]
        ]
        assert body(await mcp.call_tool("list_posts", {}))["posts"] == []

        detached = await mcp.call_tool("workspace_detach_user", {"userId": managed["_id"]})
        assert body(detached) == {"success": True}
        assert error(await mcp.call_tool("list_posts", as_managed)) == "User is not managed by key"
        assert error(await mcp.call_tool("workspace_detach_user", {"userId": managed["_id"]})) == (
            "User not found or not managed by this key"
        )
        assert error(await mcp.call_tool("workspace_detach_user", {"userId": "nope"})) == "Invalid userId"
        assert error(await mcp.call_tool("list_posts", {"asUserId": "nope"})).startswith(
            "Invalid arguments: asUserId: String should match pattern"
        )

    plain = await make_user()
    async with connect(mcp_url, bearer(plain)) as mcp:
        assert (
            error(await mcp.call_tool("list_workspace_users", {}))
            == "Workspace access is not enabled for this key"
        )
        assert error(await mcp.call_tool("list_posts", {"asUserId": owner.id})) == (
            "Workspace access is not enabled for this key"
        )


async def test_resources(mcp_url: str, make_user: MakeUser, make_connection: MakeConnection) -> None:
    user = await make_user()
    account = await make_connection(user, "mastodon")
    async with connect(mcp_url, bearer(user)) as mcp:
        listed = {str(r.uri): r for r in (await mcp.list_resources()).resources}
        assert set(listed) == {"postpost://connections", "postpost://posts/scheduled"}
        templates = (await mcp.list_resource_templates()).resource_templates
        assert [t.uri_template for t in templates] == ["postpost://posts/{postGroupId}"]

        async def create(**extra: str) -> str:
            arguments = {"content": "Hi", "platforms": [account], **extra}
            return str(body(await mcp.call_tool("create_post", arguments))["postGroupId"])

        last, first, draft = (
            await create(scheduledTime=later(72)),
            await create(scheduledTime=later(24)),
            await create(),
        )

        async def read(uri: str) -> object:
            contents = (await mcp.read_resource(uri)).contents[0]
            assert contents.mime_type == "application/json"
            return __import__("json").loads(contents.text)

        connections = await read("postpost://connections")
        assert [c["platformId"] for c in connections["connections"]] == [account]
        upcoming = await read("postpost://posts/scheduled")
        assert [p["postGroupId"] for p in upcoming["posts"]] == [first, last]
        post = await read(f"postpost://posts/{draft}")
        assert (post["postGroupId"], post["status"]) == (draft, "draft")
        with pytest.raises(MCPError, match="Post group not found"):
            await mcp.read_resource("postpost://posts/" + "0" * 24)
        with pytest.raises(MCPError, match="Resource not found: postpost://webhooks"):
            await mcp.read_resource("postpost://webhooks")


async def test_a_post_publishes_in_the_sandbox(mcp_url: str, make_user: MakeUser, database: Database) -> None:
    user = await make_user()
    account = await sandbox_account(database, user, "mastodon")
    arguments = {
        "content": "Hello from an assistant",
        "platforms": [account],
        "scheduledTime": "2020-01-01T00:00:00Z",
    }
    async with connect(mcp_url, bearer(user)) as mcp:
        group = body(await mcp.call_tool("create_post", arguments))["postGroupId"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            post = body(await mcp.call_tool("get_post", {"postGroupId": group}))
            if post["status"] != "scheduled":
                break
            await asyncio.sleep(0.1)
        assert post["status"] == "published", post
        assert post["posts"][0]["status"] == "published"
        assert post["posts"][0]["postedId"]
        events = [
            e["event"] for e in body(await mcp.call_tool("get_post_logs", {"postGroupId": group}))["logs"]
        ]
        assert "publish_succeeded" in events
