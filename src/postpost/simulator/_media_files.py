"""Media the fakes receive: uploads assembled in temporary files, URLs fetched, files measured.

A fake platform measures what it got, as the real one does: videos with PyAV (duration, size,
frame rate), images with Pillow. Files are deleted once measured; only the numbers are kept.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
from starlette.requests import ClientDisconnect

FETCH_TIMEOUT = 30.0


@dataclass(frozen=True)
class Measured:
    """What a media file turned out to be."""

    kind: str  # "video" | "image"
    mime_type: str
    size: int
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    frame_rate: float | None = None
    format: str | None = None  # the container or image format found (e.g. "mov,mp4,…", "JPEG")

    def listing(self) -> dict[str, Any]:
        """The entry of the control listing's ``media``."""
        entry: dict[str, Any] = {
            "type": self.kind,
            "mimeType": self.mime_type,
            "size": self.size,
            "width": self.width,
            "height": self.height,
        }
        if self.kind == "video":
            entry["duration"] = self.duration
        return entry


_directory: str | None = None


def _scratch() -> str:
    """This process's directory for files being received, removed when the process exits."""
    global _directory
    if _directory is None:
        _directory = tempfile.mkdtemp(prefix="ppsim-")
        atexit.register(shutil.rmtree, _directory, ignore_errors=True)
    return _directory


class Upload:
    """A file being assembled from byte ranges in a temporary file."""

    def __init__(self) -> None:
        handle, self.path = tempfile.mkstemp(prefix="upload-", dir=_scratch())
        os.close(handle)
        self.size = 0  # bytes held, from the start

    async def write(self, offset: int, pieces: AsyncIterator[bytes], stop_after: int | None = None) -> int:
        """Write `pieces` at `offset` (stopping after `stop_after` bytes when given); bytes written,
        fewer than sent when the client went away."""
        written = 0
        with open(self.path, "r+b") as out:  # noqa: ASYNC230 - local temp file, page cache
            out.seek(offset)
            try:
                async for piece in pieces:
                    if stop_after is not None and written + len(piece) >= stop_after:
                        out.write(piece[: stop_after - written])
                        written = stop_after
                        break
                    out.write(piece)
                    written += len(piece)
            except ClientDisconnect:
                pass
        self.size = max(self.size, offset + written)
        return written

    def truncate(self, size: int) -> None:
        """Keep only the first `size` bytes."""
        os.truncate(self.path, size)
        self.size = size

    def discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


async def fetch(url: str, limit: int) -> tuple[Upload, str] | str:
    """Download `url` (no redirects) into a temporary file: (file, content type), or why it failed."""
    if not url.startswith(("http://", "https://")):
        return "the URL is not http(s)"
    upload = Upload()
    try:
        async with (
            httpx.AsyncClient(timeout=FETCH_TIMEOUT, follow_redirects=False) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                upload.discard()
                return f"the server answered HTTP {response.status_code}"
            with open(upload.path, "wb") as out:  # noqa: ASYNC230 - local temp file
                async for piece in response.aiter_bytes():
                    upload.size += len(piece)
                    if upload.size > limit:
                        upload.discard()
                        return f"the file is larger than {limit} bytes"
                    out.write(piece)
            return upload, response.headers.get("content-type", "").split(";")[0].strip()
    except httpx.HTTPError as exc:
        upload.discard()
        return f"the download failed ({type(exc).__name__})"


async def measure(upload: Upload, mime_type: str) -> Measured | None:
    """Measure the file (in a thread) and delete it; None when it is not a readable video or image."""
    try:
        if mime_type.startswith("image/"):
            return await anyio.to_thread.run_sync(_measure_image, upload.path, upload.size)
        return await anyio.to_thread.run_sync(_measure_video, upload.path, upload.size, mime_type)
    finally:
        upload.discard()


def _measure_video(path: str, size: int, mime_type: str) -> Measured | None:
    import av

    try:
        with av.open(path) as container:
            if not container.streams.video:
                return None
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            duration = container.duration / 1_000_000 if container.duration else None
            return Measured(
                "video",
                mime_type,
                size,
                stream.codec_context.width,
                stream.codec_context.height,
                round(duration, 3) if duration is not None else None,
                round(float(rate), 3) if rate else None,
                container.format.name,
            )
    except (av.FFmpegError, OSError, ValueError):
        return None


_IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}


def _measure_image(path: str, size: int) -> Measured | None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            found = image.format or ""
            mime = _IMAGE_TYPES.get(found, f"image/{found.lower()}")
            return Measured("image", mime, size, image.width, image.height, format=found)
    except (UnidentifiedImageError, OSError, ValueError):
        return None


def sniff(head: bytes) -> str | None:
    """The media type a file's first bytes (64 are enough) show, as a platform sniffs it; None if unknown."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:2] == b"BM":
        return "image/bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if head[4:8] == b"ftyp":
        return "video/quicktime" if head[8:12] == b"qt  " else "video/mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "video/webm" if b"webm" in head[:64] else "video/x-matroska"
    return None
