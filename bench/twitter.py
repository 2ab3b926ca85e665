"""X adapter benchmark: chunked media upload and tweet creation against the fake X, with a bare baseline.

The simulator runs under uvicorn in its own process on loopback. Measured in this process:

* upload: `TwitterAdapter.uploads.media_ids` for one video of `--mb` MB (random bytes, so the
  fake's processing fails at the end; the time covers initialize, every append and finalize),
  against a bare aiohttp loop sending the same segments to the same append endpoint (one
  initialize, the appends, one finalize, nothing else);
* create: `TwitterAdapter.publish` of text tweets, 16 at a time on 16 accounts, against a bare
  aiohttp loop posting the same JSON with the same headers.

Prints MB/s and tweets/s for each and the ratio adapter / baseline (best of `--runs`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
from bench._common import free_port, python, running  # noqa: E402

from postpost.platforms._twitter_upload import MediaUploader  # noqa: E402
from postpost.platforms.base import (  # noqa: E402
    Credentials,
    MediaFile,
    PlatformError,
    PostPart,
    PublishJob,
    Secrets,
)
from postpost.platforms.descriptor import MB  # noqa: E402
from postpost.platforms.twitter import DESCRIPTOR, TwitterAdapter  # noqa: E402

CONCURRENCY = 16


class Memory:
    """A media source over bytes in memory."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    async def read(self) -> bytes:
        return self.data

    async def chunks(self, *, offset: int = 0, chunk_size: int = 4 * MB) -> AsyncIterator[bytes]:
        for start in range(offset, len(self.data), chunk_size):
            yield self.data[start : start + chunk_size]


def serve_simulator(port: int) -> None:
    import uvicorn

    from postpost.simulator import create_simulator_app

    app = create_simulator_app(options={"twitter": {"app_daily_limit": 10**9}})  # many runs in one day
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def account(base: str) -> Credentials:
    assert DESCRIPTOR.sandbox_account is not None
    made = DESCRIPTOR.sandbox_account()
    return Credentials(made.account_id, {"api": f"{base}/twitter"}, Secrets(made.secrets), made.username)


async def adapter_upload(http: aiohttp.ClientSession, base: str, data: bytes) -> float:
    adapter = TwitterAdapter(http, timeout=30)
    creds = account(base)
    started = time.perf_counter()
    try:
        video = MediaFile("v", "video", "video/mp4", len(data), Memory(data))
        await adapter.uploads.media_ids(creds, (video,), None)
    except PlatformError as exc:
        assert "process" in exc.message, exc.message  # random bytes: X cannot process them
    return time.perf_counter() - started


async def bare_upload(http: aiohttp.ClientSession, base: str, data: bytes, segment: int) -> float:
    creds = account(base)
    headers = {"Authorization": f"Bearer {creds.secrets['access_token']}"}
    root = f"{base}/twitter/2/media/upload"
    started = time.perf_counter()
    body = {"media_type": "video/mp4", "total_bytes": len(data), "media_category": "amplify_video"}
    async with http.post(f"{root}/initialize", json=body, headers=headers) as resp:
        media_id = (await resp.json())["data"]["id"]
    for index, start in enumerate(range(0, len(data), segment)):
        form = aiohttp.FormData()
        form.add_field("segment_index", str(index))
        form.add_field(
            "media", data[start : start + segment], filename="blob", content_type="application/octet-stream"
        )
        async with http.post(f"{root}/{media_id}/append", data=form, headers=headers) as resp:
            assert resp.status == 200, await resp.text()
    async with http.post(f"{root}/{media_id}/finalize", headers=headers) as resp:
        await resp.read()
    return time.perf_counter() - started


async def adapter_tweets(http: aiohttp.ClientSession, base: str, count: int) -> float:
    adapter = TwitterAdapter(http, timeout=30)
    accounts = [account(base) for _ in range(CONCURRENCY)]

    async def sender(worker: int) -> None:
        for i in range(worker, count, CONCURRENCY):
            await adapter.publish(
                PublishJob(PostPart(f"tweet {i} from the adapter"), accounts[worker], f"k{i}")
            )

    started = time.perf_counter()
    await asyncio.gather(*(sender(w) for w in range(CONCURRENCY)))
    return time.perf_counter() - started


async def bare_tweets(http: aiohttp.ClientSession, base: str, count: int) -> float:
    accounts = [account(base) for _ in range(CONCURRENCY)]

    async def sender(worker: int) -> None:
        headers = {"Authorization": f"Bearer {accounts[worker].secrets['access_token']}"}
        for i in range(worker, count, CONCURRENCY):
            body = {"text": f"tweet {i} from the baseline"}
            async with http.post(f"{base}/twitter/2/tweets", json=body, headers=headers) as resp:
                assert resp.status == 201, await resp.text()
                await resp.read()

    started = time.perf_counter()
    await asyncio.gather(*(sender(w) for w in range(CONCURRENCY)))
    return time.perf_counter() - started


async def measure(base: str, mb: int, tweets: int, runs: int) -> dict[str, Any]:
    data = os.urandom(mb * MB)
    segment = MediaUploader.segment_bytes
    results: dict[str, list[float]] = {k: [] for k in ("up_adapter", "up_bare", "tw_adapter", "tw_bare")}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        for run in range(runs):  # alternate which goes first, so warm-up favours neither
            pairs = [
                ("up_bare", bare_upload(http, base, data, segment)),
                ("up_adapter", adapter_upload(http, base, data)),
                ("tw_bare", bare_tweets(http, base, tweets)),
                ("tw_adapter", adapter_tweets(http, base, tweets)),
            ]
            if run % 2:
                pairs = [pairs[1], pairs[0], pairs[3], pairs[2]]
            for name, job in pairs:
                results[name].append(await job)
    return {k: min(v) for k, v in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=64, help="size of the uploaded file")
    parser.add_argument(
        "--tweets", type=int, default=1600, help="tweets per create run (100 per account max)"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--serve-simulator", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_simulator:
        serve_simulator(args.serve_simulator)
        return
    port = free_port()
    with running([python(), str(Path(__file__).resolve()), "--serve-simulator", str(port)], port):
        r = asyncio.run(measure(f"http://127.0.0.1:{port}", args.mb, args.tweets, args.runs))
    up_a, up_b = args.mb / r["up_adapter"], args.mb / r["up_bare"]
    tw_a, tw_b = args.tweets / r["tw_adapter"], args.tweets / r["tw_bare"]
    print(f"== X adapter vs bare aiohttp, same fake X (best of {args.runs})")
    print(
        f"chunked upload of {args.mb} MB : adapter {up_a:7.1f} MB/s   bare {up_b:7.1f} MB/s   ratio {up_a / up_b:.2f}"
    )
    print(
        f"create tweet x{args.tweets:<5}  : adapter {tw_a:7.1f} /s     bare {tw_b:7.1f} /s     ratio {tw_a / tw_b:.2f}"
    )


if __name__ == "__main__":
    main()
