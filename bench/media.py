"""Media benchmark: upload throughput and server memory through the local backend, Bluesky conversion.

    .venv/bin/python bench/media.py [--mb 256] [--big-mb 500] [--runs 3] [--photo-runs 5]

* Throughput: a uvicorn subprocess runs `create_app` (local storage, SQLite); this process PUTs a
  generated video of `--mb` MiB to a fresh upload URL (aiohttp, 1 MiB chunks, Content-Length
  given) and times it until the 200 (the server streams to disk, fsyncs, probes, records).
  Baseline, same run, same bytes: this process writes them with `open().write` per chunk and one
  fsync into the same filesystem. Ratio = upload MB/s / baseline MB/s (target >= 0.5).
* Memory: RSS of the server process (`/proc/<pid>/status`, sampled every 20 ms) while it receives
  a `--big-mb` MiB video, against its idle RSS right before (target: flat, < 100 MB over idle).
* Conversion: a generated 12 MP (4000x3000) JPEG photo converted with Bluesky's rules (976.56 KB,
  2000x2000 px) by `postpost.media.convert.convert_image`; baseline: Pillow's one-pass minimum
  (draft, resize to 2000x1500, save at quality 90), which does not guarantee the byte limit.

The uploaded "videos" are a real one-second MP4 followed by an MP4 `free` box of zeros, generated
on the fly: nothing large is kept on disk apart from what the server stores (removed at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import SECRET, busy_others, free_port, loadavg, new_database, python, running, table  # noqa: E402

MIB = 1024 * 1024
CHUNK = b"\0" * MIB


def clip() -> bytes:
    """A real, tiny MP4 (H.264, 1 s, 64x48)."""
    import av
    from PIL import Image

    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=25, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for index in range(25):
            frame = av.VideoFrame.from_image(Image.new("RGB", (64, 48), (index * 9, 80, 160)))
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def video_parts(head: bytes, total: int) -> Iterator[bytes]:
    """`head` then one `free` box padding the file to `total` bytes, in 1 MiB chunks."""
    padding = total - len(head)
    yield head + padding.to_bytes(4, "big") + b"free"
    left = padding - 8
    while left > 0:
        chunk = CHUNK if left >= MIB else CHUNK[:left]
        left -= len(chunk)
        yield chunk


async def as_async(parts: Iterator[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def serve(url: str, data_dir: str, port: int) -> None:
    import uvicorn

    from postpost.api.app import create_app
    from postpost.config import Settings
    from postpost.db.session import Database

    settings = Settings(
        data_dir=Path(data_dir),
        database_url=url,
        secret_key=SECRET,  # type: ignore[arg-type]
        sandbox=False,
        workers=0,
        port=port,
        media_max_bytes=4096 * MIB,
    )
    database = Database(settings.resolved_database_url)
    app = create_app(settings, database, own_database=True)
    uvicorn.run(app, host="127.0.0.1", port=port, access_log=False, log_level="warning", workers=1)


async def seed(url: str) -> tuple[str, str]:
    """A user (no upload cap of its own) with a key and a Mastodon connection; (api key, platform id)."""
    from postpost.config import async_database_url
    from postpost.db.migrate import upgrade
    from postpost.db.session import Database
    from postpost.security import KeyHasher, SecretBox
    from postpost.services import accounts, connections

    database = Database(async_database_url(url))
    try:
        await upgrade(database)
        async with database.session() as session:
            user = await accounts.create_user(session, "bench-media@example.com", plan="premium")
            user.entitlements = {"mediaMaxBytes": None}
            key = await accounts.create_key(session, KeyHasher(SECRET.encode()), user.id)
            connection = await connections.add_connection(
                session, SecretBox(SECRET.encode()), user_id=user.id, platform="mastodon", account_id="1"
            )
            await session.commit()
            return key.raw, connection.compound_id
    finally:
        await database.dispose()


class RssSampler:
    """Peak resident memory of one process, sampled in a thread."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.pid, self.interval = pid, interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            time.sleep(self.interval)

    def __enter__(self) -> RssSampler:
        self.peak = self.rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())


async def upload(session: Any, base: str, api_key: str, group_id: str, head: bytes, size: int) -> float:
    """Seconds to PUT a `size`-byte video to a fresh upload URL (200 asserted)."""
    headers = {"x-api-key": api_key}
    body = {"fileName": "bench.mp4", "contentType": "video/mp4", "postGroupId": group_id}
    async with session.post(f"{base}/api/v1/get-upload-url", json=body, headers=headers) as r:
        issued = await r.json()
        assert r.status == 200, issued
    started = time.perf_counter()
    put_headers = {"content-type": "video/mp4", "content-length": str(size)}
    async with session.put(
        issued["uploadUrl"], data=as_async(video_parts(head, size)), headers=put_headers
    ) as r:
        reply = await r.json()
        assert r.status == 200 and reply["size"] == size, reply
    return time.perf_counter() - started


def bare_copy(directory: Path, head: bytes, size: int) -> float:
    """Seconds to write the same bytes with open().write per chunk and one fsync (the baseline)."""
    path = directory / "baseline.bin"
    started = time.perf_counter()
    with open(path, "wb") as out:
        for part in video_parts(head, size):
            out.write(part)
        out.flush()
        os.fsync(out.fileno())
    elapsed = time.perf_counter() - started
    path.unlink()
    return elapsed


