"""Two workers racing for the same due posts never publish one twice."""

from __future__ import annotations

import time
from collections import Counter

COUNT = 300


async def race(harness, *, separate_databases: bool) -> None:
    user = await harness.user()
    pids = [await harness.sandbox(user, "mastodon"), await harness.sandbox(user, "bluesky")]
    texts = [f"race post {i:04d}" for i in range(COUNT)]
    group_ids = await harness.bulk_create(user, [(text, [pids[i % 2]]) for i, text in enumerate(texts)])
    started = time.monotonic()
    harness.start_workers(2, separate_databases=separate_databases)
    await harness.wait_all_finished(COUNT, 30.0)
    elapsed = time.monotonic() - started
    sent = await harness.sent()
    duplicated = [text for text, n in Counter(s["text"] for s in sent).items() if n > 1]
    assert duplicated == []
    assert sorted(s["text"] for s in sent) == texts
    posted = {}
    for group_id in group_ids:
        got = await harness.get(user, group_id)
        assert got["status"] == "published", got
        [post] = got["posts"]
        posted[post["postedId"]] = post["content"]
    assert posted == {s["id"]: s["text"] for s in sent}
    print(f"{COUNT} posts by 2 workers in {elapsed:.2f} s ({COUNT / elapsed:.0f} posts/s)")


async def test_two_workers_share_one_database(harness):
    await race(harness, separate_databases=False)


async def test_two_workers_with_their_own_pools(harness):
    """Each worker on its own engine and pool (on SQLite: two connections writing one file)."""
    await race(harness, separate_databases=True)


async def test_two_workers_with_retries_and_reconciliation(harness):
    """Retried and reconciled posts are contended too: still each exactly once."""
    user = await harness.user()
    pids = [await harness.sandbox(user, "mastodon"), await harness.sandbox(user, "bluesky")]
    markers = [
        "",
        " #sandbox:rate-limit-once",
        " #sandbox:server-error-once",
        " #sandbox:timeout-after-commit",
    ]
    texts = [f"contended {i:03d}{markers[i % 4]}" for i in range(80)]
    await harness.bulk_create(user, [(text, [pids[i % 2]]) for i, text in enumerate(texts)])
    harness.start_workers(2, separate_databases=True)
    await harness.wait_all_finished(len(texts), 30.0)
    sent = await harness.sent()
    assert sorted(s["text"] for s in sent) == sorted(texts)
