"""Mastodon adapter against the simulator over real HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from postpost.platforms.base import Credentials, ErrorCode, PlatformError, Published, ReplyTo
from postpost.platforms.descriptor import Reconciliation
from postpost.platforms.mastodon import MastodonAdapter
from postpost.platforms.registry import PLATFORM_NAMES, Adapters, adapter_classes
from tests.platforms.conftest import HASTY, creds_of, publish

ACCOUNT = "4242"


def creds(simulator_url: str, account: str = ACCOUNT, **secrets: str) -> Credentials:
    return creds_of(
        account, f"{simulator_url}/mastodon", {"access_token": f"sandbox.{account}.tok", **secrets}
    )


@pytest.fixture
def adapter(http: aiohttp.ClientSession) -> MastodonAdapter:
    return MastodonAdapter(http, timeout=5)


async def publish_error(adapter: MastodonAdapter, c: Credentials, text: str, key: str = "k") -> PlatformError:
    with pytest.raises(PlatformError) as info:
        await publish(adapter, text, c, key)
    return info.value


async def test_registry() -> None:
    assert adapter_classes()["mastodon"] is MastodonAdapter
    assert len(PLATFORM_NAMES) == 10 and "mastodon" in PLATFORM_NAMES
    adapters = Adapters(timeout=1)
    assert adapters.get("pinterest") is None
    assert isinstance(adapters.get("mastodon"), MastodonAdapter)
    await adapters.close()


def test_text_length_counts_urls_as_23() -> None:
    count = MastodonAdapter.descriptor.text.counter
    assert count("héllo") == 5
    url = "https://example.com/" + "a" * 100
    assert count(f"see {url} now") == 4 + 23 + 4
    assert count("see https://example.com/x.") == 4 + 23 + 1
    assert count("hi @alice@example.social") == len("hi @alice")
    described = MastodonAdapter.descriptor
    assert described.text.limit == 500 and described.reconciliation is Reconciliation.IDEMPOTENCY_KEY


async def test_publish_returns_status_and_is_listed(
    adapter: MastodonAdapter, simulator_url: str, sim
) -> None:
    c = creds(simulator_url)
    assert not adapter.needs_refresh(c, datetime.now(UTC))
    published = await publish(adapter, "Hello fediverse", c, "k1")
    assert published.remote_id and published.url and published.remote_id in published.url
    assert sim.posts("mastodon") == [
        {
            "platform": "mastodon",
            "account": ACCOUNT,
            "id": published.remote_id,
            "text": "Hello fediverse",
            "replyTo": None,
            "media": [],
        }
    ]


async def test_thread_replies_chain_to_previous(adapter: MastodonAdapter, simulator_url: str, sim) -> None:
    c = creds(simulator_url)
    first = await publish(adapter, "one", c, "t1")
    second = await publish(adapter, "two", c, "t2", reply_to=ReplyTo(first, first))
    third = await publish(adapter, "three", c, "t3", reply_to=ReplyTo(first, second))
    listed = {p["id"]: p["replyTo"] for p in sim.posts("mastodon")}
    assert listed == {
        first.remote_id: None,
        second.remote_id: first.remote_id,
        third.remote_id: second.remote_id,
    }


async def test_same_key_never_duplicates(adapter: MastodonAdapter, simulator_url: str, sim) -> None:
    c = creds(simulator_url)
    a = await publish(adapter, "once", c, "same")
    b = await publish(adapter, "once", c, "same")
    assert a == b
    assert len(sim.posts("mastodon")) == 1


async def test_timeout_after_commit_then_republish_reconciles(
    http: aiohttp.ClientSession, simulator_url: str, sim
) -> None:
    adapter = MastodonAdapter(http, timeout=HASTY)
    c = creds(simulator_url)
    sim.fault("mastodon", ACCOUNT, "timeout-after-commit")
    err = await publish_error(adapter, c, "slow post", key="slow")
    assert err.code is ErrorCode.TIMEOUT_ERROR and err.maybe_published and err.retryable
    published = await publish(adapter, "slow post", c, "slow")
    posts = sim.posts("mastodon")
    assert [p["id"] for p in posts] == [published.remote_id]


async def test_auth_expired(adapter: MastodonAdapter, simulator_url: str) -> None:
    bad = creds_of(ACCOUNT, f"{simulator_url}/mastodon", {"access_token": "garbage"})
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
    published = await publish(adapter, "hi #sandbox:rate-limit-once", c, "rl")
    assert [p["id"] for p in sim.posts()] == [published.remote_id]


async def test_server_errors(adapter: MastodonAdapter, simulator_url: str, sim) -> None:
    c = creds(simulator_url)
    sim.fault("mastodon", ACCOUNT, "server-error")
    err = await publish_error(adapter, c, "x", key="s1")
    assert (err.code, err.status, err.maybe_published) == (ErrorCode.PLATFORM_SERVER_ERROR, 503, True)
    sim.fault("mastodon", ACCOUNT, "server-error-after-commit")
    err = await publish_error(adapter, c, "y", key="s2")
    assert (err.code, err.status) == (ErrorCode.PLATFORM_SERVER_ERROR, 500)
    again = await publish(adapter, "y", c, "s2")
    assert [p["id"] for p in sim.posts()] == [again.remote_id]


async def test_unknown_error_for_missing_reply_parent(adapter: MastodonAdapter, simulator_url: str) -> None:
    c = creds(simulator_url)
    ghost = Published("999")
    with pytest.raises(PlatformError) as info:
        await publish(adapter, "r", c, "r", reply_to=ReplyTo(ghost, ghost))
    assert (info.value.code, info.value.status) == (ErrorCode.UNKNOWN_ERROR, 404)


async def test_network_error(http: aiohttp.ClientSession) -> None:
    adapter = MastodonAdapter(http, timeout=2)
    dead = creds_of(ACCOUNT, "http://127.0.0.1:9", {"access_token": "sandbox.1.x"})
    err = await publish_error(adapter, dead, "x")
    assert err.code is ErrorCode.NETWORK_ERROR and err.retryable and not err.maybe_published


async def test_check_connection(adapter: MastodonAdapter, simulator_url: str) -> None:
    ok = await adapter.check_connection(creds(simulator_url, scopes="read write"))
    assert ok.ok and ok.username == f"user{ACCOUNT}" and ok.message == f"Connected as user{ACCOUNT}"
    assert list(ok.permissions) == ["read", "write"]
    default = await adapter.check_connection(creds(simulator_url))
    assert list(default.permissions) == ["read", "write", "push"]
    bad = await adapter.check_connection(
        creds_of(ACCOUNT, f"{simulator_url}/mastodon", {"access_token": "x"})
    )
    assert not bad.ok and bad.message == "The access token is invalid"


async def test_text_limit_is_the_instances_own(adapter: MastodonAdapter, simulator_url: str) -> None:
    from postpost.simulator import create_simulator_app
    from tests.conftest import ServerThread

    assert await adapter.text_limit(creds(simulator_url)) == 500
    with ServerThread(create_simulator_app(options={"mastodon": {"max_characters": 1000}})) as roomy:
        assert await adapter.text_limit(creds(roomy)) == 1000
        published = await publish(adapter, "y" * 900, creds(roomy), "long")
        assert published.remote_id


async def test_text_limit_falls_back_to_500_when_the_instance_is_unreachable(
    http: aiohttp.ClientSession,
) -> None:
    adapter = MastodonAdapter(http, timeout=2)
    dead = creds_of(ACCOUNT, "http://127.0.0.1:9", {"access_token": "sandbox.1.x"})
    assert await adapter.text_limit(dead) == 500
