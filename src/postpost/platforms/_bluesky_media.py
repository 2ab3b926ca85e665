"""Bluesky media: images as blobs of the account's PDS, a video through Bluesky's video service.

Images (up to four) go up with ``com.atproto.repo.uploadBlob`` (the raw bytes, with their type)
and are embedded as ``app.bsky.embed.images`` with alt text and aspect ratio. A video goes to
the video service (the ``video`` endpoint): a service token from the PDS
(``com.atproto.server.getServiceAuth``, audience the PDS's ``did:web``, method
``com.atproto.repo.uploadBlob``, 30 minutes), ``app.bsky.video.uploadVideo`` with the raw bytes,
then ``app.bsky.video.getJobStatus`` on later steps until the job hands back the blob, which the
service stored on the PDS (a video it processed before answers ``already_exists`` with that
blob). It is embedded as ``app.bsky.embed.video``. State: ``{"job", "started", "polls"}``.

The engine converts images for Bluesky (JPEG, at most 1,000,000 bytes and 2000×2000 pixels);
what does not fit is refused here, not converted.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any, NoReturn
from urllib.parse import urlsplit

import aiohttp
import regex

from postpost.platforms import _http
from postpost.platforms._chunked import byte_range, upload_timeout
from postpost.platforms.base import Credentials, ErrorCode, InProgress, MediaFile, PlatformError

IMAGE_MAX_BYTES = 1_000_000
IMAGE_MAX_SIDE = 2000
MAX_IMAGES = 4
VIDEO_MAX_BYTES = 100_000_000  # the video embed's blob limit (the descriptor says the same)
VIDEO_MAX_SECONDS = 180
VIDEO_ALT_MAX = 1000  # graphemes
SERVICE_TOKEN_SECONDS = 30 * 60
PROCESSING_LIMIT_SECONDS = 30 * 60
DONE, FAILED = "JOB_STATE_COMPLETED", "JOB_STATE_FAILED"

Call = Callable[..., Awaitable[_http.HttpResult]]  # (creds, method, nsid, **kw): a checked XRPC call
Auth = Callable[[Credentials], dict[str, str]]

_GRAPHEME = regex.compile(r"\X")


class BlueskyMedia:
    """Turns a post's media into its record's ``embed``, one step at a time for a video."""

    def __init__(self, call: Call, auth: Auth, timeout: aiohttp.ClientTimeout) -> None:
        self.call = call
        self.auth = auth
        self.timeout = timeout

    async def embed(
        self, creds: Credentials, media: tuple[MediaFile, ...], state: Mapping[str, Any] | None
    ) -> dict[str, Any] | InProgress:
        """The embed of `media`, or the state to come back with while the video is processed."""
        check(media)
        if media[0].kind == "video":
            return await self._video(creds, media[0], state)
        images = [await self._image(creds, item) for item in media]
        return {"$type": "app.bsky.embed.images", "images": images}

    async def _image(self, creds: Credentials, item: MediaFile) -> dict[str, Any]:
        headers = {**self.auth(creds), "Content-Type": item.mime_type}
        result = await self.call(
            creds, "POST", "com.atproto.repo.uploadBlob", headers=headers, data=await item.source.read()
        )
        image: dict[str, Any] = {"alt": item.alt_text or "", "image": _blob(result)}
        return _with_aspect_ratio(image, item)

    async def _video(
        self, creds: Credentials, item: MediaFile, state: Mapping[str, Any] | None
    ) -> dict[str, Any] | InProgress:
        if state is None:
            job, started, polls = await self._upload_video(creds, item), time.time(), 0
        else:
            started, polls = float(state["started"]), int(state["polls"]) + 1
            if time.time() - started > PROCESSING_LIMIT_SECONDS:
                raise PlatformError(
                    ErrorCode.TIMEOUT_ERROR,
                    f"Bluesky did not process the video in {PROCESSING_LIMIT_SECONDS // 60} minutes",
                    retryable=False,
                )
            params = {"jobId": str(state["job"])}
            result = await self.call(
                creds, "GET", "app.bsky.video.getJobStatus", origin=creds.endpoint("video"), params=params
            )
            job = _job_status(result)
        blob = job.get("blob")
        if isinstance(blob, dict):  # done, or processed before ("already_exists")
            embed: dict[str, Any] = {"$type": "app.bsky.embed.video", "video": blob}
            if item.alt_text:
                embed["alt"] = item.alt_text
            return _with_aspect_ratio(embed, item)
        if job.get("state") == FAILED:
            detail = ": ".join(str(job[k]) for k in ("error", "message") if job.get(k)) or "no reason given"
            too_large = any(hint in detail.lower() for hint in ("too long", "too large"))
            raise PlatformError(
                ErrorCode.CONTENT_TOO_LARGE if too_large else ErrorCode.INVALID_CONTENT,
                f"Bluesky could not process the video: {detail}",
                platform_error=detail,
            )
        if not job.get("jobId"):
            raise PlatformError(ErrorCode.UNKNOWN_ERROR, "Bluesky's video service answered without a job id")
        wait = timedelta(seconds=min(1 + polls, 10))
        return InProgress({"job": str(job["jobId"]), "started": started, "polls": polls}, wait)

    async def _upload_video(self, creds: Credentials, item: MediaFile) -> dict[str, Any]:
        params = {
            "aud": await self._pds_audience(creds),
            "lxm": "com.atproto.repo.uploadBlob",
            "exp": str(int(time.time()) + SERVICE_TOKEN_SECONDS),
        }
        result = await self.call(
            creds, "GET", "com.atproto.server.getServiceAuth", headers=self.auth(creds), params=params
        )
        token = _http.json_object(result.body).get("token")
        if not isinstance(token, str):
            raise _unexpected("Bluesky gave no service token for the video upload", result)
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": item.mime_type,
            "Content-Length": str(item.size),
        }
        result = await self.call(
            creds,
            "POST",
            "app.bsky.video.uploadVideo",
            origin=creds.endpoint("video"),
            headers=headers,
            params={"did": creds.account_id, "name": f"{item.id}.mp4"},
            data=byte_range(item.source, 0, item.size),
            client_timeout=upload_timeout(self.timeout, item.size),
        )
        return _job_status(result)

    async def _pds_audience(self, creds: Credentials) -> str:
        """``did:web`` of the PDS holding the account (from its DID document), the token's audience."""
        result = await self.call(
            creds, "GET", "com.atproto.repo.describeRepo", params={"repo": creds.account_id}
        )
        origin = creds.base_url
        document = _http.json_object(result.body).get("didDoc")
        services = document.get("service") if isinstance(document, dict) else None
        for service in services if isinstance(services, list) else []:
            endpoint = service.get("serviceEndpoint") if isinstance(service, dict) else None
            if str(service.get("id", "")).endswith("#atproto_pds") and isinstance(endpoint, str):
                origin = endpoint
        return "did:web:" + urlsplit(origin).netloc.replace(":", "%3A")


