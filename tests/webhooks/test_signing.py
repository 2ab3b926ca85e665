"""The delivery body and signatures: JSON.stringify's bytes, and the docs' verifiers accept them."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime

from postpost.services import events
from postpost.services.webhook_signing import envelope, signed_headers
from tests.webhooks.conftest import verify_delivery, verify_signature

SECRET = "a" * 64
AT = datetime(2026, 2, 22, 14, 30, tzinfo=UTC)


def js_stringify(value: object) -> str:
    """What JavaScript's JSON.stringify writes for parsed JSON (the docs' Node verifier)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def test_payloads_have_the_contract_key_order():
    failed = events.post_failed(
        user_id="u",
        post_id="p1",
        group_id="g1",
        platform="threads",
        code="PLATFORM_AUTH_EXPIRED",
        message="Token expired",
        failed_at=AT,
    )
    body = envelope(failed.name, "2026-02-22T14:30:00.000Z", failed.data)
    assert body == (
        '{"event":"post.failed","timestamp":"2026-02-22T14:30:00.000Z","data":{"postId":"p1",'
        '"postGroupId":"g1","platform":"threads","error":{"code":"PLATFORM_AUTH_EXPIRED",'
        '"message":"Token expired"},"failedAt":"2026-02-22T14:30:00.000Z"}}'
    )
    scheduled = events.post_scheduled(
        user_id="u", post_id="p", group_id="g", platform="x", scheduled_at=AT, at=AT
    )
    published = events.post_published(user_id="u", post_id="p", group_id="g", platform="x", published_at=AT)
    expiring = events.token_expiring(
        user_id="u", platform="instagram", platform_id="instagram-1", username="me", expires_at=AT, at=AT
    )
    assert list(scheduled.data) == ["postId", "postGroupId", "platform", "scheduledAt"]
    assert list(published.data) == ["postId", "postGroupId", "platform", "publishedAt"]
    assert list(expiring.data) == ["platform", "platformId", "username", "expiresAt"]
    assert (scheduled.name, published.name, expiring.name) == (
        "post.scheduled",
        "post.published",
        "token.expiring",
    )


def test_emoji_and_non_ascii_are_sent_as_utf8_like_json_stringify():
    data = {"message": 'Rate limit 🚀 «quoted» "x" \\ \n\t\u2028 end', "username": "zoë"}
    body = envelope("post.failed", "2026-02-22T14:30:00.000Z", data).encode()
    assert "🚀".encode() in body and b"\\ud83d" not in body
    parsed = json.loads(body)
    assert js_stringify(parsed).encode() == body  # the Node verifier recomputes these exact bytes
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert verify_signature(SECRET, body, signature)
    assert not verify_signature(SECRET, body.replace("🚀".encode(), b"!"), signature)
    # the PostPost Python sample (ensure_ascii=True) disagrees on non-ASCII: the documented bug
    assert json.dumps(parsed, separators=(",", ":")).encode() != body


def test_ascii_payloads_also_satisfy_the_original_python_sample():
    body = envelope("post.published", "2026-02-22T14:30:00.000Z", {"postId": "p"}).encode()
    assert json.dumps(json.loads(body), separators=(",", ":")).encode() == body


def test_lone_surrogates_are_escaped_like_json_stringify():
    body = envelope("post.failed", "t", {"message": "bad \ud800 half"})
    assert body.endswith('"message":"bad \\ud800 half"}}')
    body.encode()  # valid UTF-8


def test_headers_sign_the_body_and_bind_id_and_time():
    body = envelope("post.published", "2026-02-22T14:30:00.000Z", {"postId": "p"}).encode()
    now = int(time.time())
    headers = signed_headers(
        event="post.published", event_id="e" * 24, body=body, secrets=[SECRET], timestamp=now
    )
    assert headers["Content-Type"] == "application/json"
    assert headers["X-PostPost-Event"] == "post.published"
    assert headers["X-PostPost-Event-Id"] == "e" * 24
    assert headers["X-PostPost-Timestamp"] == str(now)
    assert headers["X-PostPost-Signature"] == hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert "X-PostPost-Signature-Previous" not in headers
    assert verify_delivery(SECRET, headers, body)
    assert not verify_delivery("b" * 64, headers, body)
    assert not verify_delivery(SECRET, headers, body + b" ")
    assert not verify_delivery(SECRET, {**headers, "X-PostPost-Event-Id": "f" * 24}, body)
    stale = signed_headers(event="e", event_id="e" * 24, body=body, secrets=[SECRET], timestamp=now - 600)
    assert not verify_delivery(SECRET, stale, body)  # a replay of an old capture
    assert not verify_delivery(SECRET, {**stale, "X-PostPost-Timestamp": str(now)}, body)


def test_grace_period_headers_carry_both_secrets():
    new, old = "1" * 64, "2" * 64
    body = b'{"event":"ping"}'
    headers = signed_headers(
        event="ping", event_id="e" * 24, body=body, secrets=[new, old], timestamp=int(time.time())
    )
    assert verify_signature(new, body, headers["X-PostPost-Signature"])
    assert verify_signature(old, body, headers["X-PostPost-Signature-Previous"])
    assert verify_delivery(new, headers, body) and verify_delivery(old, headers, body)
    assert len(headers["X-PostPost-Signature-V2"].split()) == 2
