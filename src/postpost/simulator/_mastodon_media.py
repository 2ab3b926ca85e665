"""Media attachments of the fake Mastodon instance: ``POST /api/v2/media``, ``GET /api/v1/media/:id``.

An upload is checked as an instance checks it: the file's type (sniffed from its bytes) must be
one the instance supports and the one the upload declares, it must fit the instance's size limit
for its kind, its description (alt text) is at most 1,500 characters, and it must decode (Pillow,
PyAV). A still image is processed at once (200); a video, or an animated GIF (which Mastodon turns
into a ``gifv``), is processed for `processing_seconds` (202, then 206 on every read until done;
a failed processing reads 422). A status may name only processed media of its own account that
no status holds yet; attached media is no longer readable through the media API (404).

Media faults: one queued for the account (``media-slow``, ``media-processing-failed``) is taken
by its next upload; a post's marker is applied by `mark` when the status names the media.
"""

from __future__ import annotations

import mimetypes
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.datastructures import UploadFile

from postpost.simulator._media_files import Measured, Upload, measure, sniff
from postpost.simulator.world import World

MB = 1024 * 1024
IMAGE_SIZE_LIMIT = 16 * MB
VIDEO_SIZE_LIMIT = 103_809_024
DESCRIPTION_LIMIT = 1500
MAX_ATTACHMENTS = 4
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
VIDEO_TYPES = ("video/mp4", "video/webm", "video/quicktime")

NOT_READY = "Cannot attach files that have not finished processing. Try again in a moment!"
PROCESSING_ERROR = "Error processing thumbnail for uploaded media"
UNVERIFIED = "File type of uploaded media could not be verified"
BAD_TYPE = "Validation failed: File content type is invalid, File is invalid"
SPOOFED = "Validation failed: File has contents that are not what they are reported to be"
TOO_MANY = "Cannot attach more than 4 files"
MIXED = "Cannot attach a video to a post that already contains images"


def media_configuration() -> dict[str, Any]:
    """``configuration.media_attachments`` of the instance endpoints."""
    return {
        "supported_mime_types": [*IMAGE_TYPES, *VIDEO_TYPES],
        "description_limit": DESCRIPTION_LIMIT,
        "image_size_limit": IMAGE_SIZE_LIMIT,
        "image_matrix_limit": 33_177_600,
        "video_size_limit": VIDEO_SIZE_LIMIT,
        "video_frame_rate_limit": 120,
        "video_matrix_limit": 8_294_400,
    }


