"""The media types postpost accepts for upload and how each is recognised in the bytes."""

from __future__ import annotations

from collections.abc import Iterable

from postpost.platforms.descriptor import MediaRules

# What the contract lists as accepted by at least one platform (INVENTORY §4.5, §5.1).
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "image/tiff")
VIDEO_TYPES = ("video/mp4", "video/quicktime", "video/x-msvideo", "video/x-matroska", "video/webm")

# Pillow's format names for each image type (cameras write multi-picture JPEGs as MPO).
PILLOW_FORMATS: dict[str, frozenset[str]] = {
    "image/jpeg": frozenset({"JPEG", "MPO"}),
    "image/png": frozenset({"PNG"}),
    "image/gif": frozenset({"GIF"}),
    "image/webp": frozenset({"WEBP"}),
    "image/bmp": frozenset({"BMP"}),
    "image/tiff": frozenset({"TIFF"}),
}
MIME_OF_PILLOW = {name: mime for mime, names in PILLOW_FORMATS.items() for name in names}

# FFmpeg's demuxer for each video type (MP4 and MOV share one, as do Matroska and WebM).
DEMUXERS: dict[str, str] = {
    "video/mp4": "mov,mp4,m4a,3gp,3g2,mj2",
    "video/quicktime": "mov,mp4,m4a,3gp,3g2,mj2",
    "video/x-msvideo": "avi",
    "video/x-matroska": "matroska,webm",
    "video/webm": "matroska,webm",
}


def normalize_mime(value: str) -> str:
    """`Image/JPEG; charset=x ` → `image/jpeg`."""
    return value.split(";", 1)[0].strip().lower()


def media_kind(mime_type: str) -> str | None:
    """`image` or `video` from the MIME type's top-level type, else None."""
    top = mime_type.split("/", 1)[0]
    return top if top in ("image", "video") else None


def accepted_types(rules: Iterable[MediaRules] = ()) -> tuple[str, ...]:
    """Every upload type some platform accepts: the contract's list and the descriptors' types."""
    extra: set[str] = set()
    for rule in rules:
        extra |= rule.image_types | rule.video_types
    known = IMAGE_TYPES + VIDEO_TYPES
    return known + tuple(sorted(t for t in extra if t not in known and media_kind(t)))
