"""YouTube upload benchmark: one worker and the adapter against a bare aiohttp resumable-upload loop.

    .venv/bin/python bench/youtube.py [--uploads 20] [--size-mb 50] [--small-mb 5] [--rounds 3]
                                      [--phases baseline,worker,adapter] [--profile]

The simulator (`create_simulator_app`, YouTube processing set to 0 s and its limits lifted) runs
under uvicorn in its own process. The video is a short PyAV clip grown to `--size-mb` (and to
`--small-mb`, to see whether memory follows the file size) with an MP4 ``free`` box, in a
temporary file. Each phase makes `--uploads` uploads at once, one per sandbox channel:

* **baseline**: in a fresh child process, the minimal resumable client over one aiohttp session:
  ``POST …/videos?uploadType=resumable`` → Location, then ``PUT`` 32 MiB chunks with
  ``Content-Range`` until the 200 with the video, the file read in 1 MiB pieces off the event loop
  (as the local media storage reads it);
* **worker**: the real engine. `postpost serve` (API only, ``POSTPOST_WORKERS=0``) on a throwaway
  PostgreSQL database and a temporary data directory (local media storage); per channel a draft
  made with create-post and its video uploaded with get-upload-url + PUT (not timed); then one
  `postpost worker` process is started, and once it LISTENs every group is scheduled with
  update-post, due 2 s later. The worker claims the posts and publishes them step by step
  (session, upload from the stored file, processing check), storing the state between steps.
  Timed from the due time to the last byte received by the fake (the videos' ``publishedAt``),
  and to the last post published (``posts.published_at``);
* **adapter**: in a fresh child process, `YouTubeAdapter.publish` driven step by step as the
  engine would, without the database and without the waits it asks for.

Per phase: wall time, throughput, CPU seconds of the client process (the worker for the worker
phase) and of the simulator, the load average before it. Memory: for baseline and adapter the
peak growth of the child's resident set over its idle size (sampled every 5 ms); for the worker
its idle ``VmRSS``, the peak sampled every 10 ms from ``/proc/<pid>/status`` while publishing, and
its ``VmHWM`` (high-water mark over its whole life). Ratios = bare-loop time / time of the phase,
of the best runs and of the medians (≥ 0.7 is the target). Everything the run stores (videos,
the simulator's received files, databases, data directories) is removed at the end. ``--profile`` records the worker with py-spy when it is
installed. Default run: about 2 min on 2 shared cores.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import io
import json
import os
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (  # noqa: E402
    SECRET,
    busy_others,
    free_port,
    loadavg,
    log_tail,
    new_database,
    profile_top,
    pyspy,
    python,
    running,
    table,
)

MB = 1024 * 1024
CHUNK = 32 * MB
PIECE = MB


def make_video(path: Path, size: int) -> None:
    """A 2 s 320x240 clip, grown to `size` bytes with an MP4 free box (still a valid file)."""
    import av
    from PIL import Image

    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=25, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for index in range(50):
            frame = av.VideoFrame.from_image(Image.new("RGB", (320, 240), (index * 5 % 256, 90, 160)))
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    clip = out.getvalue()
    pad = size - len(clip)
    with open(path, "wb") as f:
        f.write(clip)
        f.write(struct.pack(">I", pad) + b"free")
        remaining = pad - 8
        while remaining > 0:
            step = min(remaining, 8 * 1024 * 1024)
            f.write(b"\0" * step)
            remaining -= step


class FileSource:
    """A streaming `MediaSource` over a file: pieces read in a thread, never the whole file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def read(self) -> bytes:
        return await asyncio.to_thread(self.path.read_bytes)

    async def chunks(self, *, offset: int = 0, chunk_size: int = PIECE) -> AsyncIterator[bytes]:
        handle = await asyncio.to_thread(open, self.path, "rb")
        try:
            await asyncio.to_thread(handle.seek, offset)
            while piece := await asyncio.to_thread(handle.read, chunk_size):
                yield piece
        finally:
            handle.close()


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def measured(work: Any, sim_pid: int) -> dict[str, float]:
    """Awaiting `work`: seconds, peak RSS growth (bytes), CPU seconds of this process and of the
    simulator."""
    idle = rss()
    peak = idle
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss())
            await asyncio.sleep(0.005)

    sampler = asyncio.create_task(sample())
    cpu, sim_cpu, reads = time.process_time(), cpu_seconds(sim_pid), disk_reads("self")
    started = time.perf_counter()
    await work
    elapsed = time.perf_counter() - started
    cpu, sim_cpu = time.process_time() - cpu, cpu_seconds(sim_pid) - sim_cpu
    reads = disk_reads("self") - reads
    done.set()
    await sampler
    growth = max(peak, rss()) - idle
    return {"seconds": elapsed, "rss_growth": growth, "cpu": cpu, "sim_cpu": sim_cpu, "disk_reads": reads}


