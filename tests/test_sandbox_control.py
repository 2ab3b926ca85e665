"""The sandbox's control routes under `postpost serve`: behind an API key, each user sees only their own.

The server is built by `server.build_server`, as `postpost serve` builds it, and driven over ASGI.
Posts reach the mounted fake platforms the way a worker sends them (the platforms' own APIs).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from postpost.config import Settings
from postpost.db.session import Database
from postpost.sandbox import add_sandbox_connection
from postpost.security import SecretBox
from postpost.server import build_server
from tests.conftest import SECRET, MakeConnection, MakeUser, TestUser

CONTROL = "/sandbox/_control"


@dataclass
class Tenant:
    user: TestUser
    mastodon: str  # raw account ids
    bluesky: str
    handle: str


@pytest.fixture
async def server(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    app = build_server(settings, database)  # ASGITransport runs no lifespan: no workers start
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://serve") as client:
        yield client


@pytest.fixture
def tenant(database: Database, make_user: MakeUser) -> Any:
    async def make() -> Tenant:
        user = await make_user()
        async with database.session() as session:
            box = SecretBox(SECRET.encode())
            mastodon = await add_sandbox_connection(session, box, user.id, "mastodon")
            bluesky = await add_sandbox_connection(session, box, user.id, "bluesky")
            await session.commit()
        return Tenant(user, mastodon.account_id, bluesky.account_id, bluesky.username or "")

    return make


async def toot(server: httpx.AsyncClient, account: str, text: str) -> httpx.Response:
    return await server.post(
        "/sandbox/mastodon/api/v1/statuses",
        json={"status": text},
        headers={"Authorization": f"Bearer sandbox.{account}.token"},
    )


async def skeet(server: httpx.AsyncClient, tenant: Tenant, text: str) -> None:
    xrpc = "/sandbox/bluesky/xrpc"
    login = await server.post(
        f"{xrpc}/com.atproto.server.createSession", json={"identifier": tenant.bluesky, "password": "pw"}
    )
    session = login.json()
    assert session["did"] == tenant.bluesky
    record = {"$type": "app.bsky.feed.post", "text": text, "createdAt": "2026-01-01T00:00:00Z"}
    r = await server.post(
        f"{xrpc}/com.atproto.repo.createRecord",
        json={"repo": session["did"], "collection": "app.bsky.feed.post", "record": record},
        headers={"Authorization": f"Bearer {session['accessJwt']}"},
    )
    assert r.status_code == 200, r.text


async def listed(server: httpx.AsyncClient, user: TestUser, **params: str) -> list[tuple[str, str, str]]:
    r = await server.get(f"{CONTROL}/posts", headers=user.headers, params=params)
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"posts"}
    return [(p["platform"], p["account"], p["text"]) for p in r.json()["posts"]]


async def test_each_user_sees_only_their_own_sandbox_posts(
    server: httpx.AsyncClient, tenant: Any, make_user: MakeUser, make_connection: MakeConnection
) -> None:
    alice, bob = await tenant(), await tenant()
    assert (await toot(server, alice.mastodon, "alice m")).status_code == 200
    await skeet(server, alice, "alice b")
    assert (await toot(server, bob.mastodon, "bob m")).status_code == 200
    await skeet(server, bob, "bob b")

    assert await listed(server, alice.user) == [
        ("mastodon", alice.mastodon, "alice m"),
        ("bluesky", alice.bluesky, "alice b"),
    ]
    assert await listed(server, bob.user) == [
        ("mastodon", bob.mastodon, "bob m"),
        ("bluesky", bob.bluesky, "bob b"),
    ]
    assert await listed(server, alice.user, platform="bluesky") == [("bluesky", alice.bluesky, "alice b")]
    assert await listed(server, alice.user, account=bob.mastodon) == []

    # a user whose only mastodon account is real (same raw id as Alice's sandbox one) sees nothing
    carol = await make_user()
    await make_connection(carol, "mastodon", alice.mastodon)
    assert await listed(server, carol) == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/posts", None),
        ("GET", "/faults", None),
        ("POST", "/faults", {"platform": "mastodon", "account": "1", "fault": "server-error"}),
        ("POST", "/reset", None),
    ],
)
async def test_control_routes_require_a_valid_api_key(
    server: httpx.AsyncClient, tenant: Any, method: str, path: str, body: Any
) -> None:
    alice = await tenant()
    await toot(server, alice.mastodon, "still there")
    r = await server.request(method, f"{CONTROL}{path}", json=body)
    assert (r.status_code, r.json()) == (401, {"error": "API key is required"})
    r = await server.request(method, f"{CONTROL}{path}", json=body, headers={"x-api-key": "sk_nope_0.1"})
    assert (r.status_code, r.json()) == (401, {"error": "Invalid API key"})
    assert await listed(server, alice.user) == [("mastodon", alice.mastodon, "still there")]
    assert (await server.get(f"{CONTROL}/health")).json()["status"] == "ok"


async def test_faults_only_for_own_sandbox_accounts(
    server: httpx.AsyncClient, tenant: Any, make_connection: MakeConnection
) -> None:
    alice, bob = await tenant(), await tenant()
    fault = {"fault": "server-error", "times": 1}

    r = await server.post(
        f"{CONTROL}/faults",
        headers=alice.user.headers,
        json={"platform": "mastodon", "account": bob.mastodon, **fault},
    )
    assert (r.status_code, r.json()) == (404, {"error": "Sandbox account not found"})
    r = await server.post(
        f"{CONTROL}/faults",
        headers=alice.user.headers,
        json={"platform": "bluesky", "account": bob.handle, **fault},
    )
    assert (r.status_code, r.json()) == (404, {"error": "Sandbox account not found"})
    real = await make_connection(alice.user, "mastodon", "777")
    r = await server.post(
        f"{CONTROL}/faults",
        headers=alice.user.headers,
        json={"platform": "mastodon", "account": "777", **fault},
    )
    assert (r.status_code, r.json()) == (403, {"error": f"Not a sandbox account: {real}"})
    r = await server.post(f"{CONTROL}/faults", headers=alice.user.headers, content=b"[1]")
    assert (r.status_code, r.json()) == (400, {"error": "body must be a JSON object"})

    # Her own account (by handle): queued, listed for her only, and it takes effect on her next post.
    r = await server.post(
        f"{CONTROL}/faults",
        headers=alice.user.headers,
        json={"platform": "bluesky", "account": alice.handle, **fault},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"platform": "bluesky", "account": alice.bluesky, "fault": "server-error", "queued": 1}
    mine = (await server.get(f"{CONTROL}/faults", headers=alice.user.headers)).json()
    assert mine == {"faults": [{"platform": "bluesky", "account": alice.bluesky, "faults": ["server-error"]}]}
    assert (await server.get(f"{CONTROL}/faults", headers=bob.user.headers)).json() == {"faults": []}
    r = await server.post(
        f"{CONTROL}/faults",
        headers=alice.user.headers,
        json={"platform": "mastodon", "account": alice.mastodon, **fault},
    )
    assert r.status_code == 200
    assert (await toot(server, alice.mastodon, "fails once")).status_code >= 500
    # Bob's account was never given a fault: his post goes through.
    assert (await toot(server, bob.mastodon, "bob fine")).status_code == 200
    assert await listed(server, bob.user) == [("mastodon", bob.mastodon, "bob fine")]


async def test_reset_forgets_only_the_callers_accounts(server: httpx.AsyncClient, tenant: Any) -> None:
    alice, bob = await tenant(), await tenant()
    await toot(server, alice.mastodon, "alice m")
    await skeet(server, alice, "alice b")
    await toot(server, bob.mastodon, "bob m")

    r = await server.post(
        f"{CONTROL}/reset",
        headers=alice.user.headers,
        json={"platform": "mastodon", "account": alice.mastodon},
    )
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "accounts": [{"platform": "mastodon", "account": alice.mastodon}]}
    assert await listed(server, alice.user) == [("bluesky", alice.bluesky, "alice b")]

    r = await server.post(
        f"{CONTROL}/reset", headers=alice.user.headers, json={"platform": "mastodon", "account": bob.mastodon}
    )
    assert (r.status_code, r.json()) == (404, {"error": "Sandbox account not found"})
    assert await listed(server, bob.user) == [("mastodon", bob.mastodon, "bob m")]

    r = await server.post(f"{CONTROL}/reset", headers=alice.user.headers)
    assert r.status_code == 200
    assert sorted(a["platform"] for a in r.json()["accounts"]) == ["bluesky", "mastodon"]
    assert await listed(server, alice.user) == []
    assert await listed(server, bob.user) == [("mastodon", bob.mastodon, "bob m")]


async def test_no_control_routes_without_sandbox(settings: Settings, database: Database) -> None:
    app = build_server(settings.model_copy(update={"sandbox": False}), database)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://serve") as client:
        r = await client.get(f"{CONTROL}/posts")
    assert (r.status_code, r.json()) == (404, {"error": "Not found"})