def check(media: tuple[MediaFile, ...]) -> None:
    """Refuse media Bluesky cannot take as it is (the engine converts before it gets here)."""
    videos = [item for item in media if item.kind == "video"]
    if videos and len(media) > 1:
        _refuse(ErrorCode.INVALID_CONTENT, "a Bluesky post holds either images or one video")
    if len(media) > MAX_IMAGES:
        _refuse(ErrorCode.INVALID_CONTENT, f"a Bluesky post holds at most {MAX_IMAGES} images")
    for item in media:
        if item.kind == "image":
            if item.mime_type != "image/jpeg":
                _refuse(ErrorCode.INVALID_CONTENT, f"Bluesky images must be JPEG here, not {item.mime_type}")
            if item.size > IMAGE_MAX_BYTES:
                _refuse(
                    ErrorCode.CONTENT_TOO_LARGE,
                    f"a Bluesky image may have {IMAGE_MAX_BYTES:,} bytes; this one has {item.size:,}",
                )
            if max(item.width or 0, item.height or 0) > IMAGE_MAX_SIDE:
                _refuse(
                    ErrorCode.CONTENT_TOO_LARGE,
                    f"a Bluesky image may be {IMAGE_MAX_SIDE}×{IMAGE_MAX_SIDE} pixels at most; "
                    f"this one is {item.width}×{item.height}",
                )
            continue
        if item.mime_type != "video/mp4":
            _refuse(ErrorCode.INVALID_CONTENT, f"Bluesky videos must be MP4, not {item.mime_type}")
        if item.size > VIDEO_MAX_BYTES:
            _refuse(
                ErrorCode.CONTENT_TOO_LARGE,
                f"a Bluesky video may have {VIDEO_MAX_BYTES:,} bytes; this one has {item.size:,}",
            )
        if item.duration is not None and item.duration > VIDEO_MAX_SECONDS:
            _refuse(
                ErrorCode.CONTENT_TOO_LARGE,
                f"a Bluesky video may last {VIDEO_MAX_SECONDS // 60} minutes at most",
            )
        if item.alt_text and len(_GRAPHEME.findall(item.alt_text)) > VIDEO_ALT_MAX:
            _refuse(
                ErrorCode.CONTENT_TOO_LARGE,
                f"Bluesky video alt text is limited to {VIDEO_ALT_MAX} characters",
            )


def _refuse(code: ErrorCode, why: str) -> NoReturn:
    raise PlatformError(code, f"Media not accepted: {why}")


def _with_aspect_ratio(entry: dict[str, Any], item: MediaFile) -> dict[str, Any]:
    if item.width and item.height:
        entry["aspectRatio"] = {"width": item.width, "height": item.height}
    return entry


def _blob(result: _http.HttpResult) -> dict[str, Any]:
    blob = _http.json_object(result.body).get("blob")
    if not isinstance(blob, dict):
        raise _unexpected("Bluesky stored the file but its answer has no blob", result)
    return blob


def _job_status(result: _http.HttpResult) -> dict[str, Any]:
    """A job status, whether it comes wrapped in ``jobStatus`` (getJobStatus) or bare (uploadVideo)."""
    data = _http.json_object(result.body)
    inner = data.get("jobStatus")
    return inner if isinstance(inner, dict) else data


def _unexpected(message: str, result: _http.HttpResult) -> PlatformError:
    return PlatformError(
        ErrorCode.UNKNOWN_ERROR, message, status=result.status, platform_error=_http.error_text(result.body)
    )
