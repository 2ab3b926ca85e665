"""Reply chains end to end: long content and `---` separators become threads, one get-post entry per part."""

from __future__ import annotations

import pytest

LIMITS = {"mastodon": 500, "bluesky": 300}


def long_text(words: int) -> str:
    return " ".join(f"word{i:03d}" for i in range(words))  # 8 characters a word, plus a space


def assert_chain(got, sent, platform, count):
    """get-post has `count` parts in order; each part replies to the previous one on the platform."""
    parts = got["posts"]
    assert len(parts) == count
    assert all(p["platform"] == platform for p in parts)
    assert [p["status"] for p in parts] == ["published"] * count
    assert len(sent) == count
    by_id = {s["id"]: s for s in sent}
    assert [p["postedId"] for p in parts] == [s["id"] for s in sent]
    assert sent[0]["replyTo"] is None
    for previous, current in zip(sent, sent[1:], strict=False):
        assert current["replyTo"] == previous["id"]
    for part in parts:
        assert by_id[part["postedId"]]["text"] == part["content"]
        assert "error" not in part


@pytest.mark.parametrize(("platform", "words"), [("mastodon", 78), ("bluesky", 45)])
async def test_content_over_the_limit_becomes_a_numbered_chain(engine, platform, words):
    content = long_text(words)  # 700 characters on Mastodon, 400 graphemes on Bluesky
    assert len(content) > LIMITS[platform]
    user = await engine.user()
    pid = await engine.sandbox(user, platform)
    group_id = await engine.create(user, content, [pid])
    got = await engine.wait_finished(user, group_id, 20.0)
    assert got["status"] == "published"
    assert got["content"] == content
    sent = await engine.sent()
    assert_chain(got, sent, platform, 2)
    assert sent[0]["text"].endswith(" (1/2)")
    assert sent[1]["text"].endswith(" (2/2)")
    assert all(len(s["text"]) <= LIMITS[platform] for s in sent)
    assert " ".join(s["text"].rsplit(" ", 1)[0] for s in sent) == content


@pytest.mark.parametrize("platform", ["mastodon", "bluesky"])
async def test_separators_become_a_chain(engine, platform):
    user = await engine.user()
    pid = await engine.sandbox(user, platform)
    group_id = await engine.create(user, "first part\n\n---\n\nsecond part\n---\nthird part", [pid])
    got = await engine.wait_finished(user, group_id, 20.0)
    assert got["status"] == "published"
    sent = await engine.sent()
    assert_chain(got, sent, platform, 3)
    assert [s["text"] for s in sent] == ["first part", "second part", "third part"]


async def test_thread_on_two_platforms(engine):
    user = await engine.user()
    pids = [await engine.sandbox(user, "mastodon"), await engine.sandbox(user, "bluesky")]
    group_id = await engine.create(user, "one\n---\ntwo", pids)
    got = await engine.wait_finished(user, group_id, 20.0)
    assert got["status"] == "published"
    assert [(p["platform"], p["content"]) for p in got["posts"]] == [
        ("mastodon", "one"),
        ("mastodon", "two"),
        ("bluesky", "one"),
        ("bluesky", "two"),
    ]
    sent = await engine.sent()
    for platform in ("mastodon", "bluesky"):
        mine = [s for s in sent if s["platform"] == platform]
        assert_chain({"posts": [p for p in got["posts"] if p["platform"] == platform]}, mine, platform, 2)


@pytest.mark.parametrize("platform", ["mastodon", "bluesky"])
async def test_failing_second_part_gives_a_partial_group(engine, platform):
    user = await engine.user()
    pid = await engine.sandbox(user, platform)
    content = "part one\n---\npart two #sandbox:invalid-content\n---\npart three"
    group_id = await engine.create(user, content, [pid])
    got = await engine.wait_finished(user, group_id, 20.0)
    assert got["status"] == "partially_published"
    assert got["processingStatus"] == "finished"
    parts = got["posts"]
    assert [p["status"] for p in parts] == ["published", "failed", "failed"]
    sent = await engine.sent()
    assert [s["text"] for s in sent] == ["part one"]
    assert parts[0]["postedId"] == sent[0]["id"]
    assert "error" not in parts[0]
    assert all("postedId" not in p for p in parts[1:])
    assert parts[1]["error"]["code"] == "INVALID_CONTENT"
    assert parts[1]["error"]["retryable"] is False
    assert parts[2]["error"]["code"] == "INVALID_CONTENT"
    assert parts[2]["error"]["message"].startswith("Not published: part 2 of the thread failed")


@pytest.mark.parametrize("platform", ["mastodon", "bluesky"])
@pytest.mark.parametrize("marker", ["rate-limit-once", "timeout-after-commit"])
async def test_retry_in_the_middle_of_a_chain_resumes_it_once(engine, platform, marker):
    """Part 2 fails retryably: the retry continues from part 2, never re-sending part 1 or 2 twice."""
    user = await engine.user()
    pid = await engine.sandbox(user, platform)
    group_id = await engine.create(user, f"head\n---\nmiddle #sandbox:{marker}\n---\ntail", [pid])
    got = await engine.wait_finished(user, group_id, 20.0)
    assert got["status"] == "published", got
    sent = await engine.sent()
    assert_chain(got, sent, platform, 3)
    assert [s["text"] for s in sent] == ["head", f"middle #sandbox:{marker}", "tail"]


@pytest.mark.parametrize("platform", ["mastodon", "bluesky"])
async def test_over_long_manual_part_fails_without_sending(engine, platform):
    user = await engine.user()
    pid = await engine.sandbox(user, platform)
    group_id = await engine.create(user, f"short\n---\n{'x' * (LIMITS[platform] + 1)}", [pid])
    got = await engine.wait_finished(user, group_id, 20.0)
    assert got["status"] == "partially_published"
    parts = got["posts"]
    assert [p["status"] for p in parts] == ["published", "failed"]
    assert parts[1]["error"]["retryable"] is False
    assert "platformStatusCode" not in parts[1]["error"]
    assert [s["text"] for s in await engine.sent()] == ["short"]
