"""LinkedIn's Images and Videos APIs: uploads, processing status, and a post's ``content``.

A video goes up in the byte ranges LinkedIn hands out; the remaining ranges and the ETags of the
parts already sent travel in the publish state, so an upload resumes where its last step ended.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from postpost.platforms import _http
from postpost.platforms._linkedin_api import Api, bearer, malformed
from postpost.platforms.base import Credentials, ErrorCode, MediaFile, PlatformError


async def upload_image(api: Api, creds: Credentials, owner: str, media: MediaFile) -> str:
    """``initializeUpload`` then ``PUT`` the bytes; the image's URN."""
    result = await api.rest(
        creds,
        "POST",
        "/rest/images",
        params={"action": "initializeUpload"},
        json_data={"initializeUploadRequest": {"owner": owner}},
    )
    value = _http.json_object(result.body).get("value") or {}
    url, urn = value.get("uploadUrl"), value.get("image")
    if not url or not urn:
        raise malformed(result, "image upload answer has no uploadUrl/image")
    headers = {**bearer(creds), "Content-Type": media.mime_type}
    await api.upload(str(url), await media.source.read(), headers)
    return str(urn)


async def open_video(api: Api, creds: Credentials, owner: str, media: MediaFile) -> dict[str, Any]:
    """``initializeUpload`` for the video's size; the upload state (URN, token, byte ranges)."""
    request = {"owner": owner, "fileSizeBytes": media.size, "uploadCaptions": False, "uploadThumbnail": False}
    result = await api.rest(
        creds,
        "POST",
        "/rest/videos",
        params={"action": "initializeUpload"},
        json_data={"initializeUploadRequest": request},
    )
    value = _http.json_object(result.body).get("value") or {}
    instructions = value.get("uploadInstructions")
    if not value.get("video") or not isinstance(instructions, list) or not instructions:
        raise malformed(result, "video upload answer has no video/uploadInstructions")
    try:
        parts = [[str(i["uploadUrl"]), int(i["firstByte"]), int(i["lastByte"])] for i in instructions]
    except (KeyError, TypeError, ValueError) as exc:
        raise malformed(result, "video upload instructions are unreadable") from exc
    return {
        "step": "upload",
        "video": str(value["video"]),
        "token": str(value.get("uploadToken") or ""),
        "parts": parts,
        "etags": [],
    }


async def upload_parts(
    api: Api, creds: Credentials, video: MediaFile, state: dict[str, Any], budget: int
) -> dict[str, Any]:
    """``PUT`` parts until `budget` bytes went up; ``finalizeUpload`` after the last one.

    Returns the upload state with the parts left, or (once finalised) the state that waits for
    the video's processing.
    """
    parts, etags = list(state["parts"]), list(state["etags"])
    sent = 0
    while parts and sent < budget:
        url, first, last = parts[0]
        data = await read_range(video, first, last)
        result = await api.upload(url, data, {"Content-Type": "application/octet-stream"})
        etag = result.headers.get("ETag")
        if not etag:
            raise malformed(result, "video part upload answer has no ETag")
        etags.append(etag)
        parts.pop(0)
        sent += len(data)
    if parts:
        return {**state, "parts": parts, "etags": etags}
    finalize = {"video": state["video"], "uploadToken": state["token"], "uploadedPartIds": etags}
    await api.rest(
        creds,
        "POST",
        "/rest/videos",
        params={"action": "finalizeUpload"},
        json_data={"finalizeUploadRequest": finalize},
    )
    return {"step": "create", "video": state["video"], "pending": [state["video"]]}


async def still_processing(api: Api, creds: Credentials, urns: Sequence[str]) -> list[str]:
    """The URNs not yet ``AVAILABLE``; INVALID_CONTENT when LinkedIn failed to process one."""
    waiting = []
    for urn in urns:
        kind = "video" if urn.startswith("urn:li:video:") else "image"
        result = await api.rest(creds, "GET", f"/rest/{kind}s/{quote(urn, safe='')}")
        media = _http.json_object(result.body)
        status = media.get("status")
        if status == "PROCESSING_FAILED":
            reason = str(media.get("processingFailureReason") or status)
            raise PlatformError(
                ErrorCode.INVALID_CONTENT,
                f"LinkedIn could not process the {kind}: {reason}",
                status=result.status,
                platform_error=reason,
            )
        if status != "AVAILABLE":
            waiting.append(urn)
    return waiting


def content(media: Sequence[MediaFile], state: dict[str, Any]) -> dict[str, Any] | None:
    """A post's ``content``: one image or the video as ``media``, several images as ``multiImage``."""
    if state.get("video"):
        return {"media": {"id": state["video"]}}
    urns: list[str] = state.get("images") or []
    if not urns:
        return None
    alts = [m.alt_text for m in media if m.kind == "image"]
    images = [{"id": urn, **({"altText": alt} if alt else {})} for urn, alt in zip(urns, alts, strict=False)]
    return {"media": images[0]} if len(images) == 1 else {"multiImage": {"images": images}}


def uploaded(state: dict[str, Any]) -> list[str]:
    """Every media URN the state names."""
    images: list[str] = state.get("images") or []
    return images + ([state["video"]] if state.get("video") else [])


async def read_range(media: MediaFile, first: int, last: int) -> bytes:
    """Bytes `first`..`last` (inclusive) of the file, read from its source."""
    size = last - first + 1
    data = bytearray()
    chunks = media.source.chunks(offset=first, chunk_size=size)
    try:
        async for chunk in chunks:
            data += chunk
            if len(data) >= size:
                break
    finally:
        close = getattr(chunks, "aclose", None)
        if close is not None:
            await close()
    return bytes(data[:size])
