"""TikTok's errors: every answer carries ``{"data", "error": {"code", "message", "log_id"}}``; a
publish can also end FAILED with a ``fail_reason``; the token endpoint answers OAuth errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from postpost.platforms import _http
from postpost.platforms._chunked import next_midnight
from postpost.platforms.base import ErrorCode, PlatformError


def error_of(answer: dict[str, Any]) -> dict[str, Any]:
    error = answer.get("error")
    return error if isinstance(error, dict) else {}


# TikTok's own error codes → (our code, what to tell the user)
_ERRORS: dict[str, tuple[ErrorCode, str]] = {
    "access_token_invalid": (ErrorCode.PLATFORM_AUTH_EXPIRED, "TikTok rejected the access token"),
    "scope_not_authorized": (ErrorCode.PLATFORM_AUTH_EXPIRED, "The TikTok account did not grant posting"),
    "scope_permission_missed": (ErrorCode.PLATFORM_AUTH_EXPIRED, "The TikTok account did not grant posting"),
    "rate_limit_exceeded": (ErrorCode.RATE_LIMITED, "TikTok rate limit exceeded"),
    "spam_risk_too_many_posts": (ErrorCode.RATE_LIMITED, "The TikTok account reached its daily post limit"),
    "spam_risk_too_many_pending_share": (ErrorCode.RATE_LIMITED, "Too many TikTok posts are still pending"),
    "privacy_level_option_mismatch": (ErrorCode.INVALID_CONTENT, "TikTok refused the viewerSetting"),
    "invalid_params": (ErrorCode.INVALID_CONTENT, "TikTok rejected the post"),
    "invalid_file_upload": (ErrorCode.INVALID_CONTENT, "TikTok rejected the video file"),
    "internal_error": (ErrorCode.PLATFORM_SERVER_ERROR, "TikTok server error"),
}


def classify(result: _http.HttpResult, *, creating: bool) -> PlatformError:
    """Map a failed TikTok answer (``{"data", "error": {"code", "message", "log_id"}}``)."""
    error = error_of(_http.json_object(result.body))
    name, text = str(error.get("code") or ""), str(error.get("message") or "")
    platform_error = ": ".join(p for p in (name, text) if p) or _http.error_text(result.body)
    status = result.status
    code, message = _ERRORS.get(name, (None, ""))
    if code is None:
        if status == 401:
            code, message = ErrorCode.PLATFORM_AUTH_EXPIRED, "TikTok rejected the access token"
        elif status == 429:
            code, message = ErrorCode.RATE_LIMITED, "TikTok rate limit exceeded"
        elif status >= 500:
            code, message = ErrorCode.PLATFORM_SERVER_ERROR, "TikTok server error"
        elif status == 413:
            code, message = ErrorCode.CONTENT_TOO_LARGE, "TikTok rejected the video as too large"
        else:
            code, message = ErrorCode.UNKNOWN_ERROR, "TikTok refused the request"
    if code is ErrorCode.INVALID_CONTENT and any(w in text.lower() for w in ("too large", "exceed", "size")):
        code = ErrorCode.CONTENT_TOO_LARGE
    now = datetime.now(UTC)
    retry_at = None
    if code is ErrorCode.RATE_LIMITED:
        retry_at = (
            next_midnight(now)
            if name == "spam_risk_too_many_posts"
            else _http.retry_after(result.headers.get("Retry-After"), now=now) or now + timedelta(seconds=60)
        )
    return PlatformError(
        code,
        f"{message} (HTTP {status}): {platform_error or 'no details'}",
        status=status,
        platform_error=platform_error,
        retry_at=retry_at,
        refreshable=name == "access_token_invalid" or (status == 401 and not name),
        maybe_published=creating and code is ErrorCode.PLATFORM_SERVER_ERROR,
        retryable=False if code is ErrorCode.UNKNOWN_ERROR else None,
    )


_FAILURES = {
    "file_format_check_failed": "TikTok could not read the video file",
    "duration_check_failed": "TikTok refused the video's duration",
    "frame_rate_check_failed": "TikTok refused the video's frame rate",
    "picture_size_check_failed": "TikTok refused the photo's size",
    "video_pull_failed": "TikTok could not download the video from its URL",
    "photo_pull_failed": "TikTok could not download a photo from its URL",
    "spam_risk_too_many_posts": "The TikTok account reached its daily post limit",
    "spam_risk_user_banned_from_posting": "The TikTok account is banned from posting",
    "spam_risk_text": "TikTok refused the caption",
    "auth_removed": "The TikTok account removed this app's access",
}


def failure(reason: str) -> PlatformError:
    """The error of a publish that TikTok's status says FAILED."""
    message = f"{_FAILURES.get(reason, 'TikTok failed to publish the post')} ({reason})"
    if reason == "auth_removed":
        code = ErrorCode.PLATFORM_AUTH_EXPIRED
    elif reason in ("video_pull_failed", "photo_pull_failed", "internal"):
        code = ErrorCode.PLATFORM_SERVER_ERROR
    elif reason == "spam_risk_too_many_posts":
        code = ErrorCode.RATE_LIMITED
    elif reason.endswith("_check_failed") or reason.startswith("spam_risk"):
        code = ErrorCode.INVALID_CONTENT
    else:
        code = ErrorCode.UNKNOWN_ERROR
    return PlatformError(code, message, platform_error=reason, retryable=False)


def token_error(result: _http.HttpResult, body: dict[str, Any]) -> PlatformError:
    """A refused refresh: an expired or spent refresh token means reconnecting."""
    name = str(body.get("error") or "")
    detail = str(body.get("error_description") or "")
    platform_error = ": ".join(p for p in (name, detail) if p) or _http.error_text(result.body)
    if result.status >= 500:
        return PlatformError(
            ErrorCode.PLATFORM_SERVER_ERROR,
            f"TikTok's token endpoint failed (HTTP {result.status})",
            status=result.status,
            platform_error=platform_error,
        )
    if name == "invalid_client":
        return PlatformError(
            ErrorCode.UNKNOWN_ERROR,
            "TikTok refused this server's app credentials (POSTPOST_TIKTOK_CLIENT_ID and _SECRET)",
            status=result.status,
            platform_error=platform_error,
            retryable=False,
        )
    return PlatformError(
        ErrorCode.PLATFORM_AUTH_EXPIRED,
        f"TikTok refused to refresh the access token; reconnect the account ({platform_error})",
        status=result.status,
        platform_error=platform_error,
    )