class Refused(Exception):
    """An upload or attachment the instance refuses: HTTP status and Mastodon's ``error`` text."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


@dataclass
class Attachment:
    """One uploaded file of one account, with what processing makes of it."""

    id: str
    account: str
    kind: str  # image | gifv | video
    measured: Measured
    description: str | None
    ready_at: float
    fails: bool = False
    marked: bool = False  # a post's media marker has played on it
    status_id: str | None = None

    def state(self, now: float) -> str:
        """``processing``, ``failed`` or ``processed``."""
        if now < self.ready_at:
            return "processing"
        return "failed" if self.fails else "processed"

    def as_json(self, base: str, now: float) -> dict[str, Any]:
        """The MediaAttachment entity (no URLs before processing ends)."""
        done = self.state(now) == "processed"
        m = self.measured
        ext = mimetypes.guess_extension(m.mime_type) or ""
        files = f"{base}/system/media_attachments/files/{self.id}"
        meta: dict[str, Any] = {}
        if done and m.width and m.height:
            original: dict[str, Any] = {
                "width": m.width,
                "height": m.height,
                "size": f"{m.width}x{m.height}",
                "aspect": round(m.width / m.height, 4),
            }
            if m.kind == "video":
                original.update(duration=m.duration, frame_rate=f"{m.frame_rate or 0:g}/1")
            meta = {"original": original}
        return {
            "id": self.id,
            "type": self.kind,
            "url": f"{files}/original/{self.id}{'.mp4' if self.kind == 'gifv' else ext}" if done else None,
            "preview_url": f"{files}/small/{self.id}.png" if done else None,
            "remote_url": None,
            "preview_remote_url": None,
            "text_url": None,
            "meta": meta,
            "description": self.description,
            "blurhash": None,
        }


class MediaStore:
    """The instance's media attachments."""

    def __init__(self, world: World, processing_seconds: float, next_id: Callable[[], str]) -> None:
        self.world = world
        self.processing_seconds = processing_seconds
        self.next_id = next_id
        self.items: dict[str, Attachment] = {}

    def forget(self, account: str | None = None) -> None:
        if account is None:
            self.items.clear()
        else:
            for media_id in [k for k, a in self.items.items() if a.account == account]:
                del self.items[media_id]

    async def upload(self, account: str, file: Any, description: Any, fault: str | None) -> Attachment:
        """Check, measure and start processing one uploaded file. Raises `Refused`."""
        if not isinstance(file, UploadFile):
            raise Refused(422, "Validation failed: File can't be blank")
        text = description if isinstance(description, str) and description else None
        if text is not None and len(text) > DESCRIPTION_LIMIT:
            raise Refused(
                422, f"Validation failed: Description is too long (maximum is {DESCRIPTION_LIMIT} characters)"
            )
        head = await file.read(64)
        await file.seek(0)
        found = sniff(head)
        if found is None or found not in (*IMAGE_TYPES, *VIDEO_TYPES):
            raise Refused(422, BAD_TYPE)
        declared = (file.content_type or "").split(";")[0].strip().lower().replace("image/jpg", "image/jpeg")
        if declared != found:
            raise Refused(422, SPOOFED)
        video = found.startswith("video/")
        limit = VIDEO_SIZE_LIMIT if video else IMAGE_SIZE_LIMIT
        if (file.size or 0) > limit:
            raise Refused(422, f"Validation failed: File file size must be less than {limit / MB:g} MB")
        upload = Upload()
        await upload.write(0, _pieces(file))
        animated = found == "image/gif" and await anyio.to_thread.run_sync(_animated, upload.path)
        size = upload.size
        measured = await measure(upload, found)
        if measured is None and not video:
            raise Refused(422, UNVERIFIED)
        kind = "video" if video else "gifv" if animated else "image"
        delay = 0.0 if kind == "image" else self.processing_seconds
        if fault == "media-slow":
            delay = max(delay, self.world.slow_seconds)
        elif fault == "media-processing-failed":
            delay = max(delay, self.processing_seconds)
        fails = measured is None or fault == "media-processing-failed"  # a video is decoded while processing
        measured = measured or Measured("video", found, size)
        item = Attachment(self.next_id(), account, kind, measured, text, self.world.clock() + delay, fails)
        self.items[item.id] = item
        return item

    def unattached(self, account: str, media_id: str) -> Attachment | None:
        """The account's media of that id that no status holds yet."""
        item = self.items.get(media_id)
        return item if item is not None and item.account == account and item.status_id is None else None

    def mark(self, items: list[Attachment], fault: str | None) -> None:
        """Play a post's media marker on its media, once per file: fail it or process it again."""
        if fault not in ("media-processing-failed", "media-slow"):
            return
        now = self.world.clock()
        for item in items:
            if item.marked:
                continue
            item.marked = True
            if fault == "media-processing-failed":
                item.fails, item.ready_at = True, max(item.ready_at, now + self.processing_seconds)
            else:
                item.ready_at = max(item.ready_at, now + self.world.slow_seconds)

    def for_status(self, account: str, ids: list[str], fault: str | None) -> list[Attachment]:
        """The processed media a new status names, in its order. Raises `Refused` as Mastodon does."""
        if not ids:
            return []
        if len(ids) > MAX_ATTACHMENTS:
            raise Refused(422, TOO_MANY)
        found = [self.unattached(account, media_id) for media_id in ids]
        missing = [media_id for media_id, item in zip(ids, found, strict=True) if item is None]
        if missing:
            raise Refused(422, f"Media {', '.join(missing)} not found or already attached to another post")
        items = [item for item in found if item is not None]
        if len(items) > 1 and any(item.kind == "video" for item in items):
            raise Refused(422, MIXED)
        self.mark(items, fault)
        now = self.world.clock()
        if any(item.state(now) != "processed" for item in items):
            raise Refused(422, NOT_READY)
        return items


async def _pieces(file: UploadFile, size: int = MB) -> AsyncIterator[bytes]:
    while piece := await file.read(size):
        yield piece


def _animated(path: str) -> bool:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return bool(getattr(image, "is_animated", False))
    except (UnidentifiedImageError, OSError, ValueError):
        return False
