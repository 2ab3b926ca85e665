"""Mastodon adapter against the simulator over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from postpost.platforms.base import Credentials, ErrorCode, PlatformError, PostPart, Published, ReplyTo
from postpost.platforms.mastodon import MastodonAdapter
from postpost.platforms.registry import ADAPTERS, SUPPORTED_PLATFORMS, adapter_for

ACCOUNT = "4242"


def creds(simulator_url: str, account: str = ACCOUNT, **secrets: str) -> Credentials:
    return Credentials(
        account_id=account,
        base_url=f"{simulator_url}/mastodon",
        secrets={"access_token": f"sandbox.{account}.tok", **secrets},
    )


@pytest.fixture
def adapter(http: aiohttp.ClientSession) -> MastodonAdapter:
    return MastodonAdapter(http, timeout=5)


async def publish_error(adapter: MastodonAdapter, c: Credentials, text: str, key: str = "k") -> PlatformError:
    with pytest.raises(PlatformError) as info:
        await adapter.publish(PostPart(text), c, idempotency_key=key)
    return info.value


def test_registry() -> None:
    assert ADAPTERS["mastodon"] is MastodonAdapter
    assert len(SUPPORTED_PLATFORMS) == 10 and "mastodon" in SUPPORTED_PLATFORMS
    with pytest.raises(KeyError):
        adapter_for("twitter", None, timeout=1)  # type: ignore[arg-type]


def test_text_length_counts_urls_as_23() -> None:
    a = MastodonAdapter.__new__(MastodonAdapter)
    assert a.text_length("héllo") == 5
    url = "https://example.com/" + "a" * 100
    assert a.text_length(f"see {url} now") == 4 + 23 + 4
    assert a.text_length("see https://example.com/x.") == 4 + 23 + 1
    assert a.text_length("hi @alice@example.social") == len("hi @alice")
    assert MastodonAdapter.max_text_length == 500 and MastodonAdapter.idempotent_publish is True


async def test_publish_returns_status_and_is_listed(
    adapter: MastodonAdapter, simulator_url: str, sim
) -> None:
    c = creds(simulator_url)
    assert await adapter.prepare(c) is c
    published = await adapter.publish(PostPart("Hello fediverse"), c, idempotency_key="k1")
    assert published.remote_id and published.url and published.remote_id in published.url
    assert sim.posts("mastodon") == [
        {
            "platform": "mastodon",
            "account": ACCOUNT,
            "id": published.remote_id,
            "text": "Hello fediverse",
            "replyTo": None,
        }
    ]


async def test_thread_replies_chain_to_previous(adapter: MastodonAdapter, simulator_url: str, sim) -> None:
    c = creds(simulator_url)
    first = await adapter.publish(PostPart("one"), c, idempotency_key="t1")
    second = await adapter.publish(PostPart("two"), c, idempotency_key="t2", reply_to=ReplyTo(first, first))
    third = await adapter.publish(PostPart("three"), c, idempotency_key="t3", reply_to=ReplyTo(first, second))
    listed = {p["id"]: p["replyTo"] for p in sim.posts("mastodon")}
    assert listed == {
        first.remote_id: None,
        second.remote_id: first.remote_id,
        third.remote_id: second.remote_id,
    }


async def test_same_key_never_duplicates(adapter: MastodonAdapter, simulator_url: str, sim) -> None:
    c = creds(simulator_url)
    a = await adapter.publish(PostPart("once"), c, idempotency_key="same")
    b = await adapter.publish(PostPart("once"), c, idempotency_key="same")
    assert a == b
    assert len(sim.posts("mastodon")) == 1
    assert await adapter.find_published(c, idempotency_key="same") is None


async def test_timeout_after_commit_then_republish_reconciles(
    http: aiohttp.ClientSession, simulator_url: str, sim
) -> None:
    adapter = MastodonAdapter(http, timeout=0.2)
    c = creds(simulator_url)
    sim.fault("mastodon", ACCOUNT, "timeout-after-commit")
    err = await publish_error(adapter, c, "slow post", key="slow")
    assert err.code is ErrorCode.TIMEOUT_ERROR and err.maybe_published and err.retryable
    published = await adapter.publish(PostPart("slow post"), c, idempotency_key="slow")
    posts = sim.posts("mastodon")
    assert [p["id"] for p in posts] == [published.remote_id]


async def test_auth_expired(adapter: MastodonAdapter, simulator_url: str) -> None:
    bad = Credentials(ACCOUNT, f"{simulator_url}/mastodon", {"access_token": "garbage"})
    err = await publish_error(adapter, bad, "hi")
    assert (err.code, err.status, err.refreshable) == (ErrorCode.PLATFORM_AUTH_EXPIRED, 401, False)
    assert err.platform_error == "The access token is invalid"
    with pytest.raises(PlatformError) as info:
        await adapter.refresh(bad)
    assert info.value.code is ErrorCode.PLATFORM_AUTH_EXPIRED
    err = await publish_error(adapter, creds(simulator_url), "hi #sandbox:auth-expired")
    assert err.code is ErrorCode.PLATFORM_AUTH_EXPIRED


async def test_too_long_is_content_too_large(adapter: MastodonAdapter, simulator_url: str, sim) -> None:
    err = await publish_error(adapter, creds(simulator_url), "x" * 501)
    assert (err.code, err.status) == (ErrorCode.CONTENT_TOO_LARGE, 422)
    assert "character limit" in (err.platform_error or "")
    assert sim.posts() == []


async def test_invalid_content(adapter: MastodonAdapter, simulator_url: str, sim) -> None:
    err = await publish_error(adapter, creds(simulator_url), "bad #sandbox:invalid-content")
    assert (err.code, err.status, err.retryable) == (ErrorCode.INVALID_CONTENT, 422, False)
    err = await publish_error(adapter, creds(simulator_url), "   ")
    assert err.code is ErrorCode.INVALID_CONTENT and "blank" in (err.platform_error or "")
    assert sim.posts() == []


async def test_rate_limited_carries_retry_at(adapter: MastodonAdapter, simulator_url: str, sim) -> None:
    c = creds(simulator_url)
    before = datetime.now(UTC)
    err = await publish_error(adapter, c, "hi #sandbox:rate-limit-once", key="rl")
    assert (err.code, err.status) == (ErrorCode.RATE_LIMITED, 429)
    assert err.retry_at is not None and before - timedelta(seconds=1) <= err.retry_at <= before + timedelta(
        seconds=5
    )
    published = await adapter.publish(PostPart("hi #sandbox:rate-limit-once"), c, idempotency_key="rl")
    assert [p["id"] for p in sim.posts()] == [published.remote_id]


async def test_server_errors(adapter: MastodonAdapter, simulator_url: str, sim) -> None:
    c = creds(simulator_url)
    sim.fault("mastodon", ACCOUNT, "server-error")
    err = await publish_error(adapter, c, "x", key="s1")
    assert (err.code, err.status, err.maybe_published) == (ErrorCode.PLATFORM_SERVER_ERROR, 503, True)
    sim.fault("mastodon", ACCOUNT, "server-error-after-commit")
    err = await publish_error(adapter, c, "y", key="s2")
    assert (err.code, err.status) == (ErrorCode.PLATFORM_SERVER_ERROR, 500)
    again = await adapter.publish(PostPart("y"), c, idempotency_key="s2")
    assert [p["id"] for p in sim.posts()] == [again.remote_id]


async def test_unknown_error_for_missing_reply_parent(adapter: MastodonAdapter, simulator_url: str) -> None:
    c = creds(simulator_url)
    ghost = Published("999")
    with pytest.raises(PlatformError) as info:
        await adapter.publish(PostPart("r"), c, idempotency_key="r", reply_to=ReplyTo(ghost, ghost))
    assert (info.value.code, info.value.status) == (ErrorCode.UNKNOWN_ERROR, 404)


async def test_network_error(http: aiohttp.ClientSession) -> None:
    adapter = MastodonAdapter(http, timeout=2)
    dead = Credentials(ACCOUNT, "http://127.0.0.1:9", {"access_token": "sandbox.1.x"})
    err = await publish_error(adapter, dead, "x")
    assert err.code is ErrorCode.NETWORK_ERROR and err.retryable and not err.maybe_published


async def test_check_connection(adapter: MastodonAdapter, simulator_url: str) -> None:
    ok = await adapter.check_connection(creds(simulator_url, scopes="read write"))
    assert ok.ok and ok.username == f"user{ACCOUNT}" and ok.message == f"Connected as user{ACCOUNT}"
    assert list(ok.permissions) == ["read", "write"]
    default = await adapter.check_connection(creds(simulator_url))
    assert list(default.permissions) == ["read", "write", "push"]
    bad = await adapter.check_connection(
        Credentials(ACCOUNT, f"{simulator_url}/mastodon", {"access_token": "x"})
    )
    assert not bad.ok and bad.message == "The access token is invalid"


async def test_text_limit_is_the_instances_own(adapter: MastodonAdapter, simulator_url: str) -> None:
    from postpost.simulator import create_simulator_app
    from tests.conftest import ServerThread

    assert await adapter.text_limit(creds(simulator_url)) == 500
    with ServerThread(create_simulator_app(mastodon_max_characters=1000)) as roomy:
        assert await adapter.text_limit(creds(roomy)) == 1000
        published = await adapter.publish(PostPart("y" * 900), creds(roomy), idempotency_key="long")
        assert published.remote_id


async def test_text_limit_falls_back_to_500_when_the_instance_is_unreachable(
    http: aiohttp.ClientSession,
) -> None:
    adapter = MastodonAdapter(http, timeout=2)
    dead = Credentials(ACCOUNT, "http://127.0.0.1:9", {"access_token": "sandbox.1.x"})
    assert await adapter.text_limit(dead) == 500
