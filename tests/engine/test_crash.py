"""Real `postpost worker` processes SIGKILLed mid-run on PostgreSQL: nothing lost, nothing duplicated."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from postpost.db.models import Post, PostGroup
from tests.conftest import SECRET
from tests.engine.conftest import wait_until

COUNT = 1000
POSTPOST = Path(sys.executable).with_name("postpost")


@pytest.fixture
def engine_name() -> str:
    return "postgresql"


def spawn(database_url: str, simulator: str, log_dir: Path, n: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "POSTPOST_DATABASE_URL": database_url,
        "POSTPOST_SECRET_KEY": SECRET,
        "POSTPOST_SANDBOX_URL": simulator,
        "POSTPOST_LEASE_SECONDS": "2",
        "POSTPOST_DB_POOL_SIZE": "4",  # parallel test processes share the server's connections
        "POSTPOST_PLATFORM_TIMEOUT_SECONDS": "1",
    }
    log = (log_dir / f"worker-{n}.log").open("wb")
    return subprocess.Popen([POSTPOST, "worker"], env=env, stdout=log, stderr=subprocess.STDOUT)


async def wait_ready(log_dir: Path, n: int) -> None:
    """Until worker `n` says it is working (its signal handlers are installed by then)."""
    log = log_dir / f"worker-{n}.log"
    await wait_until(
        lambda: b"postpost worker:" in log.read_bytes(), 120.0, lambda: f"worker {n} never started"
    )


async def count_by_status(harness) -> dict[str, int]:
    async with harness.database.session() as session:
        rows = await session.execute(select(PostGroup.status, func.count()).group_by(PostGroup.status))
        return dict(rows.all())


@pytest.mark.slow
async def test_sigkilled_workers_lose_and_duplicate_nothing(harness, engine_database_url, tmp_path, capsys):
    user = await harness.user()
    pids = [await harness.sandbox(user, p) for p in ("mastodon", "bluesky", "mastodon", "bluesky")]
    # every tenth post is slow (stored by the platform, answered 2.5 s later): workers always hold
    # some in flight, so the kills below land mid-publish, and their takeover must reconcile
    texts = [f"crash-test post {i:04d}" + (" #sandbox:slow" if i % 10 == 0 else "") for i in range(COUNT)]
    await harness.bulk_create(user, [(text, [pids[i % len(pids)]]) for i, text in enumerate(texts)])

    started = time.monotonic()
    workers = [spawn(engine_database_url, harness.simulator, tmp_path, n) for n in range(3)]
    killed = 0
    try:
        for n in range(len(workers)):  # each claims posts from its start: a kill hits some in flight
            await wait_ready(tmp_path, n)
        # two workers at a time, so that a kill landing on a worker between batches (nothing
        # claimed) cannot leave the run without a post taken over
        for threshold, victims in ((150, (0, 1)), (500, (2, 3))):
            await wait_until(
                lambda t=threshold: _sent_at_least(harness, t),
                45.0,
                lambda t=threshold: f"fewer than {t} posts reached the simulator",
            )
            for victim in victims:
                workers[victim].send_signal(signal.SIGKILL)
            for victim in victims:
                workers[victim].wait(5)
                killed += 1
                workers.append(spawn(engine_database_url, harness.simulator, tmp_path, len(workers)))
                await wait_ready(tmp_path, len(workers) - 1)
        await harness.wait_all_finished(COUNT, 90.0)
        elapsed = time.monotonic() - started
    finally:
        for process in workers:
            if process.poll() is None:
                process.terminate()
        for process in workers:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)

    assert await count_by_status(harness) == {"published": COUNT}
    sent = await harness.sent()
    counts = Counter(s["text"] for s in sent)
    assert [text for text, n in counts.items() if n > 1] == [], "duplicated"
    assert sorted(counts) == texts, "lost"
    assert len(sent) == COUNT
    async with harness.database.session() as session:
        taken_over = await session.scalar(select(func.count()).select_from(Post).where(Post.attempts > 1))
    assert taken_over > 0, "the kills hit no post in flight"
    with capsys.disabled():
        print(
            f"\ncrash test: {COUNT} posts, {killed} workers SIGKILLed, {taken_over} posts taken over after "
            f"their lease expired; all published once in {elapsed:.1f} s ({COUNT / elapsed:.0f} posts/s)"
        )
    # survivors stopped cleanly on SIGTERM
    assert [p.returncode for p in workers if p.returncode != -signal.SIGKILL] == [0] * (len(workers) - killed)


async def _sent_at_least(harness, count: int) -> bool:
    await asyncio.sleep(0.05)
    return len(await harness.sent()) >= count
