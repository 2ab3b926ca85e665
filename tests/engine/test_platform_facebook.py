"""Facebook Pages end to end: through the API and the engine to the fake, on both database engines."""

from __future__ import annotations

from typing import Any

import pytest
import pytest_asyncio

from tests.engine.conftest import Harness

PATIENT = 3.0  # seconds per platform call: a loaded machine must not add timeouts to what is asserted


@pytest_asyncio.fixture
async def engine(harness: Harness) -> Harness:
    """One worker whose platform calls may take a while; `hasty` keeps the short timeout."""
    harness.settings = harness.settings.model_copy(update={"platform_timeout_seconds": PATIENT})
    harness.start_workers(1)
    return harness


@pytest_asyncio.fixture
async def hasty(harness: Harness) -> Harness:
    """One worker with the harness's platform timeout, which gives up under the fake's stall."""
    harness.start_workers(1)
    return harness


async def one_post(engine: Harness, content: str) -> tuple[Any, str, str, dict[str, Any]]:
    user = await engine.user()
    pid = await engine.sandbox(user, "facebook")
    group_id = await engine.create(user, content, [pid])
    return user, pid, group_id, await engine.wait_finished(user, group_id, 10.0)


async def failures(engine: Harness, user: Any, group_id: str) -> list[str]:
    logs = await engine.logs(user, group_id)
    return [e["metadata"]["errorCode"] for e in logs if e["event"] == "publish_failed"]


async def test_text_post_with_a_link(engine: Harness) -> None:
    _user, pid, _group, got = await one_post(engine, "Our news: https://example.com/news")
    assert got["status"] == "published"
    [sent] = await engine.sent()
    assert (sent["platform"], sent["account"], sent["text"]) == (
        "facebook",
        pid.split("-", 1)[1],
        "Our news: https://example.com/news",
    )
    assert got["posts"][0]["postedId"] == sent["id"]


async def test_long_content_is_refused_at_create(engine: Harness) -> None:
    user = await engine.user()
    pid = await engine.sandbox(user, "facebook")
    r = await engine.client.post(
        "/api/v1/create-post", headers=user.headers, json={"content": "x" * 63207, "platforms": [pid]}
    )
    assert r.status_code == 400
    assert r.json()["error"] == (
        "Content is too long for Facebook: 63207 characters, the limit is 63206 "
        "(Facebook does not split long posts into a thread)"
    )


async def test_the_same_text_twice_fails_the_second(engine: Harness) -> None:
    user = await engine.user()
    pid = await engine.sandbox(user, "facebook")
    first = await engine.create(user, "twice", [pid])
    assert (await engine.wait_finished(user, first, 10.0))["status"] == "published"
    second = await engine.create(user, "twice", [pid])
    got = await engine.wait_finished(user, second, 10.0)
    error = got["posts"][0]["error"]
    assert (error["code"], error["platformError"], error["retryable"]) == (
        "INVALID_CONTENT",
        "(#506) Duplicate status message",
        False,
    )
    assert len(await engine.sent()) == 1


@pytest.mark.parametrize(
    ("marker", "code"), [("auth-expired", "PLATFORM_AUTH_EXPIRED"), ("invalid-content", "INVALID_CONTENT")]
)
async def test_refusals(engine: Harness, marker: str, code: str) -> None:
    user, pid, group_id, got = await one_post(engine, f"no #sandbox:{marker}")
    assert got["status"] == "failed"
    error = got["posts"][0]["error"]
    assert (error["code"], error["platformStatusCode"], error["retryable"]) == (code, 400, False)
    assert await engine.sent() == []
    assert await failures(engine, user, group_id) == [code]
    assert (await engine.connection(user, pid))["lastError"] is not None


@pytest.mark.parametrize(
    ("marker", "code"),
    [
        ("rate-limit-once", "RATE_LIMITED"),
        ("server-error-once", "PLATFORM_SERVER_ERROR"),
        ("server-error-after-commit", "PLATFORM_SERVER_ERROR"),
    ],
)
async def test_transient_failures_publish_exactly_once(engine: Harness, marker: str, code: str) -> None:
    user, _pid, group_id, got = await one_post(engine, f"once #sandbox:{marker}")
    assert got["status"] == "published", got
    [sent] = await engine.sent()
    assert got["posts"][0]["postedId"] == sent["id"]
    assert await failures(engine, user, group_id) == [code]


async def test_lost_answer_is_reconciled_not_sent_again(hasty: Harness) -> None:
    """The fake stores the post but its answer stalls past the timeout: found, never sent twice."""
    user, _pid, group_id, got = await one_post(hasty, "once #sandbox:timeout-after-commit")
    assert got["status"] == "published", got
    [sent] = await hasty.sent()
    assert got["posts"][0]["postedId"] == sent["id"]
    codes = await failures(hasty, user, group_id)
    assert codes and set(codes) == {"TIMEOUT_ERROR"}
    reconciled = [e for e in await hasty.logs(user, group_id) if e.get("metadata", {}).get("reconciled")]
    assert len(reconciled) == 1


async def test_slow_answer_within_the_timeout(harness: Harness) -> None:
    harness.settings = harness.settings.model_copy(update={"platform_timeout_seconds": 10.0})
    harness.start_workers(1)
    user, _pid, group_id, got = await one_post(harness, "patience #sandbox:slow")
    assert got["status"] == "published"
    assert len(await harness.sent()) == 1 and await failures(harness, user, group_id) == []


async def test_one_group_to_three_platforms_with_a_marker_for_facebook(engine: Harness) -> None:
    user = await engine.user()
    pids = [await engine.sandbox(user, p) for p in ("facebook", "threads", "mastodon")]
    group_id = await engine.create(user, "everywhere but Facebook #sandbox:invalid-content@facebook", pids)
    got = await engine.wait_finished(user, group_id, 10.0)
    assert got["status"] == "partially_published"
    assert {p["platform"]: p["status"] for p in got["posts"]} == {
        "facebook": "failed",
        "threads": "published",
        "mastodon": "published",
    }
    assert sorted(s["platform"] for s in await engine.sent()) == ["mastodon", "threads"]


async def test_test_connection(engine: Harness) -> None:
    user = await engine.user()
    pid = await engine.sandbox(user, "facebook")
    r = await engine.client.post(f"/api/v1/test-connection/{pid}", headers=user.headers)
    body = r.json()
    assert (body["status"], body["username"]) == ("ok", f"Sandbox Page {pid[-4:]}")
    assert "pages_manage_posts" in body["permissions"]
