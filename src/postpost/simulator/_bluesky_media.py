"""Blobs and video jobs of the fake Bluesky, without HTTP.

A blob is stored under its CID (CIDv1, raw codec, sha-256: ``bafkrei…``) with the type sniffed
from its bytes (the declared type when the bytes say nothing, as the PDS does) and what Pillow or
PyAV measured. A record may embed only blobs of its own repository, with the stored type and size,
within the lexicon's limits (images: ``image/*`` and 1,000,000 bytes; a video: ``video/mp4`` and
100,000,000 bytes).

A video job goes ``JOB_STATE_CREATED`` → ``JOB_STATE_ENCODING`` (with progress) →
``JOB_STATE_SCANNING`` over its processing time and ends ``JOB_STATE_COMPLETED`` with the blob
(stored on the PDS by then), or ``JOB_STATE_FAILED`` with ``error`` and ``message``. A video the
account had processed before fails at once with ``already_exists`` and the earlier blob.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import regex

from postpost.simulator._media_files import Measured, Upload

IMAGE_MAX_BYTES = 1_000_000
VIDEO_MAX_BYTES = 100_000_000
VIDEO_ALT_GRAPHEMES = 1000
DONE, FAILED = "JOB_STATE_COMPLETED", "JOB_STATE_FAILED"
_GRAPHEME = regex.compile(r"\X")


class TooLarge(Exception):
    """A body over the size limit."""


def blob_cid(digest: bytes) -> str:
    """The CIDv1 (raw codec, sha-256) of bytes with this digest, in base32."""
    return "b" + base64.b32encode(b"\x01\x55\x12\x20" + digest).decode().lower().rstrip("=")


async def receive(pieces: AsyncIterator[bytes], limit: int) -> tuple[Upload, str, bytes]:
    """Store a body in a temporary file: the file, its CID and its first bytes. Raises `TooLarge`."""
    digest = hashlib.sha256()
    head = bytearray()

    async def counted() -> AsyncIterator[bytes]:
        total = 0
        async for piece in pieces:
            total += len(piece)
            if total > limit:
                raise TooLarge
            digest.update(piece)
            head.extend(piece[: max(0, 64 - len(head))])
            yield piece

    upload = Upload()
    try:
        await upload.write(0, counted())
    except TooLarge:
        upload.discard()
        raise
    return upload, blob_cid(digest.digest()), bytes(head)


@dataclass(frozen=True)
class Blob:
    """A stored blob: its reference as records hold it, and what it measured."""

    cid: str
    mime_type: str
    size: int
    measured: Measured | None

    @property
    def ref(self) -> dict[str, Any]:
        return {"$type": "blob", "ref": {"$link": self.cid}, "mimeType": self.mime_type, "size": self.size}

    def listing(self) -> dict[str, Any]:
        """The control listing's entry (the declared facts when the file could not be measured)."""
        if self.measured is not None:
            return self.measured.listing()
        kind = "video" if self.mime_type.startswith("video/") else "image"
        return {"type": kind, "mimeType": self.mime_type, "size": self.size, "width": None, "height": None}


@dataclass
class Job:
    """One video processing job of the video service."""

    id: str
    did: str
    created: float
    ready_at: float
    blob: Blob | None  # stored on the PDS when the job completes
    error: tuple[str, str] | None = None  # (error, message) of a failed job
    keeps_blob: bool = False  # already_exists: failed, yet hands out the earlier blob

    def status(self, now: float) -> dict[str, Any]:
        """The ``jobStatus`` object at `now`."""
        out: dict[str, Any] = {"jobId": self.id, "did": self.did}
        if now < self.ready_at:
            done = (now - self.created) / max(self.ready_at - self.created, 1e-9)
            state = (
                "JOB_STATE_CREATED"
                if done < 0.2
                else "JOB_STATE_ENCODING"
                if done < 0.8
                else "JOB_STATE_SCANNING"
            )
            return {**out, "state": state, "progress": int(done * 100)}
        if self.error is not None:
            out.update(state=FAILED, error=self.error[0], message=self.error[1])
            if self.keeps_blob and self.blob is not None:
                out["blob"] = self.blob.ref
            return out
        assert self.blob is not None
        return {**out, "state": DONE, "progress": 100, "blob": self.blob.ref}


def new_job_id() -> str:
    return secrets.token_hex(8)


def check_embed(embed: dict[str, Any], blobs: dict[str, Blob]) -> tuple[str, str] | list[Blob]:
    """The blobs a record's media embed names, or the PDS's (error, message) refusing it.

    `blobs` are the repository's own, by CID. The embed's shape was validated before.
    """
    if embed.get("$type") == "app.bsky.embed.images":
        refs = [(img["image"], "image/*", IMAGE_MAX_BYTES) for img in embed["images"]]
    elif embed.get("$type") == "app.bsky.embed.video":
        refs = [(embed["video"], "video/mp4", VIDEO_MAX_BYTES)]
    else:
        return []
    found: list[Blob] = []
    for ref, accept, max_size in refs:
        link = ref.get("ref", {}).get("$link") if isinstance(ref.get("ref"), dict) else None
        blob = blobs.get(link) if isinstance(link, str) else None
        if blob is None:
            return "BlobNotFound", f"Could not find blob: {link}"
        if ref.get("mimeType") != blob.mime_type:
            return (
                "InvalidMimeType",
                f"Referenced Mimetype does not match stored blob. Expected: {blob.mime_type}, "
                f"Got: {ref.get('mimeType')}",
            )
        if ref.get("size") != blob.size:
            return (
                "InvalidSize",
                f"Referenced Size does not match stored blob. Expected: {blob.size}, Got: {ref.get('size')}",
            )
        if blob.size > max_size:
            sizes = f"It is {_pretty(blob.size)} but the maximum size is {_pretty(max_size)}"
            return "BlobTooLarge", f"This file is too large. {sizes}."
        if not (blob.mime_type == accept or accept.endswith("/*") and blob.mime_type.startswith(accept[:-1])):
            return (
                "InvalidMimeType",
                f"Wrong type of file. It is {blob.mime_type} but it must match {accept}.",
            )
        found.append(blob)
    return found


def validate_media_embed(embed: dict[str, Any]) -> str | None:
    """Lexicon checks of an images or video embed beyond its blobs (None when valid)."""
    if embed.get("$type") == "app.bsky.embed.video":
        if not isinstance(embed.get("video"), dict):
            return 'Record/embed must have the property "video"'
        alt = embed.get("alt")
        if alt is not None and (
            not isinstance(alt, str) or len(_GRAPHEME.findall(alt)) > VIDEO_ALT_GRAPHEMES
        ):
            return f"Record/embed/alt must not be longer than {VIDEO_ALT_GRAPHEMES} graphemes"
        return _aspect_ratio(embed.get("aspectRatio"), "Record/embed")
    if embed.get("$type") == "app.bsky.embed.images":
        for i, image in enumerate(embed["images"]):
            error = _aspect_ratio(image.get("aspectRatio"), f"Record/embed/images/{i}")
            if error:
                return error
    return None


def _aspect_ratio(value: Any, path: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        return f"{path}/aspectRatio must be an object"
    for side in ("width", "height"):
        number = value.get(side)
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            return f"{path}/aspectRatio/{side} must be an integer of at least 1"
    return None


def _pretty(size: int) -> str:
    return f"{size:,} bytes"
