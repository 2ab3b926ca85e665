"""Reading what an uploaded file really is: images with Pillow, videos with PyAV (FFmpeg).

Blocking: call from a thread. A file that is not what its MIME type says raises ProbeError
with a reason meant for the user.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from PIL import Image, UnidentifiedImageError

from postpost.media.formats import DEMUXERS, MIME_OF_PILLOW, PILLOW_FORMATS, media_kind


class ProbeError(Exception):
    """The file cannot be used as the declared type; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Probe:
    """What probing found. Durations in seconds, bit rate in bits per second."""

    format: str  # Pillow's format (JPEG, PNG…) or FFmpeg's demuxer name
    width: int
    height: int
    frames: int | None = None  # images: animation frames
    duration: float | None = None
    frame_rate: float | None = None
    codec: str | None = None
    bit_rate: int | None = None
    audio_codec: str | None = None

    def details(self) -> dict[str, Any]:
        """The metadata fields stored on the media row (INVENTORY §2.6 names)."""
        values: dict[str, Any] = {
            "format": self.format,
            "aspectRatio": round(self.width / self.height, 4) if self.height else None,
            "frames": self.frames,
            "duration": self.duration,
            "frameRate": self.frame_rate,
            "codecName": self.codec,
            "bitRate": self.bit_rate,
            "audioCodecName": self.audio_codec,
        }
        return {name: value for name, value in values.items() if value is not None}


def probe_file(path: Path, mime_type: str) -> Probe:
    """Probe `path` as `mime_type` (an image/* or video/* type)."""
    kind = media_kind(mime_type)
    if kind == "image":
        return probe_image(path, mime_type)
    if kind == "video":
        return probe_video(path, mime_type)
    raise ProbeError(f"Unsupported media type {mime_type}")


def probe_image(path: Path, mime_type: str) -> Probe:
    """Format and size, and a full decode (at reduced scale for JPEG) to catch truncated files."""
    expected = PILLOW_FORMATS.get(mime_type)
    if expected is None:
        raise ProbeError(f"Unsupported image type {mime_type}")
    try:
        with Image.open(path) as image:
            found = image.format or "unknown"
            if found not in expected:
                raise ProbeError(f"Uploaded file is {MIME_OF_PILLOW.get(found, found)}, not {mime_type}")
            width, height = image.size
            frames = int(getattr(image, "n_frames", 1))
            if found in ("JPEG", "MPO"):
                image.draft("RGB", (max(width // 8, 1), max(height // 8, 1)))
            image.seek(0)
            image.load()
    except ProbeError:
        raise
    except Image.DecompressionBombError:
        raise ProbeError("Uploaded image has too many pixels") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise ProbeError(f"Uploaded file is not a valid {mime_type} image") from None
    return Probe(format=found, width=width, height=height, frames=frames)


def probe_video(path: Path, mime_type: str) -> Probe:
    """Container, first video stream (codec, size, frame rate), duration and bit rate."""
    demuxer = DEMUXERS.get(mime_type)
    if demuxer is None:
        raise ProbeError(f"Unsupported video type {mime_type}")
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            found = container.format.name
            if found != demuxer:
                what = "an image" if found.endswith("_pipe") else f"a {found} file"
                raise ProbeError(f"Uploaded file is {what}, not {mime_type}")
            if not container.streams.video:
                raise ProbeError("Uploaded file has no video stream")
            stream = container.streams.video[0]
            codec = stream.codec_context
            if next(container.decode(stream), None) is None:
                raise ProbeError("Uploaded video has no decodable frames")
            duration = _duration(container.duration, stream.duration, stream.time_base)
            rate = stream.average_rate or stream.guessed_rate
            audio = container.streams.audio[0].codec_context.name if container.streams.audio else None
            return Probe(
                format=found,
                width=int(codec.width),
                height=int(codec.height),
                duration=duration,
                frame_rate=round(float(rate), 3) if rate else None,
                codec=codec.name,
                bit_rate=int(container.bit_rate or codec.bit_rate or 0) or None,
                audio_codec=audio,
            )
    except ProbeError:
        raise
    except (av.FFmpegError, OSError, ValueError, StopIteration):
        raise ProbeError(f"Uploaded file is not a valid {mime_type} video") from None


def _duration(container: int | None, stream: int | None, time_base: Fraction | None) -> float | None:
    if container:
        return round(container / av.time_base, 3)
    if stream and time_base:
        return round(float(stream * time_base), 3)
    return None