def tokens(count: int) -> list[tuple[str, dict[str, str]]]:
    """Sandbox channels: (channel id, secrets)."""
    from postpost.platforms.youtube import DESCRIPTOR

    made = DESCRIPTOR.sandbox_account
    assert made is not None
    return [(a.account_id, dict(a.secrets)) for a in (made() for _ in range(count))]


async def baseline(origin: str, path: Path, uploads: int, sim_pid: int) -> dict[str, float]:
    import aiohttp

    size = path.stat().st_size
    source = FileSource(path)

    async def piece_range(start: int, length: int) -> AsyncIterator[bytes]:
        left = length
        async for piece in source.chunks(offset=start):
            piece = piece[:left]
            left -= len(piece)
            yield piece
            if not left:
                break

    async def one(http: aiohttp.ClientSession, secrets: dict[str, str], n: int) -> None:
        body: dict[str, Any] = {
            "snippet": {"title": f"bench {n}", "description": f"bench {n}", "categoryId": "22"},
            "status": {"privacyStatus": "public", "selfDeclaredMadeForKids": False},
        }
        headers = {
            "Authorization": f"Bearer {secrets['access_token']}",
            "X-Upload-Content-Length": str(size),
            "X-Upload-Content-Type": "video/mp4",
        }
        params = {"uploadType": "resumable", "part": "snippet,status"}
        async with http.post(
            f"{origin}/upload/youtube/v3/videos", params=params, json=body, headers=headers
        ) as r:
            assert r.status == 200, await r.text()
            session = r.headers["Location"]
        start = 0
        while True:
            length = min(CHUNK, size - start)
            put_headers = {
                "Content-Type": "video/mp4",
                "Content-Length": str(length),
                "Content-Range": f"bytes {start}-{start + length - 1}/{size}",
            }
            async with http.put(
                session, data=piece_range(start, length), headers=put_headers, allow_redirects=False
            ) as r:
                await r.read()
                if r.status in (200, 201):
                    return
                assert r.status == 308, r.status
                start = int(r.headers["Range"].rsplit("-", 1)[1]) + 1

    accounts = tokens(uploads)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        work = asyncio.gather(*(one(http, s, n) for n, (_, s) in enumerate(accounts)))
        return await measured(work, sim_pid)


async def adapter_run(origin: str, path: Path, uploads: int, sim_pid: int) -> dict[str, float]:
    import aiohttp

    from postpost.platforms.base import Credentials, InProgress, MediaFile, PostPart, PublishJob, Secrets
    from postpost.platforms.youtube import DESCRIPTOR, YouTubeAdapter

    size = path.stat().st_size
    video = MediaFile("m1", "video", "video/mp4", size, FileSource(path), 320, 240, 2.0, 25.0)

    async def one(adapter: YouTubeAdapter, account: str, secrets: dict[str, str], n: int) -> None:
        creds = Credentials(account, {"api": origin, "upload": origin}, Secrets(secrets))
        job = PublishJob(
            PostPart(f"bench {n}", (video,)), creds, f"k{n}", settings=DESCRIPTOR.default_settings
        )
        for _ in range(20):
            result = await adapter.publish(job)
            if not isinstance(result, InProgress):
                return
            job = dataclasses.replace(job, state=json.loads(json.dumps(result.state)))
        raise AssertionError("not published")

    accounts = tokens(uploads)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        adapter = YouTubeAdapter(http, timeout=30)
        work = asyncio.gather(*(one(adapter, a, s, n) for n, (a, s) in enumerate(accounts)))
        return await measured(work, sim_pid)


