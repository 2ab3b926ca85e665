"""LinkedIn end to end: the API, the engine and the simulator, with sandbox accounts."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


async def one_post(engine, content):
    user = await engine.user()
    pid = await engine.sandbox(user, "linkedin")
    group_id = await engine.create(user, content, [pid])
    got = await engine.wait_finished(user, group_id, 20.0)
    return user, pid, group_id, got


async def failed_codes(engine, user, group_id):
    return [
        entry["metadata"]["errorCode"]
        for entry in await engine.logs(user, group_id)
        if entry["event"] == "publish_failed"
    ]


async def test_text_with_reserved_characters_and_a_mention(engine):
    content = (
        "Big news (really): @{urn:li:person:Xy12|Jane Doe} ships #v2 <today> [a|b] {c} *d* _e_ ~f~ \\g @ 5pm"
    )
    user, pid, group_id, got = await one_post(engine, content)
    assert pid.startswith("linkedin-")
    assert got["status"] == "published"
    [post] = got["posts"]
    [sent] = await engine.sent()
    assert sent["platform"] == "linkedin" and sent["account"] == pid.removeprefix("linkedin-")
    assert post["postedId"] == sent["id"] and sent["id"].startswith("urn:li:share:")
    assert sent["text"] == content.replace("@{urn:li:person:Xy12|Jane Doe}", "Jane Doe")
    assert (await engine.connection(user, pid))["lastSuccessfulPost"] is not None


async def test_separators_do_not_make_a_thread(engine):
    content = "first part\n---\nsecond part"
    _user, _pid, _group_id, got = await one_post(engine, content)
    assert got["status"] == "published" and len(got["posts"]) == 1
    assert [s["text"] for s in await engine.sent()] == [content]


async def test_content_over_3000_characters_is_refused_at_create_post(engine):
    user = await engine.user()
    pid = await engine.sandbox(user, "linkedin")
    body = {"content": "x" * 3001, "platforms": [pid]}
    r = await engine.client.post("/api/v1/create-post", headers=user.headers, json=body)
    assert r.status_code == 400
    assert r.json()["error"] == (
        "Content is too long for LinkedIn: 3001 characters, the limit is 3000 "
        "(LinkedIn does not split long posts into a thread)"
    )


async def test_auth_expired_fails_without_retry(engine):
    user, pid, group_id, got = await one_post(engine, "expired #sandbox:auth-expired")
    assert got["status"] == "failed"
    error = got["posts"][0]["error"]
    assert (error["code"], error["platformStatusCode"], error["retryable"]) == (
        "PLATFORM_AUTH_EXPIRED",
        401,
        False,
    )
    assert error["platformError"] == "EXPIRED_ACCESS_TOKEN The token used in the request has expired"
    assert ISO.match(error["failedAt"])
    assert await engine.sent() == []
    assert (await engine.connection(user, pid))["lastError"]["message"] == error["message"]
    assert await failed_codes(engine, user, group_id) == ["PLATFORM_AUTH_EXPIRED"]


async def test_invalid_content_fails(engine):
    _user, _pid, _group_id, got = await one_post(engine, "bad #sandbox:invalid-content@linkedin")
    error = got["posts"][0]["error"]
    assert (error["code"], error["platformStatusCode"], error["retryable"]) == ("INVALID_CONTENT", 422, False)
    assert await engine.sent() == []


@pytest.mark.parametrize(
    ("marker", "code"),
    [
        ("rate-limit-once", "RATE_LIMITED"),
        ("server-error-once", "PLATFORM_SERVER_ERROR"),
        ("timeout-after-commit", "TIMEOUT_ERROR"),
        ("server-error-after-commit", "PLATFORM_SERVER_ERROR"),
    ],
)
async def test_transient_failures_publish_exactly_once(engine, marker, code):
    user, _pid, group_id, got = await one_post(engine, f"once only #sandbox:{marker}")
    assert got["status"] == "published"
    [post] = got["posts"]
    assert "error" not in post
    sent = await engine.sent()
    assert [s["id"] for s in sent] == [post["postedId"]]
    assert await failed_codes(engine, user, group_id) == [code]


async def test_slow_answer_is_reconciled_not_repeated(engine):
    """The fake answers after 2.5 s; the harness's timeout gives up, and publishing again finds the post."""
    _user, _pid, _group_id, got = await one_post(engine, "take your time #sandbox:slow")
    assert got["status"] == "published"
    assert [s["id"] for s in await engine.sent()] == [got["posts"][0]["postedId"]]


async def test_marker_for_another_platform_leaves_linkedin_alone(engine):
    user = await engine.user()
    linkedin = await engine.sandbox(user, "linkedin")
    mastodon = await engine.sandbox(user, "mastodon")
    group_id = await engine.create(
        user, "only Mastodon fails #sandbox:auth-expired@mastodon", [linkedin, mastodon]
    )
    got = await engine.wait_finished(user, group_id, 20.0)
    assert got["status"] == "partially_published"
    by_platform = {p["platform"]: p for p in got["posts"]}
    assert by_platform["linkedin"]["status"] == "published"
    assert by_platform["mastodon"]["error"]["code"] == "PLATFORM_AUTH_EXPIRED"
    [sent] = await engine.sent()
    assert (
        sent["platform"] == "linkedin"
        and sent["text"] == "only Mastodon fails #sandbox:auth-expired@mastodon"
    )


async def test_sandbox_connection_token_and_live_check(engine):
    user = await engine.user()
    pid = await engine.sandbox(user, "linkedin")
    connection = await engine.connection(user, pid)
    assert connection["tokenStatus"] == "valid"
    assert connection["tokenExpiresIn"] in ("59d 23h", "60d 0h")
    assert datetime.fromisoformat(connection["accessTokenExpiresAt"]) > datetime.now(UTC)
    r = await engine.client.post(f"/api/v1/test-connection/{pid}", headers=user.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    member = pid.removeprefix("linkedin-")
    assert (body["status"], body["username"]) == ("ok", f"Sandbox Member {member}")
    assert body["message"] == f"Connected as Sandbox Member {member}"
    assert body["permissions"] == ["openid", "profile", "w_member_social", "r_basicprofile"]
    assert body["tokenExpiresIn"] in ("59d 23h", "60d 0h")
