"""Media use cases: upload URLs, receiving uploads (local storage), probing, media per group, removal.

The flow (INVENTORY §5.1): get-upload-url creates a `pending` media row on the caller's group and
returns a signed PUT URL; the client PUTs the bytes; the file is probed (on the PUT for local
storage, on first use through `ensure_probed` for S3) and becomes `ready` or `failed`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import tempfile
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import Media
from postpost.db.session import Database
from postpost.errors import Conflict, Forbidden, InvalidInput, NotFound, PayloadTooLarge
from postpost.ids import new_id, utcnow
from postpost.media.formats import accepted_types, media_kind, normalize_mime
from postpost.media.probe import Probe, ProbeError, probe_file
from postpost.media.types import StoredMedia
from postpost.services.auth import Principal
from postpost.services.scoping import load_group
from postpost.storage.base import AccessDenied, Storage
from postpost.storage.local import LocalStorage, UploadTooLarge

log = logging.getLogger("postpost.media")

UPLOAD_URL_SECONDS = 3600
REQUIRED = "fileName, contentType, and postGroupId are required"
CLOSED = "Cannot add media to a post that has already been published or failed"
BEING_PUBLISHED = "Cannot add media to a post that is currently being published"
ALREADY_USED = "This upload URL has already been used"
FINISHED_GROUP_STATUSES = ("published", "failed", "partially_published")
MAX_NAME_LENGTH = 150
_NOT_NAME = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True)
class RemovedMedia:
    """A media row deleted with its group; its files are removed after the commit."""

    id: str
    key: str


def sanitize_file_name(name: str) -> str:
    """Trim, spaces → `_`, keep only letters, digits, `_`, `.` and `-`.

    `my photo (1).jpg` → `my_photo_1.jpg`. Over-long names keep their extension; a name with
    nothing left becomes `file`.
    """
    cleaned = _NOT_NAME.sub("", re.sub(r"\s", "_", name.strip()))
    if len(cleaned) > MAX_NAME_LENGTH:
        stem, dot, ext = cleaned.rpartition(".")
        ext = ext[:16] if dot and stem else ""
        cleaned = cleaned[: MAX_NAME_LENGTH - len(ext) - 1 if ext else MAX_NAME_LENGTH] + (
            f".{ext}" if ext else ""
        )
    return cleaned or "file"


def upload_cap(principal: Principal, ceiling: int) -> int:
    """Largest upload for this principal: the plan's `mediaMaxBytes`, within the server's ceiling."""
    plan = principal.entitlements.media_max_bytes
    return min(plan, ceiling) if plan is not None else ceiling


async def create_upload(
    session: AsyncSession, storage: Storage, principal: Principal, body: Any, *, ceiling: int
) -> dict[str, Any]:
    """get-upload-url: validate, attach a pending media row to the caller's group, sign a PUT URL."""
    body = body if isinstance(body, dict) else {}
    fields = [body.get(name) for name in ("fileName", "contentType", "postGroupId")]
    if not all(isinstance(value, str) and value.strip() for value in fields):
        raise InvalidInput(REQUIRED)
    file_name, content_type, group_id = (str(value) for value in fields)
    mime_type = normalize_mime(content_type)
    media_type = resolve_media_type(mime_type, body.get("type"))
    group = await load_group(session, principal, group_id)
    if group.status in FINISHED_GROUP_STATUSES:
        raise InvalidInput(CLOSED)
    if group.processing_status == "processing":
        raise InvalidInput(BEING_PUBLISHED)
    name = sanitize_file_name(file_name)
    folder = "images" if media_type == "image" else "videos"
    key = f"{folder}/{int(time.time() * 1000)}-{secrets.token_hex(8)}-{name}"
    cap = upload_cap(principal, ceiling)
    media = Media(
        id=new_id(),
        group_id=group.id,
        user_id=principal.user_id,
        type=media_type,
        mime_type=mime_type,
        file_name=name,
        storage_key=key,
        url=storage.file_url(key),
        status="pending",
        max_bytes=cap,
        created_at=utcnow(),
    )
    upload_url = storage.upload_url(key, content_type.strip(), expires_in=UPLOAD_URL_SECONDS, max_bytes=cap)
    session.add(media)
    await session.commit()
    return {"success": True, "uploadUrl": upload_url, "fileUrl": media.url, "mediaId": media.id}