# --------------------------------------------------------------------------------------------
# Worker phase: the real engine (API, PostgreSQL, local storage, one `postpost worker` process)
# --------------------------------------------------------------------------------------------

UNLIMITED = {
    "apiAccess": True,
    "monthlyPosts": None,
    "scheduledPosts": None,
    "scheduleHorizonDays": None,
    "connections": None,
    "allowedPlatforms": None,
    "mediaMaxBytes": None,
}
UPLOADS_AT_ONCE = 4  # API uploads in parallel while setting up (not timed)
LEAD_SECONDS = 2.0  # posts are due this long after scheduling starts


class ProcMemory:
    """Resident memory of another process from /proc/<pid>/status, sampled in a thread."""

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        self.pid, self.interval = pid, interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def field(self, name: str) -> int:
        """A `Vm…` line of the status file, in bytes (0 once the process is gone)."""
        try:
            lines = Path(f"/proc/{self.pid}/status").read_text().splitlines()
        except OSError:
            return 0
        for line in lines:
            if line.startswith(name + ":"):
                return int(line.split()[1]) * 1024
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.field("VmRSS"))
            time.sleep(self.interval)

    def __enter__(self) -> ProcMemory:
        self.peak = self.field("VmRSS")
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def disk_reads(pid: int | str) -> int:
    """Bytes the process has caused to be read from the disk (page-cache hits are not counted)."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("read_bytes:"):
            return int(line.split()[1])
    return 0


async def seed(url: str, uploads: int) -> tuple[str, list[tuple[str, str]]]:
    """A user without limits, an API key and `uploads` sandbox YouTube channels.

    Returns (API key, [(platform id, access token)]).
    """
    from postpost.config import async_database_url
    from postpost.db.session import Database
    from postpost.sandbox import add_sandbox_connection
    from postpost.security import KeyHasher, SecretBox
    from postpost.services import accounts

    box = SecretBox(SECRET.encode())
    database = Database(async_database_url(url))
    try:
        async with database.session() as session:
            user = await accounts.create_user(session, "bench-youtube@example.com", plan="premium")
            user.entitlements = dict(UNLIMITED)
            key = await accounts.create_key(session, KeyHasher(SECRET.encode()), user.id)
            channels = []
            for _ in range(uploads):
                conn = await add_sandbox_connection(session, box, user.id, "youtube")
                channels.append((conn.compound_id, str(box.decrypt(conn.secrets)["access_token"])))
            await session.commit()
            return key.raw, channels
    finally:
        await database.dispose()


class Api:
    """The postpost API of the worker phase, as one user (`key`)."""

    def __init__(self, http: Any, base: str, key: str) -> None:
        self.http, self.base, self.key = http, base, key

    async def call(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with self.http.request(
            method, self.base + path, json=body, headers={"x-api-key": self.key}
        ) as r:
            reply = await r.json()
            if r.status != 200:
                raise RuntimeError(f"{method} {path}: {r.status} {reply}")
            return dict(reply)


async def create_posts(api: Api, channels: list[str], path: Path) -> list[str]:
    """One draft per channel with the video uploaded to it (get-upload-url, PUT); the group ids."""
    size = path.stat().st_size
    gate = asyncio.Semaphore(UPLOADS_AT_ONCE)

    async def one(n: int, platform_id: str) -> str:
        body = {"content": f"bench video {n}\nuploaded by one worker", "platforms": [platform_id]}
        group = (await api.call("POST", "/api/v1/create-post", body))["postGroupId"]
        ask = {"fileName": f"bench-{n}.mp4", "contentType": "video/mp4", "postGroupId": group}
        target = await api.call("POST", "/api/v1/get-upload-url", ask)
        async with gate:
            headers = {"Content-Type": "video/mp4", "Content-Length": str(size)}
            async with api.http.put(
                target["uploadUrl"], data=FileSource(path).chunks(), headers=headers
            ) as r:
                if r.status != 200:
                    raise RuntimeError(f"upload failed: {r.status} {await r.text()}")
        return str(group)

    return list(await asyncio.gather(*(one(n, pid) for n, pid in enumerate(channels))))


async def listening(db: Any) -> bool:
    """Whether a worker LISTENs for due posts on this database (an asyncpg connection)."""
    count = await db.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND query ILIKE 'LISTEN%postpost_due%'"
    )
    return bool(count)


async def outcomes(db: Any, groups: list[str]) -> list[tuple[str, str | None, datetime | None]]:
    """(status, posted id, published at) of the groups' posts (an asyncpg connection)."""
    rows = await db.fetch(
        "SELECT status, posted_id, published_at FROM posts WHERE group_id = ANY($1::text[])", groups
    )
    return [
        (r["status"], r["posted_id"], r["published_at"] and r["published_at"].replace(tzinfo=UTC))
        for r in rows
    ]


