"""The media side of the fake X API: uploads, their checks and their processing, without HTTP.

An upload is one-shot (an image in one request) or chunked (initialize, append segments,
finalize). Chunked video and GIF uploads are then processed: the status moves from ``pending``
to ``in_progress`` to ``succeeded`` (or ``failed``) as the world's clock passes the item's
ready time. Files are measured for real (Pillow for images, PyAV for video) when they are
complete; their bytes are dropped once measured.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import Any

import av
from PIL import Image, UnidentifiedImageError

MB = 1024 * 1024
SEGMENT_MAX = 5 * MB
MAX_SEGMENTS = 1000
EXPIRES_AFTER = 86_400
# what each media category may hold
CATEGORY_MAX_BYTES = {
    "tweet_image": 5 * MB,
    "tweet_gif": 15 * MB,
    "tweet_video": 512 * MB,
    "amplify_video": 512 * MB,
}
CATEGORY_TYPES = {
    "tweet_image": frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"}),
    "tweet_gif": frozenset({"image/gif"}),
    "tweet_video": frozenset({"video/mp4", "video/quicktime"}),
    "amplify_video": frozenset({"video/mp4", "video/quicktime"}),
}
IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
VIDEO_MIN_SECONDS = 0.5
VIDEO_MAX_SECONDS = 140.0
KEY_PREFIX = {"tweet_image": "3", "tweet_gif": "16", "tweet_video": "7", "amplify_video": "13"}
UNSUPPORTED = "UnsupportedMedia."


class MediaError(Exception):
    """A refused media call: the HTTP status and the problem's detail."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass
class MediaItem:
    """One uploaded (or uploading) media file of one account."""

    id: str
    account: str
    category: str
    mime_type: str
    total_bytes: int
    created: float
    segments: dict[int, bytes] = field(default_factory=dict)
    state: str = "uploading"  # uploading | pending | succeeded | failed
    ready_at: float = 0.0
    polled: bool = False
    info: dict[str, Any] = field(default_factory=dict)  # the listing's media entry
    fault: str | None = None  # a queued media fault this upload plays
    reason: str = UNSUPPORTED  # why processing failed
    alt_text: str | None = None

    @property
    def key(self) -> str:
        return f"{KEY_PREFIX.get(self.category, '3')}_{self.id}"

    @property
    def received(self) -> int:
        return sum(len(s) for s in self.segments.values())

    @property
    def processed(self) -> bool:
        """Whether this category goes through asynchronous processing after finalize."""
        return self.category != "tweet_image"

    def expired(self, now: float) -> bool:
        return now - self.created > EXPIRES_AFTER

    def upload_json(self, now: float) -> dict[str, Any]:
        """The ``data`` of an upload, finalize or status answer."""
        data: dict[str, Any] = {
            "id": self.id,
            "media_key": self.key,
            "size": self.total_bytes,
            "expires_after_secs": max(0, int(self.created + EXPIRES_AFTER - now)),
        }
        if self.info.get("type") == "image" and self.state == "succeeded":
            data["image"] = {
                "image_type": self.mime_type,
                "w": self.info.get("width"),
                "h": self.info.get("height"),
            }
        if self.processed and self.state != "uploading":
            data["processing_info"] = self.processing_info(now)
        return data

    def processing_info(self, now: float) -> dict[str, Any]:
        if self.state in ("succeeded", "failed"):
            info: dict[str, Any] = {"state": self.state, "progress_percent": 100}
            if self.state == "failed":
                message = f"Invalid or Unsupported media, Reason: {self.reason}"
                info["error"] = {"code": 1, "name": "InvalidMedia", "message": message}
            return info
        left = max(self.ready_at - now, 0.0)
        state = "in_progress" if self.polled else "pending"
        return {
            "state": state,
            "check_after_secs": max(1, math.ceil(left)),
            "progress_percent": 0 if not self.polled else 50,
        }


def check_new_upload(category: str, mime_type: str, total_bytes: int) -> None:
    """Refuse an upload whose category, type or size X would refuse."""
    if category not in CATEGORY_MAX_BYTES:
        raise MediaError(400, f"Invalid media_category: {category}")
    if mime_type not in CATEGORY_TYPES[category]:
        raise MediaError(400, f"media_type {mime_type} is not supported for media_category {category}")
    if total_bytes <= 0:
        raise MediaError(400, "total_bytes must be a positive integer")
    limit = CATEGORY_MAX_BYTES[category]
    if total_bytes > limit:
        raise MediaError(400, f"File size exceeds {limit} bytes.")


