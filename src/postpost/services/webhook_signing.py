"""The bytes a webhook receives and the headers that sign them.

The body is serialised once, exactly as JavaScript's `JSON.stringify` would write it (no spaces,
non-ASCII not escaped, key order `event`, `timestamp`, `data`), signed, and sent as those bytes,
so both the docs' verifiers and a raw-body verifier agree.

Headers:
- `X-PostPost-Signature`: lowercase hex HMAC-SHA256 of the body with the secret (the contract);
  `X-PostPost-Signature-Previous`: the same with the previous secret during a rotation's grace period.
- `X-PostPost-Event`, `X-PostPost-Event-Id` (the same on every retry), `X-PostPost-Timestamp`
  (Unix seconds of this attempt).
- `X-PostPost-Signature-V2`: HMAC-SHA256 of `<event id>.<timestamp>.<body>`, one hex value per
  valid secret separated by spaces: it binds the id and time, so receivers can refuse replays.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def envelope(event: str, timestamp: str, data: Mapping[str, Any]) -> str:
    """The delivery body as text: compact JSON, keys in contract order, non-ASCII kept."""
    text = json.dumps(
        {"event": event, "timestamp": timestamp, "data": data}, separators=(",", ":"), ensure_ascii=False
    )
    # JSON.stringify escapes lone surrogates; they cannot be encoded as UTF-8 anyway.
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def signature(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(
    *, event: str, event_id: str, body: bytes, secrets: Sequence[str], timestamp: int
) -> dict[str, str]:
    """Delivery headers; `secrets` is the current secret, then the previous one while it is valid."""
    stamped = f"{event_id}.{timestamp}.".encode() + body
    headers = {
        "Content-Type": "application/json",
        "X-PostPost-Signature": signature(secrets[0], body),
        "X-PostPost-Event": event,
        "X-PostPost-Event-Id": event_id,
        "X-PostPost-Timestamp": str(timestamp),
        "X-PostPost-Signature-V2": " ".join(signature(secret, stamped) for secret in secrets),
    }
    if len(secrets) > 1:
        headers["X-PostPost-Signature-Previous"] = signature(secrets[1], body)
    return headers