async def step_errors(db: Any, groups: list[str]) -> dict[str, int]:
    """Errors logged while publishing the groups (retried steps), by message."""
    rows = await db.fetch(
        "SELECT error, count(*) AS n FROM post_logs WHERE group_id = ANY($1::text[]) AND error IS NOT NULL "
        "GROUP BY error",
        groups,
    )
    return {str(r["error"]): int(r["n"]) for r in rows}


async def uploaded_at(http: Any, sim: str, video_id: str, token: str) -> datetime:
    """When the fake YouTube received the video's last byte (its `snippet.publishedAt`)."""
    params = {"part": "snippet", "id": video_id}
    headers = {"Authorization": f"Bearer {token}"}
    async with http.get(f"{sim}/youtube/youtube/v3/videos", params=params, headers=headers) as r:
        items = (await r.json())["items"]
    return datetime.fromisoformat(items[0]["snippet"]["publishedAt"].replace("Z", "+00:00"))


async def start_profile(pid: int) -> tuple[asyncio.subprocess.Process, str] | None:
    """py-spy recording `pid` until `print_profile` (None when py-spy is not installed)."""
    binary = pyspy()
    if binary is None:
        print("    py-spy not found: no profile", flush=True)
        return None
    out = tempfile.mktemp(prefix="ppbench-yt-spy-", suffix=".txt")
    argv = ["record", "--pid", str(pid), "--rate", "250", "--format", "raw", "--output", out]
    proc = await asyncio.create_subprocess_exec(
        binary, *argv, "--nonblocking", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    await asyncio.sleep(0.5)  # attached before the posts are due
    return proc, out


async def print_profile(proc: asyncio.subprocess.Process, out: str) -> None:
    proc.send_signal(signal.SIGINT)
    await proc.wait()
    print("    py-spy of the worker: postpost functions, then top self time (self %, inclusive %)")
    for name, own, incl in profile_top(out, 30):
        print(f"      {own:5.1f}% {incl:5.1f}%  {name}")
    os.unlink(out)


async def worker_run(
    sim: str, sim_pid: int, path: Path, uploads: int, *, warmup: Path | None, profile: bool = False
) -> dict[str, Any]:
    """Posts made through the API of `postpost serve` (local storage, PostgreSQL), then published
    by one `postpost worker` process started for this phase, after one warm-up post with the
    `warmup` video (none when None); times from the due time."""
    import aiohttp
    import asyncpg

    db = new_database("postgresql", "yt")
    data_dir = tempfile.mkdtemp(prefix="ppbench-yt-data-")
    port = free_port()
    env = {
        "POSTPOST_DATABASE_URL": db.url,
        "POSTPOST_SECRET_KEY": SECRET,
        "POSTPOST_SANDBOX_URL": sim,
        "POSTPOST_DATA_DIR": data_dir,
        "POSTPOST_WORKERS": "0",
        "POSTPOST_PORT": str(port),
        "POSTPOST_MEDIA_MAX_BYTES": str(max(path.stat().st_size, 512 * 1024 * 1024)),
    }
    cli = str(Path(python()).parent / "postpost")
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            with running([cli, "serve"], port, env):
                api = Api(http, f"http://127.0.0.1:{port}", "")
                api.key, channels = await seed(db.url, uploads + 1)
                *timed, (spare, _) = channels
                groups = await create_posts(api, [pid for pid, _ in timed], path)
                warm = await create_posts(api, [spare], warmup) if warmup else []
                db_conn = await asyncpg.connect(db.url)
                try:
                    with running([cli, "worker"], None, env) as worker:
                        await until_listening(db_conn, worker)
                        if warm:
                            await publish_due(api, warm, db_conn, worker, datetime.now(UTC))
                        got = await measure_worker(api, groups, db_conn, worker, sim_pid, profile)
                finally:
                    await db_conn.close()
            tokens = {pid.split("-", 1)[1]: token for pid, token in timed}
            received = await received_videos(http, sim, tokens, path.stat().st_size)
    finally:
        db.drop()
        shutil.rmtree(data_dir, ignore_errors=True)
    due = got.pop("due")
    return got | {"seconds": (max(received) - due).total_seconds()}


async def until_listening(db: Any, worker: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while not await listening(db):
        if time.monotonic() > deadline or worker.poll() is not None:
            raise RuntimeError(f"the worker did not start:\n{log_tail(worker)}")
        await asyncio.sleep(0.2)


async def publish_due(
    api: Api,
    groups: list[str],
    db: Any,
    worker: subprocess.Popen[bytes],
    due: datetime,
    *,
    started: Callable[[], None] | None = None,
    timeout: float = 600.0,
) -> list[tuple[str, str | None, datetime | None]]:
    """Schedule `groups` (update-post) for `due`, call `started` at the due time, and wait until
    their posts are published; (status, posted id, published at) of each. Warns when scheduling
    ended after `due` for timed posts (those with `started`)."""
    stamp = due.strftime("%Y-%m-%dT%H:%M:%S.") + f"{due.microsecond // 1000:03d}Z"
    body = {"status": "scheduled", "scheduledTime": stamp}
    await asyncio.gather(*(api.call("PUT", f"/api/v1/update-post/{g}", body) for g in groups))
    late = (datetime.now(UTC) - due).total_seconds()
    if started is not None:
        if late > 0:
            print(f"    warning: scheduling ended {late:.2f} s after the due time", flush=True)
        await asyncio.sleep(-late)
        started()
    stop_at = time.monotonic() + timeout
    while True:
        rows = await outcomes(db, groups)
        if all(status in ("published", "failed") for status, _, _ in rows):
            break
        if time.monotonic() > stop_at or worker.poll() is not None:
            raise RuntimeError(f"posts not finished: {rows}\n{log_tail(worker)}")
        await asyncio.sleep(0.1)
    failed = [row for row in rows if row[0] != "published"]
    if failed:
        raise RuntimeError(f"{len(failed)} posts failed: {failed}\n{log_tail(worker)}")
    return rows


async def measure_worker(
    api: Api, groups: list[str], db: Any, worker: subprocess.Popen[bytes], sim_pid: int, profile: bool
) -> dict[str, Any]:
    """Publish `groups` due shortly: the due time, the worker's memory and CPU, the simulator's CPU."""
    await asyncio.sleep(1.0)  # let it settle before reading its idle size
    memory = ProcMemory(worker.pid)
    idle = memory.field("VmRSS")
    spy = await start_profile(worker.pid) if profile else None
    cpu: dict[str, float] = {}

    def started() -> None:
        cpu.update(
            worker=cpu_seconds(worker.pid), simulator=cpu_seconds(sim_pid), reads=disk_reads(worker.pid)
        )

    with memory:
        due = datetime.now(UTC) + timedelta(seconds=LEAD_SECONDS)
        rows = await publish_due(api, groups, db, worker, due, started=started)
        worker_cpu, sim_cpu = cpu_seconds(worker.pid) - cpu["worker"], cpu_seconds(sim_pid) - cpu["simulator"]
    if spy is not None:
        await print_profile(*spy)
    errors = await step_errors(db, groups)
    if errors:
        print(f"    errors while publishing (steps retried): {errors}", flush=True)
    published = max(at for _, _, at in rows if at is not None)
    return {
        "due": due,
        "published_seconds": (published - due).total_seconds(),
        "rss_idle": idle,
        "rss_peak": memory.peak,
        "rss_growth": memory.peak - idle,
        "vmhwm": memory.field("VmHWM"),
        "cpu": worker_cpu,
        "sim_cpu": sim_cpu,
        "errors": sum(errors.values()),
        "disk_reads": disk_reads(worker.pid) - cpu["reads"],
    }


async def received_videos(http: Any, sim: str, tokens: dict[str, str], size: int) -> list[datetime]:
    """When the fake received the last byte of each video; checks that it holds each one, whole."""
    async with http.get(f"{sim}/_control/posts", params={"platform": "youtube"}) as r:
        listed = (await r.json())["posts"]
    mine = [p for p in listed if p["account"] in tokens]
    if len(mine) != len(tokens) or any(p["media"][0]["size"] != size for p in mine):
        raise RuntimeError(f"the fake holds {len(mine)} videos, not {len(tokens)} complete ones")
    return [await uploaded_at(http, sim, p["id"], tokens[p["account"]]) for p in mine]


def serve_simulator(port: int) -> None:
    import uvicorn

    from postpost.simulator import create_simulator_app

    options = {"youtube": {"processing_seconds": 0.0, "quota_uploads": 10**6, "channel_daily_uploads": 10**6}}
    uvicorn.run(
        create_simulator_app(options=options),
        host="127.0.0.1",
        port=port,
        access_log=False,
        log_level="warning",
        workers=1,
    )


def run_phase(phase: str, origin: str, sim_pid: int, path: Path, uploads: int) -> dict[str, Any]:
    """Run one phase in a child process; its measurements."""
    argv = ["--phase", phase, "--origin", origin, "--sim-pid", str(sim_pid), "--file", str(path)]
    argv += ["--uploads", str(uploads)]
    out = subprocess.run([python(), __file__, *argv], capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"{phase} failed:\n{out.stderr[-3000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument("--size-mb", type=int, default=50)
    parser.add_argument(
        "--small-mb", type=int, default=5, help="second size, to see whether memory follows it"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds at --size-mb (one at --small-mb)")
    parser.add_argument(
        "--phases", default="baseline,worker,adapter", help="comma-separated: baseline, worker, adapter"
    )
    parser.add_argument(
        "--cold", action="store_true", help="no warm-up post: time the worker's first publishes"
    )
    parser.add_argument("--profile", action="store_true", help="py-spy the worker (if installed)")
    parser.add_argument("--serve-simulator", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--origin", help=argparse.SUPPRESS)
    parser.add_argument("--sim-pid", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_simulator:
        serve_simulator(args.serve_simulator)
        return
    if args.phase:
        phase = baseline if args.phase == "baseline" else adapter_run
        print(json.dumps(asyncio.run(phase(args.origin, Path(args.file), args.uploads, args.sim_pid))))
        return

    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    sizes = list(dict.fromkeys((args.size_mb, args.small_mb)))
    port = free_port()
    sim = f"http://127.0.0.1:{port}"
    print(f"load average {loadavg()}; other busy processes: {busy_others()}", flush=True)
    results: list[tuple[str, int, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory(prefix="ppbench-yt-") as tmp:
        files = {}
        for size_mb in [0, *sizes]:  # 0: the worker's warm-up video (1 MiB)
            files[size_mb] = Path(tmp) / f"video-{size_mb}.mp4"
            make_video(files[size_mb], max(size_mb, 1) * MB)
        # the simulator's scratch files (received uploads) live in `tmp` and go with it
        serve = [python(), __file__, "--serve-simulator", str(port)]
        with running(serve, port, env={"TMPDIR": tmp}) as simulator:
            for size_mb in sizes:
                for round_ in range(args.rounds if size_mb == args.size_mb else 1):
                    # alternate the order so that warm-up favours no phase
                    for phase in phases if round_ % 2 == 0 else phases[::-1]:
                        load = loadavg()
                        if phase == "worker":
                            warmup = None if args.cold else files[0]
                            run = worker_run(
                                sim,
                                simulator.pid,
                                files[size_mb],
                                args.uploads,
                                warmup=warmup,
                                profile=args.profile,
                            )
                            got = asyncio.run(run)
                        else:
                            got = run_phase(
                                phase, sim + "/youtube", simulator.pid, files[size_mb], args.uploads
                            )
                        got["load"] = load
                        results.append((phase, size_mb, got))
                        print(f"  {phase} {size_mb} MB: {got}", flush=True)
    print(f"load average {loadavg()}; other busy processes: {busy_others()}")
    report(results, args.uploads, sizes)


def report(results: list[tuple[str, int, dict[str, Any]]], uploads: int, sizes: list[int]) -> None:
    print(f"== {uploads} YouTube uploads at once, one generated video each (sandbox simulator)")
    headers = ["phase", "MB each", "load", "s to last byte", "MB/s", "s to published", "client CPU s"]
    headers += ["simulator CPU s", "disk reads MB", "RSS growth MB", "failed steps"]
    rows = [
        [
            phase,
            size_mb,
            got["load"],
            got["seconds"],
            uploads * size_mb / got["seconds"],
            got.get("published_seconds", float("nan")),
            got["cpu"],
            got["sim_cpu"],
            got["disk_reads"] / MB,
            got["rss_growth"] / MB,
            got.get("errors", "-"),
        ]
        for phase, size_mb, got in results
    ]
    print(table(headers, rows))
    workers = [(size_mb, got) for phase, size_mb, got in results if phase == "worker"]
    if workers:
        print("== the worker process (`postpost worker`): resident memory")
        headers = ["MB each", "idle RSS MB", "peak RSS MB", "peak over idle MB", "VmHWM MB"]
        memory = [
            [size_mb, got["rss_idle"] / MB, got["rss_peak"] / MB, got["rss_growth"] / MB, got["vmhwm"] / MB]
            for size_mb, got in workers
        ]
        print(table(headers, memory))
    times: dict[tuple[str, int], list[float]] = {}
    for phase, size_mb, got in results:
        times.setdefault((phase, size_mb), []).append(got["seconds"])
        if "published_seconds" in got:
            times.setdefault((phase + " published", size_mb), []).append(got["published_seconds"])
    for size_mb in sizes:
        base = times.get(("baseline", size_mb))
        for name in ("worker", "worker published", "adapter"):
            if base is not None and (name, size_mb) in times:
                mine = times[(name, size_mb)]
                best = min(base) / min(mine)
                middle = statistics.median(base) / statistics.median(mine)
                # the two ran one after the other in each round: the least disturbed by load drifts
                rounds = [b / m for b, m in zip(base, mine, strict=True)]
                print(
                    f"{size_mb} MB: {name} / bare loop throughput = {best:.2f} best runs, "
                    f"{middle:.2f} medians, per round {' '.join(f'{r:.2f}' for r in rounds)} "
                    f"(median {statistics.median(rounds):.2f}; target >= 0.7)"
                )


if __name__ == "__main__":
    main()
