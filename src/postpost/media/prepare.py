"""Preparing a media file for one platform, converting at most once per (media, platform rules).

Converted images are cached in storage under `cache/<media id>/<platform>-<digest>`, where the
digest covers the rules that shape the conversion (and the converter's version), so every
account of a platform reuses the same bytes and a change of rules makes a new copy.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import weakref

from postpost.media.convert import ConversionError, convert_image, needs_conversion
from postpost.media.types import PreparedMedia, StoredMedia
from postpost.platforms.descriptor import MediaRules
from postpost.storage.base import Storage

CONVERTER_VERSION = 1  # bump when convert.py changes its output
MAX_SOURCE_IMAGE_BYTES = 128 * 1024 * 1024  # largest image read into memory for conversion


class MediaNotReady(Exception):
    """The file is not usable (upload incomplete, or probing failed); `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def rules_digest(rules: MediaRules) -> str:
    """A short digest of everything in `rules` that changes a converted image."""
    shape = {
        "version": CONVERTER_VERSION,
        "types": sorted(rules.image_types),
        "maxBytes": rules.image_max_bytes,
        "maxPixels": list(rules.image_max_pixels) if rules.image_max_pixels else None,
        "convert": sorted(rules.convert.items()),
    }
    return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:16]


def cache_key(media_id: str, platform: str, rules: MediaRules) -> str:
    return f"cache/{media_id}/{platform}-{rules_digest(rules)}"


class MediaPreparer:
    """Turns a ready StoredMedia into the object to send to a platform (one per worker process)."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def prepare(self, media: StoredMedia, platform: str, rules: MediaRules) -> PreparedMedia:
        """The original when the platform takes it as it is, else the cached or new conversion.

        Raises MediaNotReady for a file that is not `ready`, ConversionError when no acceptable
        image can be made.
        """
        if media.status != "ready" or media.size is None:
            raise MediaNotReady(media.error or "Media upload has not completed")
        if media.type != "image" or not needs_conversion(
            media.mime_type, media.size, media.width or 0, media.height or 0, rules
        ):
            return _original(media)
        key = cache_key(media.id, platform, rules)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = await self.storage.stat(key)
            if cached is None:
                data = await self.storage.read(media.key, limit=MAX_SOURCE_IMAGE_BYTES)
                result = await asyncio.to_thread(convert_image, data, media.mime_type, rules)
                if not result.changed:  # probing and the bytes disagree; send what is stored
                    return _original(media)
                metadata = {"width": str(result.width), "height": str(result.height)}
                await self.storage.put(key, result.data, result.mime_type, metadata)
                return _prepared(media, key, result.mime_type, result.size, result.width, result.height)
        return _prepared(
            media,
            key,
            cached.content_type,
            cached.size,
            int(cached.metadata.get("width", 0)) or None,
            int(cached.metadata.get("height", 0)) or None,
        )


def _original(media: StoredMedia) -> PreparedMedia:
    return PreparedMedia(
        media_id=media.id,
        type=media.type,
        key=media.key,
        mime_type=media.mime_type,
        size=media.size or 0,
        width=media.width,
        height=media.height,
        duration=media.duration,
        converted=False,
    )


def _prepared(
    media: StoredMedia, key: str, mime_type: str, size: int, width: int | None, height: int | None
) -> PreparedMedia:
    return PreparedMedia(
        media_id=media.id,
        type=media.type,
        key=key,
        mime_type=mime_type,
        size=size,
        width=width,
        height=height,
        duration=None,
        converted=True,
    )


__all__ = ["ConversionError", "MediaNotReady", "MediaPreparer", "cache_key", "rules_digest"]
