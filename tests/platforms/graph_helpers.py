"""Helpers for the Meta adapter tests: a media host, a separate simulator, driving multi-step publishes.

The media host serves a file at ``/<name>?sig=<signature>`` over real HTTP (for platforms that
fetch media by URL); a wrong or missing signature is refused with 403, as postpost's signed
media URLs are, an unknown name with 404.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import hmac
import io
from collections.abc import Iterator
from typing import Any

import av
import pytest
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from postpost.platforms.base import InProgress, PlatformAdapter, Published, PublishJob
from postpost.simulator import create_simulator_app
from tests.conftest import ServerThread

SECRET = b"media-server-test-key"


class MediaServer:
    """Files by name, served with their content type; `url(name)` is a signed URL."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        self.fetched: list[str] = []
        self.base = ""

    def add(self, name: str, data: bytes, mime_type: str) -> str:
        self.files[name] = (data, mime_type)
        return self.url(name)

    def url(self, name: str, *, signature: str | None = None) -> str:
        return f"{self.base}/{name}?sig={signature or self.sign(name)}"

    @staticmethod
    def sign(name: str) -> str:
        return hmac.new(SECRET, name.encode(), hashlib.sha256).hexdigest()[:32]

    async def serve(self, request: Request) -> Response:
        name = request.path_params["name"]
        self.fetched.append(name)
        if not hmac.compare_digest(request.query_params.get("sig", ""), self.sign(name)):
            return Response("Invalid URL signature", 403)
        if name not in self.files:
            return Response("Not found", 404)
        data, mime_type = self.files[name]
        return Response(data, media_type=mime_type)


@pytest.fixture(scope="session", name="media_server")
def media_server_fixture() -> Iterator[MediaServer]:
    server = MediaServer()
    with ServerThread(Starlette(routes=[Route("/{name}", server.serve)])) as url:
        server.base = url
        yield server


@pytest.fixture(name="media_host")
def media_host_fixture(media_server: MediaServer) -> MediaServer:
    """The media host, emptied for this test (import both fixtures where they are used)."""
    media_server.files.clear()
    media_server.fetched.clear()
    return media_server


@contextlib.contextmanager
def own_simulator(**options: Any) -> Iterator[str]:
    """A separate simulator over real HTTP, built with `options` (e.g. a clock, quotas)."""
    with ServerThread(create_simulator_app(**options)) as url:
        yield url


async def drive(adapter: PlatformAdapter, job: PublishJob, *, steps: int = 20) -> tuple[Published, int]:
    """Call `publish` until it is done, each step with the state of the last (no waiting);
    the result and how many steps it took."""
    for step in range(1, steps + 1):
        result = await adapter.publish(job)
        if not isinstance(result, InProgress):
            return result, step
        job = dataclasses.replace(job, state=result.state)
    raise AssertionError(f"not published after {steps} steps")


@functools.cache
def large_video() -> bytes:
    """A 3 s video of noise, about 5 MB: it streams as several pieces."""
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=25, options={"preset": "ultrafast", "crf": "0"})
        stream.width, stream.height, stream.pix_fmt = 256, 192, "yuv420p"
        for _ in range(75):
            frame = av.VideoFrame.from_image(Image.effect_noise((256, 192), 80).convert("RGB"))
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return out.getvalue()
