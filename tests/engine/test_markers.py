"""Sandbox markers end to end: each outcome, on both platforms, and the `@platform` form."""

from __future__ import annotations

import re

import pytest

PLATFORMS = ["mastodon", "bluesky"]
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


async def one_post(engine, platform, content):
    user = await engine.user()
    pid = await engine.sandbox(user, platform)
    group_id = await engine.create(user, content, [pid])
    got = await engine.wait_finished(user, group_id, 20.0)
    return user, pid, group_id, got


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_auth_expired_fails_without_retry(engine, platform):
    user, pid, group_id, got = await one_post(engine, platform, "expired token #sandbox:auth-expired")
    assert got["status"] == "failed"
    assert got["processingStatus"] == "finished"
    [post] = got["posts"]
    assert post["status"] == "failed"
    assert "postedId" not in post
    error = post["error"]
    assert list(error) == ["code", "message", "platformStatusCode", "platformError", "failedAt", "retryable"]
    assert error["code"] == "PLATFORM_AUTH_EXPIRED"
    assert error["platformStatusCode"] == 401
    assert error["retryable"] is False
    assert isinstance(error["message"], str) and error["message"]
    assert ISO.match(error["failedAt"])
    assert await engine.sent() == []
    connection = await engine.connection(user, pid)
    assert connection["lastError"] is not None
    assert connection["lastError"]["message"]
    assert ISO.match(connection["lastError"]["occurredAt"])
    assert connection["lastSuccessfulPost"] is None
    logs = await engine.logs(user, group_id)
    failed = [entry for entry in logs if entry["event"] == "publish_failed"]
    assert len(failed) == 1
    assert failed[0]["httpStatus"] == 401
    assert failed[0]["metadata"]["errorCode"] == "PLATFORM_AUTH_EXPIRED"
    assert failed[0]["metadata"]["retryable"] is False
    assert "retryCount" not in failed[0]
    assert not any(entry["event"] == "publish_succeeded" for entry in logs)


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_invalid_content_fails(engine, platform):
    _user, _pid, _group_id, got = await one_post(engine, platform, "bad words #sandbox:invalid-content")
    assert got["status"] == "failed"
    [post] = got["posts"]
    assert post["error"]["code"] == "INVALID_CONTENT"
    assert post["error"]["retryable"] is False
    assert post["error"]["platformStatusCode"] in (400, 422)
    assert await engine.sent() == []


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_rate_limit_once_then_published(engine, platform):
    user, _pid, group_id, got = await one_post(engine, platform, "slow down #sandbox:rate-limit-once")
    assert got["status"] == "published"
    [post] = got["posts"]
    assert "error" not in post
    sent = await engine.sent()
    assert len(sent) == 1
    assert post["postedId"] == sent[0]["id"]
    logs = await engine.logs(user, group_id)
    events = [
        (entry["event"], entry.get("metadata", {}).get("errorCode"))
        for entry in logs
        if entry["event"] in ("publish_failed", "publish_succeeded")
    ]
    assert events == [("publish_failed", "RATE_LIMITED"), ("publish_succeeded", None)]
    failed = next(entry for entry in logs if entry["event"] == "publish_failed")
    assert failed["httpStatus"] == 429
    assert failed["metadata"]["retryable"] is True
    succeeded = next(entry for entry in logs if entry["event"] == "publish_succeeded")
    assert succeeded["retryCount"] == 1


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_server_error_once_then_published_once(engine, platform):
    user, _pid, group_id, got = await one_post(engine, platform, "flaky #sandbox:server-error-once")
    assert got["status"] == "published"
    sent = await engine.sent()
    assert len(sent) == 1
    assert got["posts"][0]["postedId"] == sent[0]["id"]
    assert "error" not in got["posts"][0]
    codes = [
        entry["metadata"]["errorCode"]
        for entry in await engine.logs(user, group_id)
        if entry["event"] == "publish_failed"
    ]
    assert codes == ["PLATFORM_SERVER_ERROR"]


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_timeout_after_commit_is_published_exactly_once(engine, platform):
    """The platform stores the post but the answer never arrives: reconcile, never publish twice."""
    user, _pid, group_id, got = await one_post(engine, platform, "lost answer #sandbox:timeout-after-commit")
    assert got["status"] == "published"
    sent = await engine.sent()
    assert len(sent) == 1, sent
    assert got["posts"][0]["postedId"] == sent[0]["id"]
    assert "error" not in got["posts"][0]
    codes = [
        entry["metadata"]["errorCode"]
        for entry in await engine.logs(user, group_id)
        if entry["event"] == "publish_failed"
    ]
    assert codes == ["TIMEOUT_ERROR"]


@pytest.mark.parametrize("target", PLATFORMS)
async def test_marker_for_one_platform_gives_a_partial_group(engine, target):
    user = await engine.user()
    pids = {p: await engine.sandbox(user, p) for p in PLATFORMS}
    content = f"only one fails #sandbox:auth-expired@{target}"
    group_id = await engine.create(user, content, list(pids.values()))
    got = await engine.wait_finished(user, group_id, 20.0)
    assert got["status"] == "partially_published"
    assert got["processingStatus"] == "finished"
    by_platform = {p["platform"]: p for p in got["posts"]}
    other = next(p for p in PLATFORMS if p != target)
    assert by_platform[target]["status"] == "failed"
    assert by_platform[target]["error"]["code"] == "PLATFORM_AUTH_EXPIRED"
    assert by_platform[other]["status"] == "published"
    assert "error" not in by_platform[other]
    sent = await engine.sent()
    assert [s["platform"] for s in sent] == [other]
    assert by_platform[other]["postedId"] == sent[0]["id"]
    assert (await engine.connection(user, pids[target]))["lastError"] is not None
    assert (await engine.connection(user, pids[other]))["lastError"] is None
    assert (await engine.connection(user, pids[other]))["lastSuccessfulPost"] is not None


async def test_all_platforms_failing_gives_a_failed_group(engine):
    user = await engine.user()
    pids = [await engine.sandbox(user, p) for p in PLATFORMS]
    group_id = await engine.create(user, "nobody takes it #sandbox:invalid-content", pids)
    got = await engine.wait_finished(user, group_id, 20.0)
    assert got["status"] == "failed"
    assert [p["error"]["code"] for p in got["posts"]] == ["INVALID_CONTENT", "INVALID_CONTENT"]
