"""Helpers for multi-step media publishing tests: a quick simulator, large files, a step driver."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import struct
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from postpost.platforms.base import InProgress, PlatformAdapter, Published, PublishJob
from postpost.simulator import create_simulator_app
from tests.conftest import STALL_SECONDS, ServerThread

# Processing as fast as a test wants it, limits low enough to reach.
QUICK = {
    "tiktok": {"processing_seconds": 0.2, "slow_processing_seconds": 1.2, "daily_posts": 3},
    "youtube": {"processing_seconds": 0.2, "slow_processing_seconds": 1.2, "channel_daily_uploads": 3},
}


@contextlib.contextmanager
def quick_simulator() -> Iterator[str]:
    """The simulator over real HTTP with quick processing (stalling like the shared one)."""
    with ServerThread(create_simulator_app(stall_seconds=STALL_SECONDS, options=QUICK)) as url:
        yield url


def padded_mp4(video: bytes, size: int) -> bytes:
    """`video` grown to `size` bytes with an MP4 ``free`` box: still a valid file of the same video."""
    pad = size - len(video)
    assert pad >= 8
    return video + struct.pack(">I", pad) + b"free" + b"\0" * (pad - 8)


class FileServer:
    """Serves byte strings over HTTP at `/<name>` (a 403 for a name it does not have)."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        self.fetched: list[str] = []

    async def _serve(self, request: Request) -> Response:
        name = request.path_params["name"]
        self.fetched.append(name)
        if name not in self.files:
            return Response("Request has expired", 403)
        data, mime = self.files[name]
        return Response(data, media_type=mime)

    @contextlib.contextmanager
    def running(self) -> Iterator[str]:
        app = Starlette(routes=[Route("/{name}", self._serve)])
        with ServerThread(app) as url:
            yield url


@dataclasses.dataclass
class Run:
    """What driving a publish to its end saw: the states stored between steps."""

    result: Published
    states: list[Mapping[str, Any]]


async def drive(
    adapter: PlatformAdapter | Callable[[], PlatformAdapter],
    job: PublishJob,
    *,
    steps: int = 60,
    longest_wait: float = 0.3,
) -> Run:
    """Call `publish` as the engine does until it is published: each state goes through JSON, and
    a callable `adapter` makes a fresh instance per step (another worker)."""
    states: list[Mapping[str, Any]] = []
    for _ in range(steps):
        current = adapter() if callable(adapter) else adapter
        result = await current.publish(job)
        if isinstance(result, Published):
            return Run(result, states)
        assert isinstance(result, InProgress)
        state = json.loads(json.dumps(result.state))
        states.append(state)
        await asyncio.sleep(min(result.check_after.total_seconds(), longest_wait))
        job = dataclasses.replace(job, state=state)
    raise AssertionError(f"not published after {steps} steps: {states[-3:]}")
