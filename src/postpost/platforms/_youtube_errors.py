"""Google's errors: the API answers ``{"error": {"code", "message", "errors": [{"reason"}],
"status"}}``, the token endpoint ``{"error", "error_description"}``; both classified by reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from postpost.platforms import _http
from postpost.platforms._chunked import next_midnight
from postpost.platforms.base import ErrorCode, PlatformError

QUOTA_ZONE = "America/Los_Angeles"  # YouTube's daily quota resets at midnight Pacific time
_AUTH = frozenset({"authError", "unauthorized", "UNAUTHENTICATED", "invalid_token", "expired"})
_THROTTLED = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "RESOURCE_EXHAUSTED"})
_TOO_LARGE = frozenset({"uploadTooLarge", "mediaTooLarge", "payloadTooLarge"})


def reason_of(body: dict[str, Any]) -> tuple[str, str]:
    """(reason, message) of a Google error body."""
    error = body.get("error")
    if isinstance(error, str):
        return error, str(body.get("error_description") or "")
    if not isinstance(error, dict):
        return "", ""
    errors = error.get("errors")
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    return str(first.get("reason") or error.get("status") or ""), str(error.get("message") or "")


def classify(result: _http.HttpResult, *, creating: bool = False) -> PlatformError:
    """Map a failed Data API (or upload) answer to a PlatformError."""
    reason, text = reason_of(_http.json_object(result.body))
    platform_error = ": ".join(p for p in (reason, text) if p) or _http.error_text(result.body)
    status = result.status
    detail = f"(HTTP {status}): {platform_error or 'no details'}"
    now = datetime.now(UTC)

    def err(code: ErrorCode, message: str, **kw: Any) -> PlatformError:
        return PlatformError(code, f"{message} {detail}", status=status, platform_error=platform_error, **kw)

    if status == 401 or reason in _AUTH:
        return err(ErrorCode.PLATFORM_AUTH_EXPIRED, "YouTube rejected the access token", refreshable=True)
    if reason == "quotaExceeded":
        return err(
            ErrorCode.RATE_LIMITED,
            "The YouTube API quota is used up until midnight Pacific time",
            retry_at=next_midnight(now, QUOTA_ZONE),
        )
    if reason == "uploadLimitExceeded":
        return err(
            ErrorCode.RATE_LIMITED,
            "The channel reached YouTube's upload limit",
            retry_at=now + timedelta(days=1),
        )
    if status == 429 or reason in _THROTTLED:
        retry_at = _http.retry_after(result.headers.get("Retry-After"), now=now) or now + timedelta(
            seconds=60
        )
        return err(ErrorCode.RATE_LIMITED, "YouTube rate limit exceeded", retry_at=retry_at)
    if status == 413 or reason in _TOO_LARGE:
        return err(ErrorCode.CONTENT_TOO_LARGE, "YouTube refused the video as too large")
    if status >= 500:
        return err(ErrorCode.PLATFORM_SERVER_ERROR, "YouTube server error", maybe_published=creating)
    if status == 400:
        return err(ErrorCode.INVALID_CONTENT, "YouTube rejected the video")
    return err(ErrorCode.UNKNOWN_ERROR, "YouTube refused the request", retryable=False)


def token_error(result: _http.HttpResult) -> PlatformError:
    """A refused refresh: ``invalid_grant`` (revoked, expired, unused for months) means reconnecting."""
    reason, text = reason_of(_http.json_object(result.body))
    platform_error = ": ".join(p for p in (reason, text) if p) or _http.error_text(result.body)
    if result.status >= 500:
        return PlatformError(
            ErrorCode.PLATFORM_SERVER_ERROR,
            f"Google's token endpoint failed (HTTP {result.status})",
            status=result.status,
            platform_error=platform_error,
        )
    if reason in ("invalid_client", "unauthorized_client"):
        return PlatformError(
            ErrorCode.UNKNOWN_ERROR,
            "Google refused this server's app credentials (POSTPOST_YOUTUBE_CLIENT_ID and _SECRET)",
            status=result.status,
            platform_error=platform_error,
            retryable=False,
        )
    return PlatformError(
        ErrorCode.PLATFORM_AUTH_EXPIRED,
        f"Google refused to refresh the YouTube access; reconnect the account ({platform_error})",
        status=result.status,
        platform_error=platform_error,
    )


_FAILED = {
    "codec": "YouTube could not decode the video (codec)",
    "conversion": "YouTube could not convert the video",
    "emptyFile": "The video file is empty",
    "invalidFile": "YouTube could not read the video file",
    "tooSmall": "The video file is too small",
    "uploadAborted": "The upload was aborted",
}


def processing_failure(status: dict[str, Any]) -> PlatformError:
    """The error of a video whose ``status.uploadStatus`` is failed, rejected or deleted."""
    state = str(status.get("uploadStatus") or "")
    if state == "failed":
        reason = str(status.get("failureReason") or "unknown")
        message = _FAILED.get(reason, "YouTube failed to process the video")
    elif state == "rejected":
        reason = str(status.get("rejectionReason") or "unknown")
        message = "YouTube rejected the video"
    else:
        reason, message = state or "unknown", "The video is no longer on YouTube"
    code = ErrorCode.INVALID_CONTENT if state in ("failed", "rejected") else ErrorCode.UNKNOWN_ERROR
    return PlatformError(code, f"{message} ({reason})", platform_error=reason, retryable=False)
