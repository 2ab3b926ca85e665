"""Turning a group's stored media into what one platform's adapter receives.

At publish time each file is probed if it never was (S3 uploads), checked again against the
platform's rules (a file may have changed since scheduling), converted where the platform needs
it (cached per media and platform rules, so every account of a platform reuses it), and handed
over as a `MediaFile` that streams from storage and carries a signed URL for platforms that
fetch media themselves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from postpost.db.session import Database
from postpost.media.convert import ConversionError
from postpost.media.prepare import MediaNotReady, MediaPreparer
from postpost.media.types import PreparedMedia, StoredMedia
from postpost.platforms.base import ErrorCode, MediaFile, PlatformError
from postpost.platforms.descriptor import PlatformDescriptor
from postpost.services.media import ensure_probed
from postpost.services.media_rules import media_problem
from postpost.storage.base import CHUNK_SIZE, Storage

FETCH_URL_SECONDS = 6 * 3600  # platforms that pull media may queue the fetch for a while
MAX_READ_BYTES = 1024 * 1024 * 1024  # `read()` of a whole file is for images; videos are streamed


class StoredSource:
    """A `MediaSource` over an object in storage."""

    def __init__(self, storage: Storage, key: str) -> None:
        self.storage = storage
        self.key = key

    async def read(self) -> bytes:
        return await self.storage.read(self.key, limit=MAX_READ_BYTES)

    def chunks(self, *, offset: int = 0, chunk_size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
        return self.storage.stream(self.key, offset=offset, chunk_size=chunk_size)


class MediaFiles:
    """Builds the adapter-side media of a post (one per worker)."""

    def __init__(self, database: Database, storage: Storage) -> None:
        self.database = database
        self.storage = storage
        self.preparer = MediaPreparer(storage)

    async def for_platform(
        self, stored: Sequence[StoredMedia], alt_texts: Sequence[str | None], platform: PlatformDescriptor
    ) -> tuple[MediaFile, ...]:
        """The files to publish on `platform`; PlatformError (not retryable) when they cannot be."""
        current = [await ensure_probed(self.database, self.storage, item) for item in stored]
        for position, item in enumerate(current, start=1):
            if item.status != "ready":
                reason = item.error or "its upload never completed"
                raise _refused(ErrorCode.INVALID_CONTENT, f"Media {position} cannot be published: {reason}")
        problem = media_problem(current, platform, alt_texts)
        if problem:
            raise _refused(ErrorCode.INVALID_CONTENT, problem)
        files = []
        for position, item in enumerate(current):
            try:
                prepared = await self.preparer.prepare(item, platform.name, platform.media)
            except (ConversionError, MediaNotReady) as exc:
                raise _refused(
                    ErrorCode.CONTENT_TOO_LARGE,
                    f"Media {position + 1} cannot be made acceptable to {platform.title}: {exc}",
                ) from exc
            alt = alt_texts[position] if position < len(alt_texts) else None
            files.append(self._file(item, prepared, alt))
        return tuple(files)

    def _file(self, item: StoredMedia, prepared: PreparedMedia, alt_text: str | None) -> MediaFile:
        return MediaFile(
            id=item.id,
            kind="video" if prepared.type == "video" else "image",
            mime_type=prepared.mime_type,
            size=prepared.size,
            source=StoredSource(self.storage, prepared.key),
            width=prepared.width,
            height=prepared.height,
            duration=prepared.duration if prepared.duration is not None else item.duration,
            frame_rate=item.frame_rate,
            alt_text=alt_text,
            fetch_url=self.storage.signed_fetch_url(prepared.key, FETCH_URL_SECONDS),
        )


def _refused(code: ErrorCode, message: str) -> PlatformError:
    return PlatformError(code, message, retryable=False)
