"""X end to end: the API, the engine and a sandbox account on the fake X, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from postpost.db.models import Connection
from postpost.security import SecretBox
from tests.conftest import SECRET

DUPLICATE = "You are not allowed to create a Tweet with duplicate content."


async def one_post(engine, content):
    user = await engine.user()
    pid = await engine.sandbox(user, "twitter")
    group_id = await engine.create(user, content, [pid])
    got = await engine.wait_finished(user, group_id, 20.0)
    return user, pid, group_id, got


async def failed_codes(engine, user, group_id):
    return [
        e["metadata"]["errorCode"]
        for e in await engine.logs(user, group_id)
        if e["event"] == "publish_failed"
    ]


def assert_chain(got, sent, texts):
    """Each part published in order, each a reply to the one before, as get-post and the fake saw them."""
    assert [p["status"] for p in got["posts"]] == ["published"] * len(texts)
    assert [s["text"] for s in sent] == texts
    assert [p["postedId"] for p in got["posts"]] == [s["id"] for s in sent]
    assert [s["replyTo"] for s in sent] == [None] + [s["id"] for s in sent[:-1]]
    assert all("error" not in p for p in got["posts"])


async def test_text_post(engine):
    _user, pid, _group_id, got = await one_post(engine, "hello X")
    assert got["status"] == "published"
    [sent] = await engine.sent()
    assert (sent["platform"], sent["account"], sent["text"]) == ("twitter", pid.split("-", 1)[1], "hello X")
    assert got["posts"][0]["postedId"] == sent["id"]


async def test_long_content_becomes_a_numbered_chain(engine):
    content = " ".join(f"word{i:03d}" for i in range(40)) + " 漢字" * 20  # CJK weighs 2 on X
    _user, _pid, _group_id, got = await one_post(engine, content)
    assert got["status"] == "published"
    sent = await engine.sent()
    assert len(sent) == 2
    assert_chain(got, sent, [p["content"] for p in got["posts"]])
    assert sent[0]["text"].endswith(" (1/2)") and sent[1]["text"].endswith(" (2/2)")


async def test_separators_become_a_chain(engine):
    _user, _pid, _group_id, got = await one_post(engine, "one\n---\ntwo\n---\nthree")
    assert got["status"] == "published"
    assert_chain(got, await engine.sent(), ["one", "two", "three"])


@pytest.mark.parametrize(
    ("marker", "code", "status"),
    [("auth-expired", "PLATFORM_AUTH_EXPIRED", 401), ("invalid-content", "INVALID_CONTENT", 400)],
)
async def test_refusing_markers(engine, marker, code, status):
    user, pid, group_id, got = await one_post(engine, f"refused #sandbox:{marker}")
    assert got["status"] == "failed"
    error = got["posts"][0]["error"]
    assert (error["code"], error["platformStatusCode"], error["retryable"]) == (code, status, False)
    assert await engine.sent() == []
    assert (await engine.connection(user, pid))["lastError"]["message"] == error["message"]
    assert await failed_codes(engine, user, group_id) == [code]


@pytest.mark.parametrize(
    ("marker", "code"), [("rate-limit-once", "RATE_LIMITED"), ("server-error-once", "PLATFORM_SERVER_ERROR")]
)
async def test_transient_markers_publish_once(engine, marker, code):
    user, _pid, group_id, got = await one_post(engine, f"try again #sandbox:{marker}")
    assert got["status"] == "published"
    [sent] = await engine.sent()
    assert got["posts"][0]["postedId"] == sent["id"]
    assert await failed_codes(engine, user, group_id) == [code]


async def test_marker_for_another_platform_is_ignored(engine):
    _user, _pid, _group_id, got = await one_post(engine, "fine here #sandbox:auth-expired@bluesky")
    assert got["status"] == "published"
    assert len(await engine.sent()) == 1


async def test_timeout_after_commit_is_published_exactly_once(engine):
    """The answer is lost after X stored the tweet: the engine looks it up instead of posting again."""
    user, _pid, group_id, got = await one_post(engine, "lost answer #sandbox:timeout-after-commit")
    assert got["status"] == "published"
    [sent] = await engine.sent()
    assert got["posts"][0]["postedId"] == sent["id"]
    assert await failed_codes(engine, user, group_id) == ["TIMEOUT_ERROR"]
    logs = await engine.logs(user, group_id)
    reconciled = [e for e in logs if e["event"] == "publish_attempted" and e["metadata"].get("reconciled")]
    assert len(reconciled) == 1


async def test_timeout_after_commit_on_a_later_part_of_a_thread(engine):
    content = "part one\n---\npart two #sandbox:timeout-after-commit\n---\npart three"
    user, _pid, group_id, got = await one_post(engine, content)
    assert got["status"] == "published"
    sent = await engine.sent()
    assert_chain(got, sent, ["part one", "part two #sandbox:timeout-after-commit", "part three"])
    assert await failed_codes(engine, user, group_id) == ["TIMEOUT_ERROR"]


async def test_duplicate_text_fails_clearly_without_retry(engine):
    user = await engine.user()
    pid = await engine.sandbox(user, "twitter")
    first = await engine.create(user, "the same words", [pid])
    assert (await engine.wait_finished(user, first, 20.0))["status"] == "published"
    second = await engine.create(user, "the same words", [pid])
    got = await engine.wait_finished(user, second, 20.0)
    assert got["status"] == "failed"
    error = got["posts"][0]["error"]
    assert (error["code"], error["platformStatusCode"], error["retryable"]) == ("INVALID_CONTENT", 403, False)
    assert error["platformError"] == DUPLICATE
    assert "duplicate" in error["message"]
    assert len(await engine.sent()) == 1
    assert await failed_codes(engine, user, second) == ["INVALID_CONTENT"]


async def expire_access_token(engine, account_id):
    box = SecretBox(SECRET.encode())
    async with engine.database.session() as session:
        connection = (
            await session.execute(
                select(Connection).where(
                    Connection.platform == "twitter", Connection.account_id == account_id
                )
            )
        ).scalar_one()
        past = int((datetime.now(UTC) - timedelta(minutes=1)).timestamp())
        connection.secrets = box.encrypt(box.decrypt(connection.secrets) | {"access_expires_at": str(past)})
        await session.commit()


async def stored_secrets(engine, account_id):
    async with engine.database.session() as session:
        connection = (
            await session.execute(
                select(Connection).where(
                    Connection.platform == "twitter", Connection.account_id == account_id
                )
            )
        ).scalar_one()
        secrets = SecretBox(SECRET.encode()).decrypt(connection.secrets)
        return secrets, datetime.fromtimestamp(int(secrets["access_expires_at"]), UTC)


async def test_expired_token_is_refreshed_and_the_rotated_one_stored(engine):
    user = await engine.user()
    pid = await engine.sandbox(user, "twitter")
    account = pid.split("-", 1)[1]
    before, _ = await stored_secrets(engine, account)
    for round_ in range(2):  # the second refresh must use the token stored by the first
        await expire_access_token(engine, account)
        group_id = await engine.create(user, f"after refresh {round_}", [pid])
        assert (await engine.wait_finished(user, group_id, 20.0))["status"] == "published"
        after, expires_at = await stored_secrets(engine, account)
        assert after["refresh_token"] != before["refresh_token"]
        assert after["access_token"] != before["access_token"]
        assert expires_at is not None and expires_at > datetime.now(UTC) + timedelta(minutes=110)
        before = after
    assert [s["text"] for s in await engine.sent()] == ["after refresh 0", "after refresh 1"]
    connection = await engine.connection(user, pid)
    # refreshed by itself: the connection never shows as expiring (INVENTORY: X is "unknown")
    assert connection["lastError"] is None and connection["tokenStatus"] == "unknown"


async def test_test_connection(engine):
    user = await engine.user()
    pid = await engine.sandbox(user, "twitter")
    r = await engine.client.post(f"/api/v1/test-connection/{pid}", headers=user.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok"
    assert body["username"].startswith("sandbox") and body["message"] == f"Connected as {body['username']}"
    assert body["permissions"] == [
        "tweet.read",
        "tweet.write",
        "users.read",
        "media.write",
        "offline.access",
        "bookmark.read",
    ]
    await expire_access_token(engine, pid.split("-", 1)[1])
    r = await engine.client.post(f"/api/v1/test-connection/{pid}", headers=user.headers)
    assert r.json()["status"] == "ok"  # refreshed first, then checked
