"""YouTube upload benchmark: the adapter against a bare aiohttp resumable-upload loop.

The simulator (`create_simulator_app`, YouTube processing set to 0 s and its limits lifted) runs
under uvicorn in its own process. The video is a short PyAV clip grown to `--size-mb` with an MP4
``free`` box, in a temporary file, read by both clients through the same streaming source (a file
read in 1 MiB pieces off the event loop, as the local media storage does).

Each phase runs in a fresh child process so its memory is its own, and starts `--uploads`
uploads at once over one aiohttp session:

* **baseline**: the minimal resumable client: ``POST …/videos?uploadType=resumable`` → Location,
  then ``PUT`` 32 MiB chunks with ``Content-Range`` until the 200 with the video;
* **adapter**: `YouTubeAdapter.publish` driven step by step as the engine would (without the
  waits it asks for): session, offset query + chunks, one ``videos.list`` status check.

Printed per phase: wall time of all uploads, throughput, and the peak growth of the process's
resident memory over its idle size while uploading (sampled every 5 ms). Ratio = baseline time /
adapter time (≥ 0.7 is the target). Run: ``.venv/bin/python bench/youtube.py`` (~1 min).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import io
import json
import os
import struct
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import free_port, python, running, table  # noqa: E402

CHUNK = 32 * 1024 * 1024
PIECE = 1024 * 1024


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


async def measured(work: Any) -> tuple[float, int]:
    """(seconds, peak RSS growth in bytes) of awaiting `work`."""
    idle = rss()
    peak = idle
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss())
            await asyncio.sleep(0.005)

    sampler = asyncio.create_task(sample())
    started = time.perf_counter()
    await work
    elapsed = time.perf_counter() - started
    done.set()
    await sampler
    return elapsed, max(peak, rss()) - idle


def tokens(count: int) -> list[tuple[str, dict[str, str]]]:
    """Sandbox channels: (channel id, secrets)."""
    from postpost.platforms.youtube import DESCRIPTOR

    made = DESCRIPTOR.sandbox_account
    assert made is not None
    return [(a.account_id, dict(a.secrets)) for a in (made() for _ in range(count))]


async def baseline(origin: str, path: Path, uploads: int) -> tuple[float, int]:
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
        body = {"snippet": {"title": f"bench {n}", "description": f"bench {n}", "categoryId": "22"}}
        body["status"] = {"privacyStatus": "public", "selfDeclaredMadeForKids": False}
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
        return await measured(work)


async def adapter_run(origin: str, path: Path, uploads: int) -> tuple[float, int]:
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
        return await measured(work)


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


def run_phase(phase: str, origin: str, path: Path, uploads: int) -> dict[str, Any]:
    """Run one phase in a child process; its measurements."""
    import subprocess

    argv = ["--phase", phase, "--origin", origin, "--file", str(path), "--uploads", str(uploads)]
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
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve-simulator", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--origin", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_simulator:
        serve_simulator(args.serve_simulator)
        return
    if args.phase:
        run = baseline if args.phase == "baseline" else adapter_run
        seconds, growth = asyncio.run(run(args.origin, Path(args.file), args.uploads))
        print(json.dumps({"seconds": seconds, "rss_growth": growth}))
        return

    port = free_port()
    origin = f"http://127.0.0.1:{port}/youtube"
    mb = 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="ppbench-yt-") as tmp:
        files = {}
        for size_mb in (args.size_mb, args.small_mb):
            files[size_mb] = Path(tmp) / f"video-{size_mb}.mp4"
            make_video(files[size_mb], size_mb * mb)
        with running([python(), __file__, "--serve-simulator", str(port)], port):
            rows = []
            best: dict[tuple[str, int], float] = {}
            for size_mb in (args.size_mb, args.small_mb):
                for _ in range(args.rounds if size_mb == args.size_mb else 1):
                    for phase in ("baseline", "adapter"):
                        got = run_phase(phase, origin, files[size_mb], args.uploads)
                        total = args.uploads * size_mb
                        rows.append(
                            [
                                phase,
                                size_mb,
                                args.uploads,
                                got["seconds"],
                                total / got["seconds"],
                                got["rss_growth"] / mb,
                            ]
                        )
                        key = (phase, size_mb)
                        best[key] = min(best.get(key, float("inf")), got["seconds"])
    print(f"== {args.uploads} concurrent YouTube uploads through one aiohttp session (sandbox simulator)")
    print(table(["phase", "MB each", "uploads", "seconds", "MB/s", "peak RSS growth MB"], rows))
    for size_mb in (args.size_mb, args.small_mb):
        ratio = best[("baseline", size_mb)] / best[("adapter", size_mb)]
        print(f"{size_mb} MB: adapter/baseline throughput ratio (best runs) = {ratio:.2f} (target >= 0.7)")


if __name__ == "__main__":
    main()
