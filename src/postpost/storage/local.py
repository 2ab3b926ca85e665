"""Local storage: files under `<data_dir>/media`, received and served by this server.

Layout: `objects/<key>` holds the bytes, `meta/<key>.json` the content type and metadata,
`partial/` uploads in progress (moved into place only once complete). URLs live under `/media`:
uploads are `PUT /media/<key>?contentType=…&expires=…&maxBytes=…&signature=…`, files are
`GET /media/<key>` (uploads under `images/` and `videos/` need no signature, like objects in a
public bucket; anything else needs `?expires=…&signature=…`). Signatures are HMAC-SHA-256 over
the method, the key and the parameters, with a key derived from the server's secret.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import re
import secrets
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote, urlencode

from postpost.storage.base import CHUNK_SIZE, AccessDenied, ObjectInfo, Storage

URL_PATH = "/media"
PUBLIC_PREFIXES = ("images/", "videos/")
WRITE_BATCH = 1024 * 1024  # bytes gathered before one write to disk
_KEY = re.compile(r"^[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*$")
INVALID_SIGNATURE = "Invalid URL signature"


class UploadTooLarge(Exception):
    """The body went past the upload's size cap (the partial file is already removed)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"larger than {max_bytes} bytes")
        self.max_bytes = max_bytes


@dataclass(frozen=True)
class StagedUpload:
    """A completely received upload, not yet in place."""

    path: Path
    size: int


