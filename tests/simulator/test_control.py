"""Tests of the control API, queued faults and the timeout-after-commit fault over real HTTP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from postpost.simulator import create_simulator_app

STATUSES = "/mastodon/api/v1/statuses"
XRPC = "/bluesky/xrpc"
CREATE = f"{XRPC}/com.atproto.repo.createRecord"
POST = "app.bsky.feed.post"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_simulator_app(stall_seconds=0.2)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as c:
        yield c


@pytest.fixture(scope="module")
def live_url() -> Iterator[str]:
    """The simulator served by uvicorn on a free local port (ASGITransport ignores client timeouts)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_simulator_app(stall_seconds=0.2, slow_seconds=0.3),
        loop="asyncio",
        http="h11",
        lifespan="off",
        log_level="warning",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "simulator did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)
    sock.close()


def mastodon_auth(account: str) -> dict[str, str]:
    return {"Authorization": f"Bearer sandbox.{account}.token"}


async def login(client: httpx.AsyncClient, handle: str) -> dict[str, Any]:
    r = await client.post(
        f"{XRPC}/com.atproto.server.createSession", json={"identifier": handle, "password": "pw"}
    )
    assert r.status_code == 200
    session: dict[str, Any] = r.json()
    return session


async def bsky_post(
    client: httpx.AsyncClient,
    s: dict[str, Any],
    text: str,
    rkey: str | None = None,
    read_timeout: float | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {
        "repo": s["did"],
        "collection": POST,
        "record": {"$type": POST, "text": text, "createdAt": "2026-01-01T00:00:00Z"},
    }
    if rkey is not None:
        body["rkey"] = rkey
    kwargs: dict[str, Any] = (
        {} if read_timeout is None else {"timeout": httpx.Timeout(5.0, read=read_timeout)}
    )
    return await client.post(
        CREATE, json=body, headers={"Authorization": f"Bearer {s['accessJwt']}"}, **kwargs
    )


async def posts(client: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    r = await client.get("/_control/posts", params=params)
    assert r.status_code == 200
    listed: list[dict[str, Any]] = r.json()["posts"]
    for post in listed:
        assert post.pop("at").endswith("Z")
    return listed


async def queue(client: httpx.AsyncClient, platform: str, account: str, fault: str, times: int = 1) -> None:
    r = await client.post(
        "/_control/faults", json={"platform": platform, "account": account, "fault": fault, "times": times}
    )
    assert r.status_code == 200, r.text


# ----- control endpoints ------------------------------------------------------


async def test_health(client: httpx.AsyncClient) -> None:
    r = await client.get("/_control/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert {"mastodon", "bluesky"} <= set(r.json()["platforms"])


async def test_posts_listing_order_and_filters(client: httpx.AsyncClient) -> None:
    alice = await login(client, "alice.test")
    await client.post(STATUSES, json={"status": "m1"}, headers=mastodon_auth("1"))
    b1 = (await bsky_post(client, alice, "b1")).json()
    await client.post(STATUSES, json={"status": "m2"}, headers=mastodon_auth("2"))
    assert [p["text"] for p in await posts(client)] == ["m1", "b1", "m2"]
    assert [p["text"] for p in await posts(client, platform="mastodon")] == ["m1", "m2"]
    assert [p["text"] for p in await posts(client, platform="mastodon", account="2")] == ["m2"]
    by_did = await posts(client, platform="bluesky", account=alice["did"])
    assert by_did == [
        {
            "platform": "bluesky",
            "account": alice["did"],
            "id": b1["uri"],
            "text": "b1",
            "replyTo": None,
            "media": [],
        }
    ]
    assert await posts(client, account="alice.test") == by_did


async def test_reset(client: httpx.AsyncClient) -> None:
    alice = await login(client, "alice.test")
    headers = {**mastodon_auth("1"), "Idempotency-Key": "k"}
    first = (await client.post(STATUSES, json={"status": "m"}, headers=headers)).json()
    await bsky_post(client, alice, "b", rkey="3lbdd2q2ktc2a")
    await queue(client, "mastodon", "1", "server-error")
    r = await client.post("/_control/reset")
    assert r.status_code == 200
    assert await posts(client) == []
    assert (await client.get("/_control/faults")).json() == {"faults": []}
    # idempotency keys and records are gone too; ids never repeat
    again = await client.post(STATUSES, json={"status": "m"}, headers=headers)
    assert again.status_code == 200
    assert int(again.json()["id"]) > int(first["id"])
    assert (await client.get(f"{STATUSES}/{first['id']}")).status_code == 404
    assert (await bsky_post(client, alice, "b", rkey="3lbdd2q2ktc2a")).status_code == 200


async def test_reset_one_account(client: httpx.AsyncClient) -> None:
    alice, bob = await login(client, "alice.test"), await login(client, "bob.test")
    keyed = {**mastodon_auth("1"), "Idempotency-Key": "k"}
    first = (await client.post(STATUSES, json={"status": "m1"}, headers=keyed)).json()
    await client.post(STATUSES, json={"status": "m2"}, headers=mastodon_auth("2"))
    await bsky_post(client, alice, "alice", rkey="3lbdd2q2ktc2a")
    await bsky_post(client, bob, "bob")
    await queue(client, "mastodon", "1", "server-error")
    await queue(client, "mastodon", "2", "server-error")

    r = await client.post("/_control/reset", json={"platform": "mastodon", "account": "1"})
    assert r.json() == {"status": "ok", "platform": "mastodon", "account": "1"}
    assert [p["text"] for p in await posts(client)] == ["m2", "alice", "bob"]
    assert (await client.get("/_control/faults")).json()["faults"] == [
        {"platform": "mastodon", "account": "2", "faults": ["server-error"]}
    ]
    assert (await client.get(f"{STATUSES}/{first['id']}")).status_code == 404
    again = await client.post(STATUSES, json={"status": "m1"}, headers=keyed)  # key forgotten: a new status
    assert again.status_code == 200 and int(again.json()["id"]) > int(first["id"])

    # a Bluesky account is named by its handle or its DID; its records go, the other account's stay
    r = await client.post("/_control/reset", json={"platform": "bluesky", "account": "alice.test"})
    assert r.json()["account"] == alice["did"]
    assert [p["text"] for p in await posts(client)] == ["m2", "bob", "m1"]
    assert (await bsky_post(client, alice, "alice", rkey="3lbdd2q2ktc2a")).status_code == 200


@pytest.mark.parametrize(
    "body",
    [{"platform": "pinterest", "account": "1"}, {"platform": "mastodon", "account": ""}, ["mastodon", "1"]],
)
async def test_reset_one_account_rejects_bad_input(client: httpx.AsyncClient, body: Any) -> None:
    await client.post(STATUSES, json={"status": "kept"}, headers=mastodon_auth("1"))
    r = await client.post("/_control/reset", json=body)
    assert r.status_code == 400 and "error" in r.json()
    assert [p["text"] for p in await posts(client)] == ["kept"]


@pytest.mark.parametrize(
    "body",
    [
        {"platform": "pinterest", "account": "1", "fault": "server-error"},
        {"platform": "mastodon", "account": "", "fault": "server-error"},
        {"platform": "mastodon", "account": "1", "fault": "explode"},
        {"platform": "mastodon", "account": "1", "fault": "server-error", "times": 0},
    ],
)
async def test_queue_fault_rejects_bad_input(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    r = await client.post("/_control/faults", json=body)
    assert r.status_code == 400
    assert "error" in r.json()


# ----- queued faults: Mastodon ------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "status", "body", "stored"),
    [
        ("auth-expired", 401, {"error": "The access token is invalid"}, 0),
        ("invalid-content", 422, {"error": "Validation failed: Text contains disallowed content"}, 0),
        ("rate-limited", 429, {"error": "Too many requests"}, 0),
        ("server-error", 503, {"error": "Service Unavailable"}, 0),
        ("server-error-after-commit", 500, None, 1),
    ],
)
async def test_mastodon_queued_fault(
    client: httpx.AsyncClient, fault: str, status: int, body: dict[str, Any] | None, stored: int
) -> None:
    await queue(client, "mastodon", "9", fault)
    r = await client.post(STATUSES, json={"status": "q"}, headers=mastodon_auth("9"))
    assert r.status_code == status
    if body is not None:
        assert r.json() == body
    if fault == "rate-limited":
        assert r.headers["Retry-After"] == "1"
        assert r.headers["X-RateLimit-Remaining"] == "0"
    assert len(await posts(client)) == stored
    r = await client.post(STATUSES, json={"status": "q"}, headers=mastodon_auth("9"))
    assert r.status_code == 200
    assert len(await posts(client)) == stored + 1


async def test_queued_faults_are_per_account_and_consumed_in_order(client: httpx.AsyncClient) -> None:
    await queue(client, "mastodon", "9", "server-error", times=2)
    await queue(client, "mastodon", "9", "rate-limited")
    assert (await client.post(STATUSES, json={"status": "x"}, headers=mastodon_auth("8"))).status_code == 200
    codes = [
        (await client.post(STATUSES, json={"status": "x"}, headers=mastodon_auth("9"))).status_code
        for _ in range(4)
    ]
    assert codes == [503, 503, 429, 200]
    # a Mastodon queue entry does not affect Bluesky
    await queue(client, "mastodon", "9", "server-error")
    alice = await login(client, "alice.test")
    assert (await bsky_post(client, alice, "x")).status_code == 200


async def test_mastodon_server_error_after_commit_then_idempotent_retry(client: httpx.AsyncClient) -> None:
    await queue(client, "mastodon", "9", "server-error-after-commit")
    headers = {**mastodon_auth("9"), "Idempotency-Key": "abc"}
    r = await client.post(STATUSES, json={"status": "q"}, headers=headers)
    assert r.status_code == 500
    listed = await posts(client)
    assert len(listed) == 1
    r = await client.post(STATUSES, json={"status": "q"}, headers=headers)
    assert r.status_code == 200
    assert r.json()["id"] == listed[0]["id"]
    assert len(await posts(client)) == 1


# ----- queued faults: Bluesky -------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "status", "error", "stored"),
    [
        ("auth-expired", 401, "AuthenticationRequired", 0),
        ("invalid-content", 400, "InvalidRequest", 0),
        ("rate-limited", 429, "RateLimitExceeded", 0),
        ("server-error", 500, "InternalServerError", 0),
        ("server-error-after-commit", 500, "InternalServerError", 1),
    ],
)
async def test_bluesky_queued_fault_by_handle(
    client: httpx.AsyncClient, fault: str, status: int, error: str, stored: int
) -> None:
    alice = await login(client, "alice.test")
    await queue(client, "bluesky", "alice.test", fault)
    r = await bsky_post(client, alice, "q", rkey="3lbdd2q2ktc2a")
    assert r.status_code == status
    assert r.json()["error"] == error
    if fault == "rate-limited":
        assert r.headers["ratelimit-remaining"] == "0"
    assert len(await posts(client)) == stored
    r = await bsky_post(client, alice, "q", rkey="3lbdd2q2ktc2a")
    if stored:
        assert r.status_code == 400
        assert "Record already exists" in r.json()["message"]
    else:
        assert r.status_code == 200
    assert len(await posts(client)) == 1


async def test_bluesky_queue_by_did(client: httpx.AsyncClient) -> None:
    alice = await login(client, "alice.test")
    await queue(client, "bluesky", alice["did"], "server-error")
    assert (await bsky_post(client, alice, "q")).status_code == 500
    assert (await bsky_post(client, alice, "q")).status_code == 200


# ----- timeout-after-commit over real HTTP --------------------------------------


async def test_mastodon_timeout_after_commit(live_url: str) -> None:
    account = "7001"
    headers = {**mastodon_auth(account), "Idempotency-Key": "tac-1"}
    text = "slow #sandbox:timeout-after-commit"
    async with httpx.AsyncClient(base_url=live_url, timeout=httpx.Timeout(5.0, read=0.05)) as c:
        with pytest.raises(httpx.ReadTimeout):
            await c.post(STATUSES, json={"status": text}, headers=headers)
        listed = await posts(c, platform="mastodon", account=account)
        assert [p["text"] for p in listed] == [text]
        r = await c.post(STATUSES, json={"status": text}, headers=headers, timeout=2)
        assert r.status_code == 200
        assert r.json()["id"] == listed[0]["id"]
        assert len(await posts(c, platform="mastodon", account=account)) == 1


async def test_mastodon_queued_timeout_after_commit(live_url: str) -> None:
    account = "7002"
    headers = {**mastodon_auth(account), "Idempotency-Key": "tac-2"}
    async with httpx.AsyncClient(base_url=live_url, timeout=2) as c:
        await queue(c, "mastodon", account, "timeout-after-commit")
        with pytest.raises(httpx.ReadTimeout):
            await c.post(
                STATUSES, json={"status": "q"}, headers=headers, timeout=httpx.Timeout(5.0, read=0.05)
            )
        r = await c.post(STATUSES, json={"status": "q"}, headers=headers)
        assert r.status_code == 200
        assert len(await posts(c, platform="mastodon", account=account)) == 1


async def test_bluesky_timeout_after_commit(live_url: str) -> None:
    rkey = "3lbdd2q2ktc2b"
    text = "slow #sandbox:timeout-after-commit@bluesky"
    async with httpx.AsyncClient(base_url=live_url, timeout=2) as c:
        alice = await login(c, "timeout.test")
        with pytest.raises(httpx.ReadTimeout):
            await bsky_post(c, alice, text, rkey=rkey, read_timeout=0.05)
        listed = await posts(c, platform="bluesky", account=alice["did"])
        assert [(p["id"], p["text"]) for p in listed] == [(f"at://{alice['did']}/{POST}/{rkey}", text)]
        r = await bsky_post(c, alice, text, rkey=rkey)
        assert r.status_code == 400
        assert r.json() == {
            "error": "InvalidRequest",
            "message": f"Record already exists at at://{alice['did']}/{POST}/{rkey}",
        }
        got = await c.get(
            f"{XRPC}/com.atproto.repo.getRecord",
            params={"repo": alice["did"], "collection": POST, "rkey": rkey},
        )
        assert got.status_code == 200
        assert got.json()["value"]["text"] == text
        assert len(await posts(c, platform="bluesky", account=alice["did"])) == 1


async def test_mounted_under_sandbox_prefix() -> None:
    parent = Starlette(routes=[Mount("/sandbox", app=create_simulator_app())])
    transport = httpx.ASGITransport(app=parent)
    async with httpx.AsyncClient(transport=transport, base_url="http://host:8000") as c:
        r = await c.post(f"/sandbox{STATUSES}", json={"status": "hi"}, headers=mastodon_auth("3"))
        assert r.status_code == 200
        assert r.json()["url"] == f"http://host:8000/sandbox/mastodon/@user3/{r.json()['id']}"
        r = await c.post(
            f"/sandbox{XRPC}/com.atproto.server.createSession", json={"identifier": "a.test", "password": "p"}
        )
        assert r.status_code == 200
        r = await c.get("/sandbox/_control/posts")
        assert len(r.json()["posts"]) == 1


async def test_request_log(client: httpx.AsyncClient) -> None:
    await client.post(STATUSES, json={"status": "m1"}, headers=mastodon_auth("1"))
    await client.get("/mastodon/api/v2/instance")
    await login(client, "alice.test")
    everything = (await client.get("/_control/requests")).json()["requests"]
    assert [(r["platform"], r["method"], r["path"]) for r in everything] == [
        ("mastodon", "POST", "/api/v1/statuses"),
        ("mastodon", "GET", "/api/v2/instance"),
        ("bluesky", "POST", "/xrpc/com.atproto.server.createSession"),
    ]
    only = (
        await client.get("/_control/requests", params={"platform": "mastodon", "path": "/api/v2/instance"})
    ).json()
    assert len(only["requests"]) == 1


async def test_slow_marker_answers_after_a_while(live_url: str) -> None:
    async with httpx.AsyncClient(base_url=live_url, timeout=5) as c:
        await c.post("/_control/reset")
        started = time.monotonic()
        r = await c.post(STATUSES, json={"status": "big upload #sandbox:slow"}, headers=mastodon_auth("9"))
        assert r.status_code == 200
        assert time.monotonic() - started >= 0.3  # the live app was built with slow_seconds=0.3
        assert [p["text"] for p in await posts(c)] == ["big upload #sandbox:slow"]