def resolve_media_type(mime_type: str, given: Any) -> str:
    """The media `type` of an upload (`given`, or implied by `mime_type`); 400 when not accepted."""
    allowed = accepted_types()
    kind = media_kind(mime_type)
    listing = ", ".join(allowed)
    if kind is None:
        raise InvalidInput(f"Only video and image files are allowed. Allowed types: {listing}")
    if mime_type not in allowed:
        raise InvalidInput(f"Unsupported contentType {mime_type}. Allowed types: {listing}")
    if given is None or given == "":
        return kind
    if given not in ("image", "video"):
        raise InvalidInput("type must be 'image' or 'video'")
    if given != kind:
        raise InvalidInput(f"type '{given}' does not match contentType {mime_type}")
    return kind


async def receive_upload(
    database: Database,
    storage: LocalStorage,
    key: str,
    *,
    params: Mapping[str, str],
    content_type: str | None,
    content_length: int | None,
    chunks: AsyncIterator[bytes],
) -> StoredMedia:
    """A PUT to a local upload URL: verify, stream to disk under the cap, probe, mark ready.

    A refused PUT (signature, expiry, content type, size, content that is not what its type
    says) leaves the URL usable; once a PUT succeeded, another is refused. No database
    connection is held while the body streams.
    """
    try:
        max_bytes = storage.check_upload(key, params, content_type)
    except AccessDenied as exc:
        raise Forbidden(str(exc)) from None
    if content_length is not None and content_length > max_bytes:
        raise PayloadTooLarge(too_large_message(max_bytes))
    row = await _uploadable(database, key)
    try:
        staged = await storage.receive(chunks, max_bytes=max_bytes)
    except UploadTooLarge:
        raise PayloadTooLarge(too_large_message(max_bytes)) from None
    try:
        probe = await asyncio.to_thread(probe_file, staged.path, row.mime_type)
    except ProbeError as exc:
        await storage.discard(staged)
        async with database.session() as session:
            await session.execute(
                update(Media)
                .where(Media.id == row.id, Media.uploaded_at.is_(None))
                .values(status="failed", error=exc.reason)
            )
            await session.commit()
        raise InvalidInput(exc.reason) from None
    except BaseException:
        await storage.discard(staged)
        raise
    async with database.session() as session:
        done = await session.execute(
            update(Media)
            .where(Media.id == row.id, Media.uploaded_at.is_(None))
            .values(**_probed_values(probe, staged.size))
        )
        if done.rowcount == 0:  # type: ignore[attr-defined]
            await session.rollback()
            await storage.discard(staged)
            await _uploadable(database, key)  # NotFound if deleted meanwhile
            raise Conflict(ALREADY_USED)
        await storage.commit(staged, key, row.mime_type)
        await session.commit()
        stored = await session.get_one(Media, row.id, populate_existing=True)
        return stored_media(stored)


async def _uploadable(database: Database, key: str) -> Media:
    async with database.session() as session:
        row = await session.scalar(select(Media).where(Media.storage_key == key))
    if row is None:
        raise NotFound("Media not found")
    if row.uploaded_at is not None:
        raise Conflict(ALREADY_USED)
    return row


def too_large_message(max_bytes: int) -> str:
    """The refusal of a file over the plan's upload size."""
    return f"File is larger than the upload limit of {max_bytes / (1024 * 1024):g} MB"


def _probed_values(probe: Probe, size: int) -> dict[str, Any]:
    return {
        "status": "ready",
        "error": None,
        "size": size,
        "width": probe.width,
        "height": probe.height,
        "details": probe.details(),
        "uploaded_at": utcnow(),
    }


def file_for_download(storage: LocalStorage, key: str, params: Mapping[str, str]) -> tuple[Path, str]:
    """A local file to serve: (path, content type). Forbidden / NotFound otherwise."""
    try:
        return storage.download(key, params)
    except AccessDenied as exc:
        raise Forbidden(str(exc)) from None
    except FileNotFoundError:
        raise NotFound("Not found") from None