def conversion(runs: int) -> list[list[Any]]:
    from PIL import Image

    from postpost.media.convert import convert_image
    from postpost.platforms.descriptor import MediaRules

    photo = photo_12mp()
    rules = MediaRules(
        max_images=4,
        image_types=frozenset({"image/jpeg", "image/png", "image/webp"}),
        image_max_bytes=976_560,
        image_max_pixels=(2000, 2000),
    )
    ours, base = [], []
    result = None
    base_size = 0
    for _ in range(runs):
        started = time.perf_counter()
        result = convert_image(photo, "image/jpeg", rules)
        ours.append(time.perf_counter() - started)
        started = time.perf_counter()
        with Image.open(io.BytesIO(photo)) as image:
            image.draft("RGB", (2000, 1500))
            small = image.resize((2000, 1500), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        small.save(out, format="JPEG", quality=90)
        base_size = out.tell()
        base.append(time.perf_counter() - started)
    assert result is not None
    decoded = Image.open(io.BytesIO(result.data))
    return [
        [
            f"{len(photo) / 1e6:.2f} MB 4000x3000",
            f"{result.size:,} B {decoded.size[0]}x{decoded.size[1]} {decoded.format}",
            statistics.median(ours) * 1000,
            min(ours) * 1000,
            f"{base_size:,} B",
            statistics.median(base) * 1000,
            statistics.median(ours) / statistics.median(base),
        ]
    ]


def photo_12mp() -> bytes:
    """A photo-like 4000x3000 JPEG (smooth colour fields, shapes and sensor-like noise)."""
    import random

    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(7)
    width, height = 4000, 3000
    small = Image.new("RGB", (80, 60))
    small.putdata(
        [
            (x * 3 + rng.randrange(30), y * 4 + rng.randrange(30), 120 + rng.randrange(60))
            for y in range(60)
            for x in range(80)
        ]
    )
    image = small.resize((width, height), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(image)
    for _ in range(120):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(20, 300)
        draw.ellipse(
            (x - r, y - r, x + r, y + r), fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256))
        )
    image = image.filter(ImageFilter.GaussianBlur(1))
    image = Image.blend(image, Image.effect_noise((width, height), 60).convert("RGB"), 0.3)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=92)
    return out.getvalue()


async def main_async(args: argparse.Namespace) -> None:
    import aiohttp

    print(
        f"Media benchmark: {os.cpu_count()} CPUs, python {sys.version.split()[0]}, load average {loadavg()}"
    )
    print(f"other busy processes: {busy_others()}", flush=True)
    db = new_database("sqlite", "media")
    data_dir = Path(tempfile.mkdtemp(prefix="ppbench-media-"))
    try:
        api_key, platform_id = await seed(db.url)
        port = free_port()
        script = str(Path(__file__).resolve())
        head = clip()
        base = f"http://127.0.0.1:{port}"
        command = [
            python(),
            script,
            "--serve",
            "--url",
            db.url,
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
        ]
        with running(command, port) as server:
            async with aiohttp.ClientSession() as session:
                draft = {"content": "bench", "platforms": [platform_id]}
                async with session.post(
                    f"{base}/api/v1/create-post", json=draft, headers={"x-api-key": api_key}
                ) as r:
                    group_id = (await r.json())["postGroupId"]
                await upload(session, base, api_key, group_id, head, 8 * MIB)  # warm-up: imports, first probe

                sampler = RssSampler(server.pid)
                idle = sampler.rss()
                with sampler:
                    big_seconds = await upload(session, base, api_key, group_id, head, args.big_mb * MIB)
                memory = [
                    [
                        f"{args.big_mb} MiB",
                        idle / MIB,
                        sampler.peak / MIB,
                        (sampler.peak - idle) / MIB,
                        args.big_mb / big_seconds,
                    ]
                ]

                size = args.mb * MIB
                rows = []
                for run in range(args.runs):
                    seconds = await upload(session, base, api_key, group_id, head, size)
                    baseline = bare_copy(data_dir, head, size)
                    rows.append(
                        [run + 1, f"{args.mb} MiB", args.mb / seconds, args.mb / baseline, baseline / seconds]
                    )
        rows.append(
            [
                "median",
                f"{args.mb} MiB",
                statistics.median(r[2] for r in rows),
                statistics.median(r[3] for r in rows),
                statistics.median(r[4] for r in rows),
            ]
        )
        print("\n== upload throughput, local backend (target ratio >= 0.5) ==")
        print(table(["run", "size", "upload MiB/s", "open().write MiB/s", "ratio"], rows))
        print("\n== server memory while receiving (target < 100 MiB over idle) ==")
        print(table(["upload", "idle RSS MiB", "peak RSS MiB", "over idle MiB", "MiB/s"], memory))
        print("\n== Bluesky conversion of a 12 MP photo (976.56 KB, 2000x2000 px) ==", flush=True)
        print(
            table(
                ["input", "output", "median ms", "min ms", "one-pass size", "one-pass ms", "ratio"],
                conversion(args.photo_runs),
            )
        )
    finally:
        db.drop()
        shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mb", type=int, default=256, help="MiB per throughput upload")
    parser.add_argument("--big-mb", type=int, default=500, help="MiB of the upload whose memory is sampled")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--photo-runs", type=int, default=5)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.url, args.data_dir, args.port)
        return
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
