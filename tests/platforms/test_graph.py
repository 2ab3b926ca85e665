"""The Meta Graph error classification shared by Threads, Facebook and Instagram."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from postpost.platforms import _graph
from postpost.platforms._http import HttpResult
from postpost.platforms.base import ErrorCode, PlatformError

NOW = datetime(2026, 5, 20, 10, 0, tzinfo=UTC)


def result(status: int, error: dict[str, Any] | None = None, **headers: str) -> HttpResult:
    body = json.dumps({"error": error}).encode() if error is not None else b"<html>oops</html>"
    proxy = CIMultiDictProxy(CIMultiDict({k.replace("_", "-"): v for k, v in headers.items()}))
    return HttpResult(status, proxy, body)


def classify(
    r: HttpResult, *, creating: bool = False, subcodes: dict[int, ErrorCode] | None = None
) -> PlatformError:
    return _graph.classify(r, title="Meta", creating=creating, subcodes=subcodes, now=NOW)


@pytest.mark.parametrize(
    ("code", "subcode", "expected"),
    [
        (190, None, ErrorCode.PLATFORM_AUTH_EXPIRED),
        (190, 463, ErrorCode.PLATFORM_AUTH_EXPIRED),
        (102, None, ErrorCode.PLATFORM_AUTH_EXPIRED),
        (100, 460, ErrorCode.PLATFORM_AUTH_EXPIRED),  # subcode first: password changed
        (4, None, ErrorCode.RATE_LIMITED),
        (17, None, ErrorCode.RATE_LIMITED),
        (32, None, ErrorCode.RATE_LIMITED),
        (613, None, ErrorCode.RATE_LIMITED),
        (80001, None, ErrorCode.RATE_LIMITED),
        (9, 2207042, ErrorCode.RATE_LIMITED),
        (10, None, ErrorCode.UNKNOWN_ERROR),
        (200, None, ErrorCode.UNKNOWN_ERROR),
        (299, None, ErrorCode.UNKNOWN_ERROR),
        (368, None, ErrorCode.UNKNOWN_ERROR),
        (100, None, ErrorCode.INVALID_CONTENT),
        (506, None, ErrorCode.INVALID_CONTENT),
        (1609005, None, ErrorCode.INVALID_CONTENT),
        (1, None, ErrorCode.PLATFORM_SERVER_ERROR),
        (2, None, ErrorCode.PLATFORM_SERVER_ERROR),
    ],
)
def test_codes(code: int, subcode: int | None, expected: ErrorCode) -> None:
    error: dict[str, Any] = {"message": "Something", "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    err = classify(result(400, error))
    assert err.code is expected
    assert err.status == 400
    assert err.platform_error == "Something"
    assert err.retryable is (expected in (ErrorCode.RATE_LIMITED, ErrorCode.PLATFORM_SERVER_ERROR))
    assert f"code {code}" in err.message and err.message.endswith(": Something")


def test_a_platform_subcode_wins_over_the_code() -> None:
    spam = {"message": "Restricted", "code": 4, "error_subcode": 2207051}
    assert classify(result(400, spam)).code is ErrorCode.RATE_LIMITED
    table = {2207051: ErrorCode.UNKNOWN_ERROR}
    assert classify(result(400, spam), subcodes=table).code is ErrorCode.UNKNOWN_ERROR


def test_transient_unknown_code_is_a_server_error_that_may_have_published() -> None:
    err = classify(result(400, {"message": "Try later", "code": 6000, "is_transient": True}), creating=True)
    assert err.code is ErrorCode.PLATFORM_SERVER_ERROR and err.retryable and err.maybe_published
    # a known code is read before is_transient
    err = classify(result(400, {"message": "Slow down", "code": 4, "is_transient": True}), creating=True)
    assert err.code is ErrorCode.RATE_LIMITED and not err.maybe_published


def test_server_errors_after_a_create_may_have_published() -> None:
    err = classify(result(500, {"message": "Unexpected", "code": 2}), creating=True)
    assert err.code is ErrorCode.PLATFORM_SERVER_ERROR and err.maybe_published and err.status == 500
    assert not classify(result(500, {"message": "Unexpected", "code": 2})).maybe_published


def test_length_errors_are_too_large() -> None:
    err = classify(result(400, {"message": "Param text must be at most 500 characters long.", "code": 100}))
    assert err.code is ErrorCode.CONTENT_TOO_LARGE


def test_user_message_is_shown_and_raw_message_kept() -> None:
    error = {"message": "Invalid parameter", "code": 100, "error_user_msg": "The caption is not allowed."}
    err = classify(result(400, error))
    assert err.message == "Meta rejected the post (code 100): The caption is not allowed."
    assert err.platform_error == "Invalid parameter"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, ErrorCode.PLATFORM_AUTH_EXPIRED),
        (413, ErrorCode.CONTENT_TOO_LARGE),
        (429, ErrorCode.RATE_LIMITED),
        (502, ErrorCode.PLATFORM_SERVER_ERROR),
        (404, ErrorCode.UNKNOWN_ERROR),
    ],
)
def test_bodies_without_the_envelope_go_by_status(status: int, expected: ErrorCode) -> None:
    err = classify(result(status))
    assert err.code is expected
    assert err.platform_error == "<html>oops</html>"


def test_rate_limit_reset_from_business_use_case_usage() -> None:
    usage = {
        "1234": [
            {"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 7},
            {"type": "instagram", "call_count": 50, "estimated_time_to_regain_access": 0},
        ]
    }
    r = result(400, {"message": "Limit", "code": 80001}, X_Business_Use_Case_Usage=json.dumps(usage))
    err = classify(r)
    assert err.retry_at == NOW + timedelta(minutes=7)


def test_rate_limit_reset_from_app_usage_when_full() -> None:
    full = result(400, {"message": "Limit", "code": 4}, X_App_Usage='{"call_count": 100, "total_time": 20}')
    assert classify(full).retry_at == NOW + _graph.APP_USAGE_WAIT
    partial = result(400, {"message": "Limit", "code": 4}, X_App_Usage='{"call_count": 40}')
    assert classify(partial).retry_at is None
    assert classify(result(400, {"message": "Limit", "code": 4}, X_App_Usage="not json")).retry_at is None


def test_match_recent_takes_the_earliest_post_of_the_window() -> None:
    items = [
        {"id": "3", "text": "hello", "timestamp": "2026-05-20T10:09:00+0000"},
        {"id": "2", "text": "hello ", "timestamp": "2026-05-20T10:02:00+0000"},
        {"id": "1", "text": "hello", "timestamp": "2026-05-20T09:00:00+0000"},  # before the attempt
        {"id": "0", "text": "other", "timestamp": "2026-05-20T10:03:00+0000"},
    ]
    found = _graph.match_recent(items, text="hello", text_field="text", time_field="timestamp", since=NOW)
    assert found is not None and found["id"] == "2"
    assert (
        _graph.match_recent(items, text="nope", text_field="text", time_field="timestamp", since=NOW) is None
    )


def test_quota_error() -> None:
    config = {"quota_total": 250, "quota_duration": 86400}
    assert (
        _graph.quota_error("Threads", {"quota_usage": 249, "config": config}, "quota_usage", "config") is None
    )
    err = _graph.quota_error("Threads", {"quota_usage": 250, "config": config}, "quota_usage", "config")
    assert err is not None and err.code is ErrorCode.RATE_LIMITED and err.retryable
    assert err.message == "Threads publishing limit reached: 250 of 250 posts in the last 24 hours"
    assert err.retry_at is not None
    wait = err.retry_at - datetime.now(UTC)
    assert timedelta(minutes=5) < wait <= timedelta(seconds=86400 / 250 + 5)
    assert _graph.quota_error("Threads", {}, "quota_usage", "config") is None