def add_segment(item: MediaItem, index: int, data: bytes) -> None:
    """Store one appended segment (a segment sent again replaces the earlier copy)."""
    if item.state != "uploading":
        raise MediaError(400, "The media has already been finalized.")
    if not 0 <= index < MAX_SEGMENTS:
        raise MediaError(400, f"segment_index must be between 0 and {MAX_SEGMENTS - 1}")
    if len(data) > SEGMENT_MAX:
        raise MediaError(400, f"Segment size exceeds {SEGMENT_MAX} bytes.")
    if not data:
        raise MediaError(400, "The media segment is empty.")
    others = item.received - len(item.segments.get(index, b""))
    if others + len(data) > item.total_bytes:
        raise MediaError(400, "Segments add up to more than the provided total file size.")
    item.segments[index] = data


def finalize(item: MediaItem, now: float, processing_seconds: float) -> None:
    """Assemble and measure the file; start processing (or fail it) for processed categories."""
    if item.state != "uploading":
        return  # finalizing twice answers the same status
    if item.received != item.total_bytes:
        raise MediaError(400, "Segments do not add up to provided total file size.")
    data = b"".join(item.segments[i] for i in sorted(item.segments))
    item.segments.clear()
    measured = measure(data, item.mime_type)
    if isinstance(measured, str) and not item.processed:
        raise MediaError(400, f"Invalid or Unsupported media, Reason: {measured}")
    if isinstance(measured, str):
        item.reason = measured
        item.info = {"type": _kind(item.mime_type), "mimeType": item.mime_type, "size": len(data)}
    else:
        item.info = measured
    if not item.processed:
        item.state = "succeeded"
        return
    failed = isinstance(measured, str) or item.fault == "media-processing-failed"
    item.state = "failed" if failed else "pending"
    item.ready_at = now + processing_seconds


def poll(item: MediaItem, now: float) -> None:
    """Advance processing as the clock says (a STATUS call)."""
    if item.state == "pending" and now >= item.ready_at:
        item.state = "succeeded"
    item.polled = True


def measure(data: bytes, mime_type: str) -> dict[str, Any] | str:
    """The listing entry of a complete file, or why it is not acceptable media of its type."""
    if mime_type.startswith("video/"):
        return _measure_video(data, mime_type)
    return _measure_image(data, mime_type)


def _measure_image(data: bytes, mime_type: str) -> dict[str, Any] | str:
    try:
        with Image.open(io.BytesIO(data)) as image:
            found = IMAGE_FORMATS.get(image.format or "")
            width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError):
        return UNSUPPORTED
    if found != mime_type:
        return UNSUPPORTED
    return {"type": "image", "mimeType": mime_type, "size": len(data), "width": width, "height": height}


def _measure_video(data: bytes, mime_type: str) -> dict[str, Any] | str:
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if "mp4" not in container.format.name and "mov" not in container.format.name:
                return UNSUPPORTED
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            if container.duration is not None:
                seconds = container.duration / av.time_base
            elif stream.duration is not None and stream.time_base is not None:
                seconds = float(stream.duration * stream.time_base)
            else:
                return UNSUPPORTED
    except (av.FFmpegError, IndexError, ValueError, OSError):
        return UNSUPPORTED
    if seconds > VIDEO_MAX_SECONDS:
        return f"Duration too long, maximum:{VIDEO_MAX_SECONDS:g}, actual:{seconds:.1f}."
    if seconds < VIDEO_MIN_SECONDS:
        return f"Duration too short, minimum:{VIDEO_MIN_SECONDS:g}, actual:{seconds:.1f}."
    return {
        "type": "video",
        "mimeType": mime_type,
        "size": len(data),
        "width": width,
        "height": height,
        "duration": round(seconds, 3),
    }


def _kind(mime_type: str) -> str:
    return "video" if mime_type.startswith("video/") else "image"


def check_attachable(items: list[MediaItem]) -> str | None:
    """Why these media cannot go on one post together, or None (X: 4 images, or 1 GIF, or 1 video)."""
    if not items:
        return None
    if any(item.state != "succeeded" for item in items):
        return "Your media IDs are invalid."
    single = [i for i in items if i.category != "tweet_image"]
    if single and len(items) > 1:
        return "Your media IDs are invalid."
    if len(items) > 4:
        return "Your media IDs are invalid."
    return None
