"""A multi-step publish resumed by another worker after the first was SIGKILLed in the middle of it.

A real `postpost worker` uploads a video to sandbox YouTube with the resumable protocol; it is
killed while the bytes are flowing. Once its lease expires, a second worker takes the post over,
asks the upload session how much it holds, sends the rest, and YouTube ends with one complete
video. PostgreSQL only, like the other crash test.
"""

from __future__ import annotations

import os
import signal
import struct
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from postpost.db.models import Post
from tests.conftest import SECRET
from tests.engine.conftest import Harness, wait_until
from tests.engine.test_crash import POSTPOST, wait_ready
from tests.media.files import video_bytes

SIZE = 48 * 1024 * 1024  # two chunks of the adapter's 32 MiB


@pytest.fixture
def engine_name() -> str:
    return "postgresql"


def padded_video(size: int) -> bytes:
    """A short real clip grown to `size` bytes with an MP4 `free` box (still a valid file)."""
    clip = video_bytes(seconds=1.0, size=(64, 48))
    pad = size - len(clip)
    return clip + struct.pack(">I", pad) + b"free" + bytes(pad - 8)


def spawn(h: Harness, database_url: str, log_dir: Path, n: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "POSTPOST_DATABASE_URL": database_url,
        "POSTPOST_SECRET_KEY": SECRET,
        "POSTPOST_SANDBOX_URL": h.simulator,
        "POSTPOST_DATA_DIR": str(h.settings.data_dir),
        "POSTPOST_LEASE_SECONDS": "2",
        "POSTPOST_DB_POOL_SIZE": "4",  # parallel test processes share the server's connections
        "POSTPOST_PLATFORM_TIMEOUT_SECONDS": "5",
    }
    log = (log_dir / f"worker-{n}.log").open("wb")
    return subprocess.Popen([POSTPOST, "worker"], env=env, stdout=log, stderr=subprocess.STDOUT)


async def upload_requests(h: Harness) -> list[dict[str, object]]:
    r = await h.control.get("/_control/requests", params={"platform": "youtube"})
    return [q for q in r.json()["requests"] if q["method"] == "PUT"]


@pytest.mark.slow
async def test_a_killed_upload_is_resumed_by_another_worker(
    harness: Harness, engine_database_url: str, tmp_path: Path
) -> None:
    user = await harness.user()
    pid = await harness.sandbox(user, "youtube")
    body = {"content": "Resumed after a crash", "platforms": [pid]}
    group = (await harness.client.post("/api/v1/create-post", headers=user.headers, json=body)).json()
    group_id = group["postGroupId"]
    video = padded_video(SIZE)
    target = await harness.client.post(
        "/api/v1/get-upload-url",
        headers=user.headers,
        json={"fileName": "big.mp4", "contentType": "video/mp4", "postGroupId": group_id},
    )
    put = await harness.client.put(
        target.json()["uploadUrl"], content=video, headers={"content-type": "video/mp4"}
    )
    assert put.status_code == 200, put.text
    r = await harness.client.put(
        f"/api/v1/update-post/{group_id}", headers=user.headers, json={"status": "scheduled"}
    )
    assert r.status_code == 200, r.text

    first = spawn(harness, engine_database_url, tmp_path, 0)
    second: subprocess.Popen[bytes] | None = None
    try:
        await wait_until(lambda: upload_requests(harness), 60.0, lambda: "the upload never started")
        first.send_signal(signal.SIGKILL)  # while the bytes are flowing
        first.wait(5)
        second = spawn(harness, engine_database_url, tmp_path, 1)
        await wait_ready(tmp_path, 1)
        got = await harness.wait_finished(user, group_id, 90.0)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(10)

    assert got["status"] == "published", got
    [sent] = [p for p in await harness.sent() if p["platform"] == "youtube"]
    assert sent["text"].startswith("Resumed after a crash")
    [received] = sent["media"]
    assert received["size"] == SIZE  # one complete video
    async with harness.database.session() as session:
        attempts = await session.scalar(select(Post.attempts).where(Post.group_id == group_id))
    assert attempts is not None and attempts >= 2  # the second worker took it over