async def ensure_probed(database: Database, storage: Storage, media: StoredMedia) -> StoredMedia:
    """The media, probed if it was still pending and its object now exists (S3 uploads).

    Returns it unchanged while the upload has not arrived. An object over the upload's size cap
    or whose content is not what its type says becomes `failed` with the reason.
    """
    if media.status != "pending":
        return media
    info = await storage.stat(media.key)
    if info is None:
        return media
    values: dict[str, Any]
    if media.max_bytes is not None and info.size > media.max_bytes:
        values = {"status": "failed", "error": too_large_message(media.max_bytes), "size": info.size}
        values["uploaded_at"] = utcnow()
    else:
        try:
            probe = await _probe_stored(storage, media)
            values = _probed_values(probe, info.size)
        except ProbeError as exc:
            values = {"status": "failed", "error": exc.reason, "size": info.size, "uploaded_at": utcnow()}
    async with database.session() as session:
        await session.execute(
            update(Media).where(Media.id == media.id, Media.status == "pending").values(**values)
        )
        await session.commit()
        row = await session.get(Media, media.id, populate_existing=True)
    return stored_media(row) if row is not None else media


async def _probe_stored(storage: Storage, media: StoredMedia) -> Probe:
    path = storage.local_path(media.key)
    if path is not None:
        return await asyncio.to_thread(probe_file, path, media.mime_type)
    handle, name = await asyncio.to_thread(tempfile.mkstemp, prefix="postpost-probe-")
    try:
        with os.fdopen(handle, "wb") as out:
            async for chunk in storage.stream(media.key):
                await asyncio.to_thread(out.write, chunk)
        return await asyncio.to_thread(probe_file, Path(name), media.mime_type)
    finally:
        await asyncio.to_thread(Path(name).unlink, missing_ok=True)


def stored_media(row: Media) -> StoredMedia:
    return StoredMedia(
        id=row.id,
        group_id=row.group_id,
        user_id=row.user_id,
        type=row.type,
        mime_type=row.mime_type,
        key=row.storage_key,
        url=row.url,
        status=row.status,
        error=row.error,
        size=row.size,
        width=row.width,
        height=row.height,
        max_bytes=row.max_bytes,
        details=dict(row.details or {}),
    )


async def media_by_id(session: AsyncSession, media_id: str) -> StoredMedia | None:
    """One media file by id (not tenant-scoped: for the engine, which already holds the post)."""
    row = await session.get(Media, media_id)
    return stored_media(row) if row is not None else None


async def media_for_groups(session: AsyncSession, group_ids: Sequence[str]) -> dict[str, list[StoredMedia]]:
    """Each group's media in upload order (the order get-upload-url created them)."""
    found: dict[str, list[StoredMedia]] = {gid: [] for gid in group_ids}
    if not group_ids:
        return found
    rows = await session.scalars(
        select(Media).where(Media.group_id.in_(group_ids)).order_by(Media.created_at, Media.id)
    )
    for row in rows:
        found[row.group_id].append(stored_media(row))
    return found


async def urls_by_group(session: AsyncSession, group_ids: Sequence[str]) -> dict[str, list[str]]:
    """list-posts `mediaUrls`: each group's file URLs in upload order."""
    urls: dict[str, list[str]] = {gid: [] for gid in group_ids}
    if group_ids:
        rows = await session.execute(
            select(Media.group_id, Media.url)
            .where(Media.group_id.in_(group_ids))
            .order_by(Media.created_at, Media.id)
        )
        for group_id, url in rows:
            urls[group_id].append(url)
    return urls


async def delete_group_media(session: AsyncSession, group_id: str) -> list[RemovedMedia]:
    """Delete a group's media rows (in the caller's transaction); the files to remove after commit."""
    rows = await session.execute(select(Media.id, Media.storage_key).where(Media.group_id == group_id))
    removed = [RemovedMedia(media_id, key) for media_id, key in rows]
    if removed:
        await session.execute(delete(Media).where(Media.group_id == group_id))
    return removed


async def remove_files(storage: Storage, removed: Iterable[RemovedMedia]) -> None:
    """Delete media files and their converted copies. Failures are logged, never raised."""
    for item in removed:
        try:
            keys = [item.key] + [info.key async for info in storage.list_objects(f"cache/{item.id}/")]
            await storage.delete(keys)
        except Exception:
            log.exception("could not delete the files of media %s (%s)", item.id, item.key)