class LocalStorage(Storage):
    """Files on this machine; URLs of this server (`base_url` + `/media/...`)."""

    name = "local"

    def __init__(self, root: Path, base_url: str, secret: bytes) -> None:
        self.root = root
        self.objects = root / "objects"
        self.meta = root / "meta"
        self.partial = root / "partial"
        self.base_url = base_url.rstrip("/")
        self._signing_key = hmac.new(secret, b"postpost local media urls", hashlib.sha256).digest()

    # URLs

    def upload_url(self, key: str, content_type: str, *, expires_in: int, max_bytes: int) -> str:
        params = {
            "contentType": content_type,
            "expires": str(int(time.time()) + expires_in),
            "maxBytes": str(max_bytes),
        }
        return self._signed_url("PUT", key, params)

    def file_url(self, key: str) -> str:
        return f"{self.base_url}{URL_PATH}/{quote(key)}"

    def signed_fetch_url(self, key: str, expires_in: int) -> str:
        return self._signed_url("GET", key, {"expires": str(int(time.time()) + expires_in)})

    def check_upload(self, key: str, params: Mapping[str, str], content_type: str | None) -> int:
        """Verify a PUT to an upload URL; the size cap it was issued with. AccessDenied if not."""
        self._verify("PUT", key, params, ("contentType", "expires", "maxBytes"))
        expected = params["contentType"]
        if _bare_type(content_type or "") != _bare_type(expected):
            raise AccessDenied(f"Content-Type must be {expected} for this upload URL")
        return int(params["maxBytes"])

    def check_fetch(self, key: str, params: Mapping[str, str]) -> None:
        """Verify a GET: public upload keys need no signature; a given signature must be valid."""
        if "signature" not in params and key.startswith(PUBLIC_PREFIXES):
            return
        self._verify("GET", key, params, ("expires",))

    # Objects

    async def stat(self, key: str) -> ObjectInfo | None:
        return await asyncio.to_thread(self._stat, key)

    async def stream(
        self, key: str, *, offset: int = 0, chunk_size: int = CHUNK_SIZE
    ) -> AsyncIterator[bytes]:
        handle = await asyncio.to_thread(_open_at, self._object_path(key), offset)
        try:
            while chunk := await asyncio.to_thread(handle.read, chunk_size):
                yield chunk
        finally:
            handle.close()

    async def put(
        self, key: str, data: bytes, content_type: str, metadata: Mapping[str, str] | None = None
    ) -> None:
        staged = await asyncio.to_thread(self._stage_bytes, data)
        await self.commit(staged, key, content_type, metadata)

    async def delete(self, keys: Iterable[str]) -> None:
        await asyncio.to_thread(self._delete, list(keys))

    async def list_objects(self, prefix: str) -> AsyncIterator[ObjectInfo]:
        for info in await asyncio.to_thread(self._list, prefix):
            yield info

    def local_path(self, key: str) -> Path:
        return self._object_path(key)

    async def remove_stale_partials(self, older_than: datetime) -> int:
        return await asyncio.to_thread(self._remove_partials, older_than.timestamp())

    # Receiving uploads

    async def receive(self, chunks: AsyncIterator[bytes], *, max_bytes: int) -> StagedUpload:
        """Write the body to a partial file in batches, refusing it past `max_bytes`."""
        path, handle = await asyncio.to_thread(self._new_partial)
        size = 0
        batch: list[bytes] = []
        batched = 0
        try:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise UploadTooLarge(max_bytes)
                batch.append(chunk)
                batched += len(chunk)
                if batched >= WRITE_BATCH:
                    await asyncio.to_thread(handle.writelines, batch)
                    batch, batched = [], 0
            await asyncio.to_thread(_finish, handle, batch)
        except BaseException:
            handle.close()
            path.unlink(missing_ok=True)
            raise
        return StagedUpload(path, size)

    async def commit(
        self, staged: StagedUpload, key: str, content_type: str, metadata: Mapping[str, str] | None = None
    ) -> None:
        """Move a staged upload into place under `key` (replacing any object there)."""
        await asyncio.to_thread(self._commit, staged, key, content_type, dict(metadata or {}))

    async def discard(self, staged: StagedUpload) -> None:
        await asyncio.to_thread(staged.path.unlink, missing_ok=True)

    def download(self, key: str, params: Mapping[str, str]) -> tuple[Path, str]:
        """The file and content type for a GET with these query parameters.

        AccessDenied for a bad signature, FileNotFoundError for an unknown key.
        """
        path = self._object_path(key)
        self.check_fetch(key, params)
        if not path.is_file():
            raise FileNotFoundError(key)
        content_type = self._read_meta(key).get("contentType")
        return path, str(content_type or "application/octet-stream")

    # Internals (blocking)

    def _signed_url(self, method: str, key: str, params: dict[str, str]) -> str:
        signature = self._sign(method, key, params)
        return f"{self.file_url(key)}?{urlencode({**params, 'signature': signature})}"

    def _sign(self, method: str, key: str, params: Mapping[str, str]) -> str:
        message = "\n".join([method, key, *(f"{name}={params[name]}" for name in sorted(params))])
        return hmac.new(self._signing_key, message.encode(), hashlib.sha256).hexdigest()

    def _verify(self, method: str, key: str, params: Mapping[str, str], names: tuple[str, ...]) -> None:
        signature = params.get("signature")
        values = {name: params.get(name) for name in names}
        if not signature or not _valid_key(key):
            raise AccessDenied(INVALID_SIGNATURE)
        signed = {name: value for name, value in values.items() if value is not None}
        if len(signed) != len(names) or not hmac.compare_digest(signature, self._sign(method, key, signed)):
            raise AccessDenied(INVALID_SIGNATURE)
        if int(signed["expires"]) < time.time():
            raise AccessDenied("This URL has expired")

    def _object_path(self, key: str) -> Path:
        if not _valid_key(key):
            raise FileNotFoundError(key)
        return self.objects / key

    def _meta_path(self, key: str) -> Path:
        return self.meta / f"{key}.json"

    def _read_meta(self, key: str) -> dict[str, object]:
        try:
            data = json.loads(self._meta_path(key).read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _stat(self, key: str) -> ObjectInfo | None:
        try:
            result = self._object_path(key).stat()
        except FileNotFoundError:
            return None
        meta = self._read_meta(key)
        metadata = meta.get("metadata")
        return ObjectInfo(
            key=key,
            size=result.st_size,
            modified=datetime.fromtimestamp(result.st_mtime, UTC),
            content_type=str(meta.get("contentType") or ""),
            metadata={str(k): str(v) for k, v in metadata.items()} if isinstance(metadata, dict) else {},
        )

    def _new_partial(self) -> tuple[Path, BinaryIO]:
        self.partial.mkdir(parents=True, exist_ok=True)
        path = self.partial / f"{secrets.token_hex(16)}.part"
        return path, open(path, "xb")  # noqa: SIM115 - closed by receive()

    def _stage_bytes(self, data: bytes) -> StagedUpload:
        path, handle = self._new_partial()
        with handle:
            _finish(handle, [data])
        return StagedUpload(path, len(data))

    def _commit(self, staged: StagedUpload, key: str, content_type: str, metadata: dict[str, str]) -> None:
        target = self._object_path(key)
        meta_path = self._meta_path(key)
        for directory in (target.parent, meta_path.parent):
            directory.mkdir(parents=True, exist_ok=True)
        meta_partial = self.partial / f"{secrets.token_hex(16)}.json"
        meta_partial.write_text(json.dumps({"contentType": content_type, "metadata": metadata}))
        os.replace(meta_partial, meta_path)
        os.replace(staged.path, target)

    def _delete(self, keys: list[str]) -> None:
        for key in keys:
            if not _valid_key(key):
                continue
            for path in (self._object_path(key), self._meta_path(key)):
                path.unlink(missing_ok=True)
                self._prune(path.parent)

    def _prune(self, directory: Path) -> None:
        """Remove now-empty directories below the storage roots (e.g. `cache/<media id>/`)."""
        roots = {self.objects, self.meta}
        while directory not in roots and self.root in directory.parents:
            try:
                directory.rmdir()
            except OSError:
                return
            directory = directory.parent

    def _list(self, prefix: str) -> list[ObjectInfo]:
        base = self.objects / prefix.rsplit("/", 1)[0] if "/" in prefix else self.objects
        found: list[ObjectInfo] = []
        if not base.is_dir() or (prefix and not _valid_key(prefix.rstrip("/"))):
            return found
        for directory, _dirs, files in os.walk(base):
            for name in files:
                path = Path(directory) / name
                key = path.relative_to(self.objects).as_posix()
                if not key.startswith(prefix):
                    continue
                try:
                    result = path.stat()
                except FileNotFoundError:
                    continue
                found.append(ObjectInfo(key, result.st_size, datetime.fromtimestamp(result.st_mtime, UTC)))
        return found

    def _remove_partials(self, before: float) -> int:
        removed = 0
        if not self.partial.is_dir():
            return removed
        for path in self.partial.iterdir():
            try:
                if path.stat().st_mtime < before:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed


def _valid_key(key: str) -> bool:
    return bool(_KEY.match(key)) and all(part not in (".", "..") for part in key.split("/"))


def _bare_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def _open_at(path: Path, offset: int) -> BinaryIO:
    handle = open(path, "rb")  # noqa: SIM115 - closed by the caller
    if offset:
        handle.seek(offset)
    return handle


def _finish(handle: BinaryIO, batch: list[bytes]) -> None:
    """Write the last batch, flush to disk (the upload is durable once acknowledged), close."""
    with handle:
        handle.writelines(batch)
        handle.flush()
        os.fsync(handle.fileno())
