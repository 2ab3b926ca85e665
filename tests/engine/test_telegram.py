"""Telegram end to end: the API, the engine and the simulator's Bot API, with sandbox accounts.

Telegram cannot reconcile (a bot cannot read a chat's history), so an attempt that may have
reached it is never sent again: at most once, where the other platforms are exactly once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from postpost.engine.claims import claim_due
from postpost.engine.media import MediaFiles
from postpost.engine.publisher import Outcome, Publisher
from postpost.engine.recorder import Recorder
from postpost.engine.work import load_work
from postpost.ids import utcnow
from postpost.platforms.base import MediaFile
from postpost.platforms.registry import Adapters
from postpost.security import SecretBox
from postpost.services.credentials import CredentialStore
from postpost.storage import open_storage
from tests.conftest import SECRET
from tests.engine.conftest import Harness, iso_ms
from tests.media.files import image_bytes
from tests.platforms.conftest import media_file

MAY_HAVE_PUBLISHED = "Telegram may have published this post"


async def create(h: Harness, user: Any, content: str, platforms: list[str], **body: Any) -> str:
    payload = {"content": content, "platforms": platforms, "scheduledTime": iso_ms(datetime.now(UTC)), **body}
    r = await h.client.post("/api/v1/create-post", headers=user.headers, json=payload)
    assert r.status_code == 200, r.text
    return str(r.json()["postGroupId"])


async def one_post(h: Harness, content: str, **body: Any) -> tuple[Any, str, str, dict[str, Any]]:
    user = await h.user()
    pid = await h.sandbox(user, "telegram")
    group_id = await create(h, user, content, [pid], **body)
    return user, pid, group_id, await h.wait_finished(user, group_id, 10.0)


async def chat_messages(h: Harness, pid: str) -> list[dict[str, Any]]:
    r = await h.control.get(f"/telegram/_control/chats/{pid.removeprefix('telegram-')}/messages")
    return list(r.json()["messages"])


async def failures(h: Harness, user: Any, group_id: str) -> list[str]:
    logs = await h.logs(user, group_id)
    return [e["metadata"]["errorCode"] for e in logs if e["event"] == "publish_failed"]


async def attempts(h: Harness, user: Any, group_id: str) -> int:
    return sum(e["event"] == "publish_attempted" for e in await h.logs(user, group_id))


async def run_a_claim(h: Harness, *, media: list[MediaFile] | None = None) -> Outcome:
    """Claim the due post and publish it as a worker does, without recording the outcome.

    `media` goes with the work item as the engine would build it from the group's uploads.
    """
    box = SecretBox(SECRET.encode())
    async with h.database.session() as session:
        claims = await claim_due(
            session, now=utcnow(), limit=1, lease=timedelta(seconds=0.5), worker_id="short-lived"
        )
        [item] = await load_work(session, claims, box, h.simulator)
        await session.commit()
    item.media = tuple(media or ())
    adapters = Adapters(timeout=5)
    storage = open_storage(h.settings)
    try:
        publisher = Publisher(CredentialStore(h.database, box, h.simulator), MediaFiles(h.database, storage))
        return await publisher.run(Outcome(item), adapters.get("telegram"))
    finally:
        await adapters.close()
        await storage.close()


# ----- publishing -----------------------------------------------------------------------------------------


async def test_text_is_published(engine: Harness) -> None:
    user, pid, _group_id, got = await one_post(engine, "Hello, channel")
    assert pid.startswith("telegram--100")
    assert got["status"] == "published"
    [post] = got["posts"]
    assert (post["platform"], post["platformId"], post["status"]) == (
        "telegram",
        pid[len("telegram-") :],
        "published",
    )
    [sent] = await engine.sent()
    assert (sent["platform"], sent["account"], sent["text"]) == (
        "telegram",
        post["platformId"],
        "Hello, channel",
    )
    assert post["postedId"] == sent["id"] == "1"
    assert (await engine.connection(user, pid))["lastSuccessfulPost"] is not None


async def test_platform_settings_reach_telegram(engine: Harness) -> None:
    settings = {
        "telegram": {
            "parseMode": "HTML",
            "disableWebPagePreview": True,
            "disableNotification": True,
            "protectContent": True,
        }
    }
    _user, pid, _group_id, got = await one_post(
        engine, "<b>Release</b> notes: https://example.com", platformSettings=settings
    )
    assert got["status"] == "published"
    [stored] = await chat_messages(engine, pid)
    message = stored["message"]
    assert message["text"] == "Release notes: https://example.com"
    assert message["entities"] == [{"type": "bold", "offset": 0, "length": 7}]
    assert message["link_preview_options"] == {"is_disabled": True}
    assert message["has_protected_content"] is True
    assert stored["options"] == {"disable_notification": True, "protect_content": True, "parse_mode": "HTML"}


async def test_create_post_checks_telegram_rules(engine: Harness) -> None:
    user = await engine.user()
    pid = await engine.sandbox(user, "telegram")
    body: dict[str, Any] = {
        "content": "x",
        "platforms": [pid],
        "platformSettings": {"telegram": {"parseMode": "Markdown"}},
    }
    r = await engine.client.post("/api/v1/create-post", headers=user.headers, json=body)
    assert r.status_code == 400
    assert r.json() == {
        "error": "Invalid platformSettings.telegram.parseMode: must be one of: '', HTML, MarkdownV2"
    }
    body = {"content": "x", "platforms": [pid], "platformSettings": {"telegram": {"protectContent": "yes"}}}
    r = await engine.client.post("/api/v1/create-post", headers=user.headers, json=body)
    assert r.json() == {"error": "Invalid platformSettings.telegram.protectContent: must be true or false"}
    r = await engine.client.post(
        "/api/v1/create-post", headers=user.headers, json={"content": "x" * 4097, "platforms": [pid]}
    )
    assert r.status_code == 400
    assert r.json() == {
        "error": "Content is too long for Telegram: 4097 characters, the limit is 4096 "
        "(Telegram does not split long posts into a thread)"
    }


async def test_separators_are_not_a_thread_on_telegram(engine: Harness) -> None:
    content = "first\n\n---\n\nsecond"
    _user, _pid, _group_id, got = await one_post(engine, content)
    assert got["status"] == "published" and len(got["posts"]) == 1
    assert [s["text"] for s in await engine.sent()] == [content]


# ----- markers --------------------------------------------------------------------------------------------


async def test_auth_expired(engine: Harness) -> None:
    user, pid, _group_id, got = await one_post(engine, "revoked #sandbox:auth-expired")
    [post] = got["posts"]
    assert got["status"] == "failed"
    assert (post["error"]["code"], post["error"]["platformStatusCode"]) == ("PLATFORM_AUTH_EXPIRED", 401)
    assert (post["error"]["platformError"], post["error"]["retryable"]) == ("Unauthorized", False)
    assert (await engine.connection(user, pid))["lastError"]["message"] == post["error"]["message"]
    assert await engine.sent() == []


async def test_invalid_content(engine: Harness) -> None:
    _user, _pid, _group_id, got = await one_post(engine, "bad #sandbox:invalid-content")
    [post] = got["posts"]
    assert (post["error"]["code"], post["error"]["platformStatusCode"]) == ("INVALID_CONTENT", 400)
    assert post["error"]["platformError"].startswith("Bad Request: can't parse entities")
    assert await engine.sent() == []


async def test_rate_limit_once_is_retried_and_published(engine: Harness) -> None:
    """Nothing was sent on the 429, so retrying is safe even without reconciliation."""
    user, _pid, group_id, got = await one_post(engine, "hold on #sandbox:rate-limit-once")
    assert got["status"] == "published"
    [sent] = await engine.sent()
    assert got["posts"][0]["postedId"] == sent["id"]
    assert await failures(engine, user, group_id) == ["RATE_LIMITED"]
    failed = next(e for e in await engine.logs(user, group_id) if e["event"] == "publish_failed")
    assert (failed["httpStatus"], failed["metadata"]["retryable"]) == (429, True)


async def test_server_error_once_is_retried_and_published(engine: Harness) -> None:
    user, _pid, group_id, got = await one_post(engine, "flaky #sandbox:server-error-once")
    assert got["status"] == "published"
    assert len(await engine.sent()) == 1
    assert await failures(engine, user, group_id) == ["PLATFORM_SERVER_ERROR"]


async def test_timeout_after_commit_is_published_at_most_once(engine: Harness) -> None:
    """The message went out but the answer was lost: it fails, never sent a second time."""
    user, pid, group_id, got = await one_post(engine, "lost answer #sandbox:timeout-after-commit")
    assert got["status"] == "failed"
    [post] = got["posts"]
    error = post["error"]
    assert (error["code"], error["retryable"]) == ("TIMEOUT_ERROR", False)
    assert error["message"].startswith(MAY_HAVE_PUBLISHED) and "not sent again" in error["message"]
    assert "postedId" not in post
    [sent] = await engine.sent()
    assert sent["text"] == "lost answer #sandbox:timeout-after-commit"
    assert await failures(engine, user, group_id) == ["TIMEOUT_ERROR"]
    assert await attempts(engine, user, group_id) == 1
    assert (await engine.connection(user, pid))["lastError"]["message"] == error["message"]


async def test_gateway_error_after_sending_is_not_repeated(engine: Harness) -> None:
    user = await engine.user()
    pid = await engine.sandbox(user, "telegram")
    chat = pid.removeprefix("telegram-")
    fault = {"platform": "telegram", "account": chat, "fault": "server-error-after-commit"}
    assert (await engine.control.post("/_control/faults", json=fault)).status_code == 200
    group_id = await create(engine, user, "through a flaky gateway", [pid])
    got = await engine.wait_finished(user, group_id, 10.0)
    error = got["posts"][0]["error"]
    assert (error["code"], error["platformStatusCode"], error["retryable"]) == ("TIMEOUT_ERROR", 502, False)
    assert error["message"].startswith(MAY_HAVE_PUBLISHED)
    assert len(await engine.sent()) == 1


async def test_marker_for_telegram_only_gives_a_partial_group(engine: Harness) -> None:
    user = await engine.user()
    telegram = await engine.sandbox(user, "telegram")
    mastodon = await engine.sandbox(user, "mastodon")
    group_id = await create(
        engine, user, "two places #sandbox:timeout-after-commit@telegram", [telegram, mastodon]
    )
    got = await engine.wait_finished(user, group_id, 10.0)
    assert got["status"] == "partially_published"
    by_platform = {p["platform"]: p for p in got["posts"]}
    assert by_platform["telegram"]["error"]["code"] == "TIMEOUT_ERROR"
    assert by_platform["mastodon"]["status"] == "published"
    assert sorted(s["platform"] for s in await engine.sent()) == ["mastodon", "telegram"]


# ----- a worker that dies ---------------------------------------------------------------------------------


async def test_worker_killed_mid_publish_is_not_repeated(harness: Harness) -> None:
    user = await harness.user()
    pid = await harness.sandbox(user, "telegram")
    group_id = await create(harness, user, "sent just before the crash", [pid])
    outcome = await run_a_claim(harness)  # ... and the worker dies before recording it
    assert outcome.error is None and outcome.parts[0].published is not None
    harness.start_workers(1)  # takes the post over when the dead worker's lease expires
    got = await harness.wait_finished(user, group_id, 10.0)
    error = got["posts"][0]["error"]
    assert (got["status"], error["code"], error["retryable"]) == ("failed", "TIMEOUT_ERROR", False)
    assert error["message"].startswith(MAY_HAVE_PUBLISHED)
    assert "stopped mid-publish" in error["message"]
    assert [s["text"] for s in await harness.sent()] == ["sent just before the crash"]


# ----- two steps: media, then the text that did not fit the caption --------------------------------------

LONG = " ".join(f"Sentence number {i} is here." for i in range(60))  # about 1,700 characters


@pytest.mark.parametrize("marker", ["", " #sandbox:timeout-after-commit"])
async def test_media_then_follow_up_text(harness: Harness, marker: str) -> None:
    """Step one (the photo) is recorded as in progress; a worker resumes from the stored state.

    The follow-up that times out fails at most once: neither the photo nor the text is sent again.
    """
    user = await harness.user()
    pid = await harness.sandbox(user, "telegram")
    group_id = await create(harness, user, LONG + marker, [pid])
    first = await run_a_claim(harness, media=[media_file(image_bytes(), "image/png")])
    assert first.waiting is not None and first.waiting.check_after == timedelta(0)
    async with harness.database.session() as session:
        await Recorder(max_attempts=4, retry_base_seconds=0.2, retry_max_seconds=1).record(session, [first])
    pending = await harness.get(user, group_id)
    assert [p["status"] for p in pending["posts"]] == ["pending"]
    harness.start_workers(1)
    got = await harness.wait_finished(user, group_id, 10.0)
    photo, follow_up = await harness.sent()
    assert photo["media"][0]["type"] == "image" and follow_up["replyTo"] == photo["id"]
    assert f"{photo['text']} {follow_up['text']}" == LONG + marker
    [post] = got["posts"]
    if marker:
        assert (got["status"], post["error"]["code"], post["error"]["retryable"]) == (
            "failed",
            "TIMEOUT_ERROR",
            False,
        )
        assert post["error"]["message"].startswith(MAY_HAVE_PUBLISHED)
    else:
        assert (got["status"], post["postedId"]) == ("published", photo["id"])
    logs = await harness.logs(user, group_id)
    steps = [e["metadata"].get("inProgress", False) for e in logs if e["event"] == "publish_attempted"]
    assert steps == [True, False]
