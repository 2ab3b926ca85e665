"""Threads end to end: through the API and the engine to the fake, on both database engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import update

from postpost.db.models import Connection
from postpost.platforms.text import ThreadsLength
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


COUNT = ThreadsLength()


async def one_post(engine: Harness, content: str, **body: Any) -> tuple[Any, str, str, dict[str, Any]]:
    user = await engine.user()
    pid = await engine.sandbox(user, "threads")
    if body:
        r = await engine.client.post(
            "/api/v1/create-post",
            headers=user.headers,
            json={"content": content, "platforms": [pid], "scheduledTime": iso_now(), **body},
        )
        assert r.status_code == 200, r.text
        group_id = str(r.json()["postGroupId"])
    else:
        group_id = await engine.create(user, content, [pid])
    got = await engine.wait_finished(user, group_id, 10.0)
    return user, pid, group_id, got


def iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def failures(engine: Harness, user: Any, group_id: str) -> list[str]:
    return [
        entry["metadata"]["errorCode"]
        for entry in await engine.logs(user, group_id)
        if entry["event"] == "publish_failed"
    ]


async def test_text_post(engine: Harness) -> None:
    _user, _pid, _group, got = await one_post(engine, "Hello from postpost to Threads")
    assert got["status"] == "published"
    [post] = got["posts"]
    [sent] = await engine.sent()
    assert (sent["platform"], sent["text"], sent["replyTo"], sent["media"]) == (
        "threads",
        "Hello from postpost to Threads",
        None,
        [],
    )
    assert post["postedId"] == sent["id"] and "error" not in post


async def test_long_content_becomes_a_reply_chain(engine: Harness) -> None:
    content = " ".join(f"word{i:03d}🎉" for i in range(90))  # 12 Threads characters a word
    assert COUNT(content) > 1000
    _user, _pid, _group, got = await one_post(engine, content)
    assert got["status"] == "published"
    sent = await engine.sent()
    assert len(sent) == len(got["posts"]) == 3
    assert [p["postedId"] for p in got["posts"]] == [s["id"] for s in sent]
    assert sent[0]["replyTo"] is None
    assert [s["replyTo"] for s in sent[1:]] == [s["id"] for s in sent[:-1]]
    assert all(COUNT(s["text"]) <= 500 for s in sent)
    assert [s["text"][-6:] for s in sent] == [" (1/3)", " (2/3)", " (3/3)"]


async def test_separators_and_a_failing_middle_part(engine: Harness) -> None:
    content = "first\n---\nsecond #sandbox:invalid-content\n---\nthird"
    _user, _pid, _group, got = await one_post(engine, content)
    assert got["status"] == "partially_published"
    assert [p["status"] for p in got["posts"]] == ["published", "failed", "failed"]
    assert got["posts"][1]["error"]["code"] == "INVALID_CONTENT"
    assert [s["text"] for s in await engine.sent()] == ["first"]


async def test_reply_control_setting(engine: Harness) -> None:
    body = {"platformSettings": {"threads": {"replyControl": "accounts_you_follow"}}}
    user, pid, _group, got = await one_post(engine, "only people I follow", **body)
    assert got["status"] == "published"
    media_id = got["posts"][0]["postedId"]
    account = pid.split("-", 1)[1]
    async with httpx.AsyncClient(base_url=engine.simulator) as sim:
        r = await sim.get(
            f"/threads/v1.0/{media_id}",
            params={"fields": "reply_audience", "access_token": f"sandbox.{account}.x"},
        )
    assert r.json()["reply_audience"] == "ACCOUNTS_YOU_FOLLOW"
    r = await engine.client.post(
        "/api/v1/create-post",
        headers=user.headers,
        json={
            "content": "x",
            "platforms": [pid],
            "platformSettings": {"threads": {"replyControl": "nobody"}},
        },
    )
    assert r.status_code == 400
    assert r.json()["error"] == (
        "Invalid platformSettings.threads.replyControl: must be one of: '', everyone, accounts_you_follow, "
        "mentioned_only"
    )


@pytest.mark.parametrize(
    ("marker", "code", "status"),
    [("auth-expired", "PLATFORM_AUTH_EXPIRED", 400), ("invalid-content", "INVALID_CONTENT", 400)],
)
async def test_refusals(engine: Harness, marker: str, code: str, status: int) -> None:
    user, pid, group_id, got = await one_post(engine, f"refused #sandbox:{marker}")
    assert got["status"] == "failed"
    error = got["posts"][0]["error"]
    assert (error["code"], error["platformStatusCode"], error["retryable"]) == (code, status, False)
    assert error["platformError"]
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
    user, _pid, group_id, got = await one_post(engine, f"once only #sandbox:{marker}")
    assert got["status"] == "published", got
    [sent] = await engine.sent()
    assert got["posts"][0]["postedId"] == sent["id"]
    assert await failures(engine, user, group_id) == [code]
    events = [e["event"] for e in await engine.logs(user, group_id)]
    assert events.count("publish_succeeded") == 1


async def test_lost_answer_is_reconciled_not_sent_again(hasty: Harness) -> None:
    """The fake stores the post but its answer stalls past the timeout: found, never sent twice."""
    user, _pid, group_id, got = await one_post(hasty, "once only #sandbox:timeout-after-commit")
    assert got["status"] == "published", got
    [sent] = await hasty.sent()
    assert got["posts"][0]["postedId"] == sent["id"]
    codes = await failures(hasty, user, group_id)
    assert codes and set(codes) == {"TIMEOUT_ERROR"}
    reconciled = [e for e in await hasty.logs(user, group_id) if e.get("metadata", {}).get("reconciled")]
    assert len(reconciled) == 1


async def test_marker_for_threads_only(engine: Harness) -> None:
    user = await engine.user()
    pids = [await engine.sandbox(user, "threads"), await engine.sandbox(user, "mastodon")]
    group_id = await engine.create(user, "threads says no #sandbox:auth-expired@threads", pids)
    got = await engine.wait_finished(user, group_id, 10.0)
    assert got["status"] == "partially_published"
    assert {p["platform"]: p["status"] for p in got["posts"]} == {
        "threads": "failed",
        "mastodon": "published",
    }
    assert [s["platform"] for s in await engine.sent()] == ["mastodon"]


async def test_media_processing_failed(engine: Harness) -> None:
    _user, _pid, _group, got = await one_post(engine, "cannot process #sandbox:media-processing-failed")
    assert got["status"] == "failed"
    error = got["posts"][0]["error"]
    assert (error["code"], error["platformError"], error["retryable"]) == ("UNKNOWN_ERROR", "UNKNOWN", False)
    assert await engine.sent() == []


async def test_processing_longer_than_the_lease(harness: Harness) -> None:
    """The container stays IN_PROGRESS for several polls (3.5 s) while leases last 1.5 s (a
    renewal may take a second on a busy machine): the post waits as `pending` between polls, no
    worker holds it, and it is published once."""
    harness.settings = harness.settings.model_copy(
        update={"lease_seconds": 1.5, "platform_timeout_seconds": PATIENT}
    )
    harness.start_workers(2)
    user, _pid, group_id, got = await one_post(harness, "a slow container #sandbox:media-slow")
    assert got["status"] == "published"
    [sent] = await harness.sent()
    assert got["posts"][0]["postedId"] == sent["id"]
    logs = await harness.logs(user, group_id)
    attempts = [e for e in logs if e["event"] == "publish_attempted"]
    waits = [e["metadata"]["checkAfterSeconds"] for e in attempts if e["metadata"].get("inProgress")]
    assert waits == [0.5, 1.0, 2.0]
    assert len(attempts) == 4 and [e["event"] for e in logs].count("publish_succeeded") == 1
    first = datetime.fromisoformat(attempts[0]["createdAt"].replace("Z", "+00:00"))
    done = next(e for e in logs if e["event"] == "publish_succeeded")
    assert datetime.fromisoformat(done["createdAt"].replace("Z", "+00:00")) - first >= timedelta(seconds=3.5)
    r = await harness.control.get("/_control/requests", params={"platform": "threads"})
    posts = [q for q in r.json()["requests"] if q["method"] == "POST"]
    assert [q["path"].rsplit("/", 1)[-1] for q in posts] == ["threads", "threads_publish"]


async def test_slow_answer_within_the_timeout(harness: Harness) -> None:
    harness.settings = harness.settings.model_copy(update={"platform_timeout_seconds": 10.0})
    harness.start_workers(1)
    user, _pid, group_id, got = await one_post(harness, "take five #sandbox:slow")
    assert got["status"] == "published"
    assert len(await harness.sent()) == 1
    assert await failures(harness, user, group_id) == []


async def test_expiring_token_is_refreshed_before_publishing(engine: Harness) -> None:
    user = await engine.user()
    pid = await engine.sandbox(user, "threads")
    soon = datetime.now(UTC) + timedelta(days=2)
    async with engine.database.session() as session:
        await session.execute(update(Connection).values(access_token_expires_at=soon))
        await session.commit()
    assert (await engine.connection(user, pid))["tokenExpiresIn"].startswith(("1d", "2d"))
    group_id = await engine.create(user, "with a refreshed token", [pid])
    got = await engine.wait_finished(user, group_id, 10.0)
    assert got["status"] == "published"
    assert (await engine.connection(user, pid))["tokenExpiresIn"].startswith("59d")


async def test_test_connection(engine: Harness) -> None:
    user = await engine.user()
    pid = await engine.sandbox(user, "threads")
    r = await engine.client.post(f"/api/v1/test-connection/{pid}", headers=user.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok" and body["platform"] == "threads"
    assert body["message"] == f"Connected as {body['username']}"
    assert body["permissions"] == ["threads_basic", "threads_content_publish", "threads_manage_replies"]
    assert body["tokenExpiresIn"].startswith("59d")
