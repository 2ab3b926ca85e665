"""GET /api/v1/post-logs/:postGroupId: the publishing timeline, absent optional fields, cap, tenancy."""

from __future__ import annotations

import re
from datetime import timedelta

from postpost.ids import utcnow
from postpost.services.post_logs import log_event
from tests.engine.conftest import engine, engine_database_url, harness  # noqa: F401 - fixtures

HEX24 = re.compile(r"^[0-9a-f]{24}$")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ALLOWED = {
    "_id",
    "postGroupId",
    "postId",
    "platform",
    "event",
    "error",
    "httpStatus",
    "retryCount",
    "metadata",
    "createdAt",
    "updatedAt",
    "__v",
}


def check_shape(entry, group_id):
    assert set(entry) <= ALLOWED
    assert None not in entry.values(), entry  # optional fields are absent, never null
    assert HEX24.match(entry["_id"])
    assert entry["postGroupId"] == group_id
    assert ISO.match(entry["createdAt"]) and ISO.match(entry["updatedAt"])
    assert entry["__v"] == 0


async def test_published_post_timeline(engine):  # noqa: F811
    user = await engine.user()
    pid = await engine.sandbox(user, "mastodon")
    group_id = await engine.create(user, "log me", [pid])
    got = await engine.wait_finished(user, group_id)
    r = await engine.client.get(f"/api/v1/post-logs/{group_id}", headers=user.headers)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"success", "logs"} and body["success"] is True
    logs = body["logs"]
    for entry in logs:
        check_shape(entry, group_id)
    assert [e["event"] for e in logs] == [
        "scheduled",
        "processing",
        "processing",
        "publish_attempted",
        "publish_succeeded",
        "status_changed",
    ]
    post_id = got["posts"][0]["_id"]
    group_level = [e for e in logs if "postId" not in e]
    assert [e["event"] for e in group_level] == ["processing", "status_changed"]
    assert all("platform" not in e for e in group_level)
    for entry in logs:
        if "postId" in entry:
            assert entry["postId"] == post_id
            assert entry["platform"] == "mastodon"
        assert "error" not in entry and "httpStatus" not in entry and "retryCount" not in entry
    assert [e["createdAt"] for e in logs] == sorted(e["createdAt"] for e in logs)
    succeeded = next(e for e in logs if e["event"] == "publish_succeeded")
    assert succeeded["metadata"]["postedId"] == got["posts"][0]["postedId"]
    assert logs[-1]["metadata"]["status"] == "published"


async def test_failed_post_logs_error_status_and_code(engine):  # noqa: F811
    user = await engine.user()
    pid = await engine.sandbox(user, "bluesky")
    group_id = await engine.create(user, "nope #sandbox:invalid-content", [pid])
    await engine.wait_finished(user, group_id)
    logs = await engine.logs(user, group_id)
    for entry in logs:
        check_shape(entry, group_id)
    failed = [e for e in logs if e["event"] == "publish_failed"]
    assert len(failed) == 1
    assert isinstance(failed[0]["error"], str) and failed[0]["error"]
    assert failed[0]["httpStatus"] == 400
    assert failed[0]["metadata"]["errorCode"] == "INVALID_CONTENT"
    assert failed[0]["metadata"]["retryable"] is False
    assert logs[-1]["event"] == "status_changed"
    assert logs[-1]["metadata"]["status"] == "failed"


async def test_retry_count_appears_on_the_retry(engine):  # noqa: F811
    user = await engine.user()
    pid = await engine.sandbox(user, "mastodon")
    group_id = await engine.create(user, "again #sandbox:server-error-once", [pid])
    await engine.wait_finished(user, group_id)
    logs = await engine.logs(user, group_id)
    first_failed = next(e for e in logs if e["event"] == "publish_failed")
    assert "retryCount" not in first_failed
    assert first_failed["httpStatus"] >= 500
    assert first_failed["metadata"]["willRetry"] is True
    succeeded = next(e for e in logs if e["event"] == "publish_succeeded")
    assert succeeded["retryCount"] == 1


async def test_draft_has_no_logs(harness):  # noqa: F811
    user = await harness.user()
    pid = await harness.sandbox(user, "mastodon")
    group_id = await harness.create(user, "just a draft", [pid], at=None)
    assert await harness.logs(user, group_id) == []


async def test_at_most_the_first_100_entries_oldest_first(harness):  # noqa: F811
    user = await harness.user()
    pid = await harness.sandbox(user, "mastodon")
    group_id = await harness.create(user, "chatty", [pid], at=None)
    start = utcnow()
    async with harness.database.session() as session:
        for i in reversed(range(130)):  # inserted newest first: the endpoint must sort
            at = start + timedelta(milliseconds=i)
            log_event(session, group_id, "status_changed", details={"i": i}, at=at)
        await session.commit()
    logs = await harness.logs(user, group_id)
    assert len(logs) == 100
    assert [e["metadata"]["i"] for e in logs] == list(range(100))


async def test_not_found_for_unknown_malformed_and_foreign_groups(harness):  # noqa: F811
    owner, stranger = await harness.user(), await harness.user()
    pid = await harness.sandbox(owner, "mastodon")
    group_id = await harness.create(owner, "mine", [pid], at=None)
    for path_id, user in [
        ("0" * 24, owner),
        ("not-an-id", owner),
        ("zz" * 12, owner),
        (group_id, stranger),
        (group_id.upper(), stranger),
    ]:
        r = await harness.client.get(f"/api/v1/post-logs/{path_id}", headers=user.headers)
        assert r.status_code == 404, (path_id, r.text)
        assert r.json() == {"error": "Post group not found"}


async def test_requires_an_api_key(harness):  # noqa: F811
    r = await harness.client.get(f"/api/v1/post-logs/{'0' * 24}")
    assert r.status_code == 401
