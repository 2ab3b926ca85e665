"""X media upload as resumable steps: one-shot images, chunked GIFs and videos, processing, alt text.

Images go up in one request (``POST /2/media/upload``). GIFs and videos use the chunked upload:
``initialize``, ``append`` of numbered segments, ``finalize``, then ``STATUS`` polls until X has
processed the file. Every step that may take long ends in `InProgress` whose state records the
progress (media ids done, the upload's id and byte offset), so a later call (any worker, after a
crash or an interrupted segment) resumes where the last recorded step ended instead of from zero.

State (JSON): ``{"media": [{"id", "expires"}], "upload": {"id", "offset", "segment", "finalized"}}``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

import aiohttp

from postpost.platforms.base import Credentials, ErrorCode, InProgress, MediaFile, MediaSource, PlatformError

MB = 1024 * 1024
PROCESSING = ("pending", "in_progress")

Call = Callable[..., Awaitable[dict[str, Any]]]  # (creds, method, path, **kw) -> the answer's JSON object


class MediaUploader:
    """Takes a post's media through X's upload endpoints, one resumable step at a time.

    `segment_bytes` is the size of an appended segment (X takes at most 5 MB); `step_bytes` how
    much is appended before the step ends and its progress is recorded.
    """

    segment_bytes = 4 * MB
    step_bytes = 64 * MB
    expiry_margin_seconds = 600

    def __init__(self, call: Call, timeout: aiohttp.ClientTimeout) -> None:
        self.call = call
        total = timeout.total or 10.0
        self.upload_timeout = aiohttp.ClientTimeout(total=max(total * 10, 120.0), sock_connect=total)

    async def media_ids(
        self, creds: Credentials, media: tuple[MediaFile, ...], state: Mapping[str, Any] | None
    ) -> list[str] | InProgress:
        """The media ids of `media`, uploaded and processed, or the next step's state."""
        check_combination(media)
        done: list[dict[str, Any]] = list((state or {}).get("media", []))
        upload: dict[str, Any] | None = (state or {}).get("upload")
        if any(d["expires"] < time.time() + self.expiry_margin_seconds for d in done):
            done, upload = [], None  # X forgets unused media after a while: start again
        for item in media[len(done) :]:
            if is_chunked(item):
                step = await self._chunked(creds, item, upload)
                if isinstance(step, InProgress):
                    return InProgress({"media": done, **step.state}, step.check_after)
                media_id, expires = step["id"], step["expires"]
                upload = None
            else:
                media_id, expires = await self._one_shot(creds, item)
            if item.alt_text:
                body = {"id": media_id, "metadata": {"alt_text": {"text": item.alt_text}}}
                await self._data(creds, "POST", "/2/media/metadata", json_data=body)
            done.append({"id": media_id, "expires": expires})
        return [d["id"] for d in done]

    async def _data(self, creds: Credentials, method: str, path: str, **kw: Any) -> dict[str, Any]:
        data = (await self.call(creds, method, path, **kw)).get("data")
        return data if isinstance(data, dict) else {}

    async def _one_shot(self, creds: Credentials, item: MediaFile) -> tuple[str, float]:
        form = aiohttp.FormData()
        form.add_field("media", await item.source.read(), filename=item.id, content_type=item.mime_type)
        form.add_field("media_category", "tweet_image")
        form.add_field("media_type", item.mime_type)
        data = await self._data(
            creds, "POST", "/2/media/upload", data=form, client_timeout=self.upload_timeout
        )
        return _media_id(data), _expires(data)

    async def _chunked(
        self, creds: Credentials, item: MediaFile, upload: dict[str, Any] | None
    ) -> dict[str, Any] | InProgress:
        """Advance the chunked upload of `item`: the finished upload, or where it stands."""
        if upload is None:
            body = {"media_type": item.mime_type, "total_bytes": item.size, "media_category": category(item)}
            data = await self._data(creds, "POST", "/2/media/upload/initialize", json_data=body)
            upload = {"id": _media_id(data), "offset": 0, "segment": self.segment_bytes, "finalized": False}
        upload = dict(upload)
        if upload["offset"] < item.size:
            upload["offset"] = await self._append(creds, item, upload)
            if upload["offset"] < item.size:
                return InProgress({"upload": upload}, timedelta(0))
        path = f"/2/media/upload/{upload['id']}/finalize"
        if upload["finalized"]:
            params = {"command": "STATUS", "media_id": upload["id"]}
            data = await self._data(creds, "GET", "/2/media/upload", params=params)
        else:
            data = await self._data(creds, "POST", path)
            upload["finalized"] = True
        info = data.get("processing_info") or {}
        state = info.get("state")
        if state in PROCESSING:
            wait = timedelta(seconds=max(1, int(info.get("check_after_secs") or 1)))
            return InProgress({"upload": upload}, wait)
        if state == "failed":
            error = info.get("error") or {}
            detail = str(error.get("message") or error.get("name") or "processing failed")
            raise PlatformError(
                ErrorCode.INVALID_CONTENT,
                f"X could not process the {item.kind}: {detail}",
                platform_error=detail,
                retryable=False,
            )
        return {"id": upload["id"], "expires": _expires(data)}

    async def _append(self, creds: Credentials, item: MediaFile, upload: Mapping[str, Any]) -> int:
        """Append segments from the recorded offset for up to `step_bytes`; the new offset."""
        size = int(upload["segment"])
        offset = int(upload["offset"])
        stop = offset + max(self.step_bytes, size)
        path = f"/2/media/upload/{upload['id']}/append"
        async with contextlib.aclosing(segments(item.source, offset, size)) as chunks:
            async for chunk in chunks:
                form = aiohttp.FormData()
                form.add_field("segment_index", str(offset // size))
                form.add_field("media", chunk, filename="blob", content_type="application/octet-stream")
                await self._data(creds, "POST", path, data=form, client_timeout=self.upload_timeout)
                offset += len(chunk)
                if offset >= stop:
                    break
        return offset


def is_chunked(item: MediaFile) -> bool:
    """Videos and GIFs go through the chunked upload (X processes them); other images in one request."""
    return item.kind == "video" or item.mime_type == "image/gif"


def category(item: MediaFile) -> str:
    if item.kind == "video":
        return "amplify_video"
    return "tweet_gif" if item.mime_type == "image/gif" else "tweet_image"


def check_combination(media: tuple[MediaFile, ...]) -> None:
    """X takes up to 4 images, or one GIF, or one video: refuse anything else before uploading."""
    single = [m for m in media if is_chunked(m)]
    if (single and len(media) > 1) or len(media) > 4:
        raise PlatformError(
            ErrorCode.INVALID_CONTENT,
            "X takes up to 4 images, or one GIF, or one video per post; "
            f"this post has {len(media)} media items",
            retryable=False,
        )


async def segments(source: MediaSource, offset: int, size: int) -> AsyncGenerator[bytes, None]:
    """The file from `offset` on, in segments of exactly `size` bytes (the last may be shorter)."""
    buffer = bytearray()
    async for chunk in source.chunks(offset=offset, chunk_size=size):
        buffer += chunk
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)


def _media_id(data: Mapping[str, Any]) -> str:
    media_id = data.get("id") or data.get("media_id_string")
    if not media_id:
        raise PlatformError(ErrorCode.UNKNOWN_ERROR, "X accepted the upload but its answer has no media id")
    return str(media_id)


def _expires(data: Mapping[str, Any]) -> float:
    return time.time() + float(data.get("expires_after_secs") or 86_400)
