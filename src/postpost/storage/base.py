"""The storage interface: where media bytes live, behind signed URLs.

Two backends implement it: `LocalStorage` (files under the data directory, served and received
by this server) and `S3Storage` (any S3-compatible object store). Keys look like
`images/<ms>-<random>-<name>` for uploads and `cache/<media id>/<platform>-<digest>` for
converted copies. Nothing here knows about the database.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

CHUNK_SIZE = 1024 * 1024


class AccessDenied(Exception):
    """A signed URL is invalid, has expired, or is used with another content type."""


@dataclass(frozen=True)
class ObjectInfo:
    """A stored object. `content_type` and `metadata` may be empty when listing."""

    key: str
    size: int
    modified: datetime
    content_type: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)


class Storage(abc.ABC):
    """Signed URLs for clients and platforms, and streamed access for the service itself."""

    name: str

    @abc.abstractmethod
    def upload_url(self, key: str, content_type: str, *, expires_in: int, max_bytes: int) -> str:
        """A URL a client PUTs the raw bytes to, with exactly this Content-Type, before expiry."""

    @abc.abstractmethod
    def file_url(self, key: str) -> str:
        """The lasting URL of an uploaded file (get-upload-url's `fileUrl`)."""

    @abc.abstractmethod
    def signed_fetch_url(self, key: str, expires_in: int) -> str:
        """A GET URL valid for `expires_in` seconds, for platforms that fetch media themselves."""

    @abc.abstractmethod
    async def stat(self, key: str) -> ObjectInfo | None:
        """The object's size, content type and metadata, or None when it does not exist."""

    @abc.abstractmethod
    def stream(self, key: str, *, offset: int = 0, chunk_size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
        """The object's bytes from `offset` on, in chunks; FileNotFoundError when missing."""

    @abc.abstractmethod
    async def put(
        self, key: str, data: bytes, content_type: str, metadata: Mapping[str, str] | None = None
    ) -> None:
        """Store a (small) object, replacing any object under the same key."""

    @abc.abstractmethod
    async def delete(self, keys: Iterable[str]) -> None:
        """Remove these objects; missing ones are ignored."""

    @abc.abstractmethod
    def list_objects(self, prefix: str) -> AsyncIterator[ObjectInfo]:
        """Every object whose key starts with `prefix` (size and modification time)."""

    async def read(self, key: str, *, limit: int) -> bytes:
        """The whole object; ValueError when it is larger than `limit` bytes."""
        parts: list[bytes] = []
        total = 0
        async for chunk in self.stream(key):
            total += len(chunk)
            if total > limit:
                raise ValueError(f"{key} is larger than {limit} bytes")
            parts.append(chunk)
        return b"".join(parts)

    def local_path(self, key: str) -> Path | None:
        """A filesystem path holding the object, when the backend has one (local files)."""
        return None

    async def remove_stale_partials(self, older_than: datetime) -> int:
        """Remove uploads that started before `older_than` and never finished; how many."""
        return 0

    async def close(self) -> None:  # noqa: B027 - most backends hold nothing
        """Release connections."""
