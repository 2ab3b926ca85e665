"""Bluesky adapter against the simulator over real HTTP."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from postpost.platforms.base import Credentials, ErrorCode, PlatformError, Published, ReplyTo
from postpost.platforms.bluesky import TID_ALPHABET, BlueskyAdapter, jwt_expiry, rkey_for
from postpost.platforms.registry import Adapters, adapter_classes
from tests.platforms.conftest import HASTY, creds_of, find, publish, ready

HANDLE = "alice.test"


def fake_jwt(exp: float) -> str:
    """A JWT-shaped token the simulator will not accept (bad signature) with the given exp."""

    def enc(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{enc({'alg': 'HS256'})}.{enc({'exp': int(exp), 'scope': 'com.atproto.access'})}.c2ln"


def base_creds(simulator_url: str, **secrets: str) -> Credentials:
    return creds_of(
        "",
        f"{simulator_url}/bluesky",
        {"identifier": HANDLE, "app_password": "aaaa-bbbb-cccc-dddd", **secrets},
    )


@pytest.fixture
def adapter(http: aiohttp.ClientSession) -> BlueskyAdapter:
    return BlueskyAdapter(http, timeout=5)


@pytest.fixture
async def creds(adapter: BlueskyAdapter, simulator_url: str) -> Credentials:
    return await ready(adapter, base_creds(simulator_url))


async def publish_error(adapter: BlueskyAdapter, c: Credentials, text: str, key: str = "k") -> PlatformError:
    with pytest.raises(PlatformError) as info:
        await publish(adapter, text, c, key)
    return info.value


async def test_registry_and_lengths() -> None:
    assert adapter_classes()["bluesky"] is BlueskyAdapter
    adapters = Adapters(timeout=3)
    a = adapters.get("bluesky")
    assert isinstance(a, BlueskyAdapter) and a.timeout.total == 3
    await adapters.close()
    text = BlueskyAdapter.descriptor.text
    assert text.counter("👨\u200d👩\u200d👧 hé") == 4
    assert (text.limit, text.max_bytes, text.threads) == (300, 3000, True)


def test_rkey_is_a_stable_valid_tid() -> None:
    keys = [rkey_for(f"key-{i}") for i in range(200)]
    assert rkey_for("key-1") == keys[1]
    assert len(set(keys)) == 200
    for k in keys:
        assert len(k) == 13 and set(k) <= set(TID_ALPHABET) and k[0] in TID_ALPHABET[:16]


async def test_prepare_logs_in_and_reuses_session(adapter: BlueskyAdapter, simulator_url: str) -> None:
    c = await ready(adapter, base_creds(simulator_url))
    assert c.account_id.startswith("did:plc:") and c.username == HANDLE
    exp = jwt_expiry(c.secrets["access_jwt"])
    assert exp is not None and exp > time.time() + 3600
    assert c.secrets["app_password"] == "aaaa-bbbb-cccc-dddd"
    assert await ready(adapter, c) is c


async def test_prepare_refreshes_an_expiring_token_and_rotates(
    adapter: BlueskyAdapter, creds: Credentials, http: aiohttp.ClientSession
) -> None:
    stale = creds_of(
        creds.account_id,
        creds.base_url,
        {**creds.secrets, "access_jwt": fake_jwt(time.time() + 30)},
        creds.username,
    )
    fresh = await ready(adapter, stale)
    assert fresh is not stale
    assert fresh.secrets["refresh_jwt"] != creds.secrets["refresh_jwt"]  # rotated
    assert fresh.secrets["access_jwt"] != stale.secrets["access_jwt"]
    # the old refresh token is now revoked by the PDS
    async with http.post(
        f"{creds.base_url}/xrpc/com.atproto.server.refreshSession",
        headers={"Authorization": f"Bearer {creds.secrets['refresh_jwt']}"},
    ) as resp:
        assert resp.status == 400 and (await resp.json())["error"] == "ExpiredToken"
    await publish(adapter, "after refresh", fresh, "r")


async def test_rejected_token_is_refreshable_and_refresh_fixes_it(
    adapter: BlueskyAdapter, creds: Credentials, sim
) -> None:
    forged = creds_of(
        creds.account_id,
        creds.base_url,
        {**creds.secrets, "access_jwt": fake_jwt(time.time() + 3600)},
        creds.username,
    )
    assert await ready(adapter, forged) is forged  # looks valid locally
    err = await publish_error(adapter, forged, "hello")
    assert (err.code, err.status, err.refreshable) == (ErrorCode.PLATFORM_AUTH_EXPIRED, 401, True)
    refreshed = await adapter.refresh(forged)
    await publish(adapter, "hello", refreshed, "k")
    assert [p["text"] for p in sim.posts("bluesky")] == ["hello"]


async def test_refresh_falls_back_to_login_then_fails(adapter: BlueskyAdapter, creds: Credentials) -> None:
    broken = creds_of(
        creds.account_id,
        creds.base_url,
        {**creds.secrets, "refresh_jwt": fake_jwt(time.time() + 10**6)},
        creds.username,
    )
    relogged = await adapter.refresh(broken)
    assert jwt_expiry(relogged.secrets["refresh_jwt"]) is not None
    hopeless = creds_of(
        creds.account_id, creds.base_url, {"identifier": HANDLE, "app_password": "", "refresh_jwt": "x.y.z"}
    )
    with pytest.raises(PlatformError) as info:
        await adapter.refresh(hopeless)
    assert info.value.code is ErrorCode.PLATFORM_AUTH_EXPIRED and not info.value.refreshable


async def test_publish_thread_with_reply_refs(adapter: BlueskyAdapter, creds: Credentials, sim) -> None:
    first = await publish(adapter, "root post", creds, "t1")
    assert first.remote_id == f"at://{creds.account_id}/app.bsky.feed.post/{rkey_for('t1')}"
    assert first.url == f"https://bsky.app/profile/{creds.account_id}/post/{rkey_for('t1')}"
    assert first.ref["uri"] == first.remote_id and first.ref["cid"]
    second = await publish(adapter, "reply", creds, "t2", reply_to=ReplyTo(first, first))
    # a parent known only by its URI still works: the adapter reads its cid
    third = await publish(
        adapter, "reply 2", creds, "t3", reply_to=ReplyTo(first, Published(second.remote_id))
    )
    listed = {p["id"]: p["replyTo"] for p in sim.posts("bluesky")}
    assert listed == {
        first.remote_id: None,
        second.remote_id: first.remote_id,
        third.remote_id: second.remote_id,
    }


async def test_same_key_twice_creates_one_record(adapter: BlueskyAdapter, creds: Credentials, sim) -> None:
    a = await publish(adapter, "only once", creds, "dup")
    b = await publish(adapter, "only once", creds, "dup")
    assert a.remote_id == b.remote_id and a.ref == b.ref
    assert len(sim.posts("bluesky")) == 1


async def test_timeout_after_commit_then_find_published(
    http: aiohttp.ClientSession, creds: Credentials, sim
) -> None:
    adapter = BlueskyAdapter(http, timeout=HASTY)
    assert await find(adapter, creds, "slow") is None
    err = await publish_error(adapter, creds, "slow #sandbox:timeout-after-commit", key="slow")
    assert err.code is ErrorCode.TIMEOUT_ERROR and err.maybe_published
    found = await find(adapter, creds, "slow")
    assert found is not None and found.remote_id.endswith(rkey_for("slow")) and found.ref["cid"]
    assert [p["id"] for p in sim.posts("bluesky")] == [found.remote_id]


async def test_server_error_after_commit(adapter: BlueskyAdapter, creds: Credentials, sim) -> None:
    sim.fault("bluesky", creds.account_id, "server-error-after-commit")
    err = await publish_error(adapter, creds, "x", key="s")
    assert (err.code, err.status, err.maybe_published) == (ErrorCode.PLATFORM_SERVER_ERROR, 500, True)
    again = await publish(adapter, "x", creds, "s")  # already exists -> found
    assert [p["id"] for p in sim.posts("bluesky")] == [again.remote_id]


async def test_server_error_before_commit(adapter: BlueskyAdapter, creds: Credentials, sim) -> None:
    err = await publish_error(adapter, creds, "x #sandbox:server-error-once", key="s")
    assert err.code is ErrorCode.PLATFORM_SERVER_ERROR and err.retryable
    assert await find(adapter, creds, "s") is None
    await publish(adapter, "x #sandbox:server-error-once", creds, "s")
    assert len(sim.posts("bluesky")) == 1


async def test_rate_limited(adapter: BlueskyAdapter, creds: Credentials) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    sim_err = await publish_error(adapter, creds, "x #sandbox:rate-limit-once")
    assert (sim_err.code, sim_err.status) == (ErrorCode.RATE_LIMITED, 429)
    assert sim_err.retry_at is not None
    assert before <= sim_err.retry_at <= before + timedelta(seconds=3)


async def test_content_errors(adapter: BlueskyAdapter, creds: Credentials, sim) -> None:
    err = await publish_error(adapter, creds, "é" * 301)
    assert (err.code, err.status) == (ErrorCode.CONTENT_TOO_LARGE, 400)
    assert "longer than" in (err.platform_error or "")
    err = await publish_error(adapter, creds, "nope #sandbox:invalid-content")
    assert (err.code, err.status, err.retryable) == (ErrorCode.INVALID_CONTENT, 400, False)
    err = await publish_error(adapter, creds, "nope #sandbox:auth-expired")
    assert err.code is ErrorCode.PLATFORM_AUTH_EXPIRED and err.refreshable
    assert sim.posts() == []


async def test_facets_use_utf8_byte_offsets(
    adapter: BlueskyAdapter, creds: Credentials, simulator_url: str, http: aiohttp.ClientSession
) -> None:
    text = "🎉 Launch! https://example.com/path?q=1. Read it #release, not https://x.io/#nottag @bob.test"
    published = await publish(adapter, text, creds, "f")
    async with http.get(
        f"{simulator_url}/bluesky/xrpc/com.atproto.repo.getRecord",
        params={
            "repo": creds.account_id,
            "collection": "app.bsky.feed.post",
            "rkey": published.remote_id.rsplit("/", 1)[-1],
        },
    ) as resp:
        record = (await resp.json())["value"]
    raw = text.encode()
    got = [
        (raw[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode(), f["features"][0])
        for f in record["facets"]
    ]
    assert got == [
        (
            "https://example.com/path?q=1",
            {"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/path?q=1"},
        ),
        ("#release", {"$type": "app.bsky.richtext.facet#tag", "tag": "release"}),
        ("https://x.io/#nottag", {"$type": "app.bsky.richtext.facet#link", "uri": "https://x.io/#nottag"}),
    ]  # the mention is skipped: the sandbox cannot resolve handles
    first = record["facets"][0]["index"]
    assert first == {"byteStart": len("🎉 Launch! ".encode()), "byteEnd": len("🎉 Launch! ".encode()) + 28}
    assert first["byteStart"] == 13  # 4-byte emoji: a code point index would say 10


async def test_mention_facet_when_handle_resolves(
    adapter: BlueskyAdapter, creds: Credentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def resolve(_creds: Credentials, handle: str) -> str | None:
        return "did:plc:bob" if handle == "bob.test" else None

    monkeypatch.setattr(adapter, "_resolve_handle", resolve)
    text = "héllo @bob.test and @nobody.test"
    facets = await adapter.facets(text, creds)
    assert facets == [
        {
            "index": {"byteStart": 7, "byteEnd": 16},
            "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:bob"}],
        }
    ]


async def test_network_error_and_check_connection(
    adapter: BlueskyAdapter, simulator_url: str, creds: Credentials
) -> None:
    ok = await adapter.check_connection(creds)
    assert ok.ok and ok.username == HANDLE and ok.message == f"Connected as {HANDLE}"
    assert list(ok.permissions) == ["atproto"]
    with pytest.raises(PlatformError) as info:  # no session yet: the caller refreshes, then checks
        await adapter.check_connection(base_creds(simulator_url))
    assert info.value.refreshable
    with pytest.raises(PlatformError):
        await adapter.refresh(base_creds(simulator_url, app_password=""))
    dead = creds_of(creds.account_id, "http://127.0.0.1:9", creds.secrets)
    err = await publish_error(adapter, dead, "x")
    assert err.code is ErrorCode.NETWORK_ERROR and not err.maybe_published
