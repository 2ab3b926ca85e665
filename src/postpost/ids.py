"""ObjectId-style identifiers and JavaScript-style timestamps."""

from __future__ import annotations

import itertools
import os
import re
import time
from datetime import UTC, datetime

_counter = itertools.count(int.from_bytes(os.urandom(3), "big"))
_process_random = os.urandom(5)
_OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")


def new_id() -> str:
    """A 24-hex-digit id: 4 bytes of seconds, 5 random bytes per process, a 3-byte counter."""
    seconds = int(time.time()).to_bytes(4, "big")
    count = (next(_counter) & 0xFFFFFF).to_bytes(3, "big")
    return (seconds + _process_random + count).hex()


def is_object_id(value: str) -> bool:
    """True for exactly 24 lowercase-or-uppercase hex digits."""
    return bool(_OBJECT_ID.match(value.lower())) if len(value) == 24 else False


def utcnow() -> datetime:
    """The current time, timezone-aware UTC, truncated to milliseconds."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond - now.microsecond % 1000)


def iso(value: datetime | None) -> str | None:
    """Serialise like JavaScript's toISOString(): `2026-03-01T14:00:00.000Z`."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
