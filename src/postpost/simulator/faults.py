"""Fault injection: content markers and per-account fault queues.

Canonical fault kinds (what a handler renders):

* ``auth-expired`` / ``invalid-content`` - rejected before anything is stored;
* ``rate-limited`` / ``server-error`` - transient, rejected before anything is stored;
* ``timeout-after-commit`` - stored, then the response stalls;
* ``server-error-after-commit`` - stored, then a 5xx is answered.

Content markers ``#sandbox:<name>`` or ``#sandbox:<name>@<platform>`` in the
post text select faults per post: ``auth-expired`` and ``invalid-content``
are permanent, the ``*-once`` markers apply to successive attempts of the
same post (first once-marker on the first attempt, second on the second...).
"""

from __future__ import annotations

import re
from collections import deque

PLATFORMS = frozenset({"mastodon", "bluesky"})

PERMANENT = ("auth-expired", "invalid-content")
PRE_COMMIT = frozenset({"auth-expired", "invalid-content", "rate-limited", "server-error"})
POST_COMMIT = frozenset({"timeout-after-commit", "server-error-after-commit"})
QUEUE_FAULTS = PRE_COMMIT | POST_COMMIT

# marker name -> canonical kind
_MARKERS = {
    "auth-expired": "auth-expired",
    "invalid-content": "invalid-content",
    "rate-limit-once": "rate-limited",
    "server-error-once": "server-error",
    "timeout-after-commit": "timeout-after-commit",
    "server-error-after-commit": "server-error-after-commit",
}
# queue names also accept the marker spellings
_QUEUE_ALIASES = {
    **{k: k for k in QUEUE_FAULTS},
    "rate-limit-once": "rate-limited",
    "server-error-once": "server-error",
}

_MARKER_RE = re.compile(r"#sandbox:([a-z0-9-]+)(?:@([a-z]+))?", re.IGNORECASE)


def parse_markers(text: str, platform: str) -> list[str]:
    """Return the canonical fault kinds the text's markers select on ``platform``, in text order."""
    if "#" not in text or "#sandbox:" not in text.lower():
        return []
    found: list[str] = []
    for m in _MARKER_RE.finditer(text):
        kind = _MARKERS.get(m.group(1).lower())
        target = m.group(2)
        if kind is not None and (target is None or target.lower() == platform):
            found.append(kind)
    return found


def marker_fault(markers: list[str], attempt: int) -> str | None:
    """Pick the fault for attempt number ``attempt`` (0-based) of a post carrying ``markers``."""
    for kind in markers:
        if kind in PERMANENT:
            return kind
    once = [k for k in markers if k not in PERMANENT]
    return once[attempt] if attempt < len(once) else None


def normalize_fault(name: str) -> str | None:
    """Map a control-queue fault name to its canonical kind, or None if unknown."""
    return _QUEUE_ALIASES.get(name)


class FaultQueues:
    """Per-(platform, account) FIFO of faults for the next publish calls."""

    def __init__(self) -> None:
        self._queues: dict[tuple[str, str], deque[str]] = {}

    def push(self, platform: str, account: str, fault: str, times: int = 1) -> int:
        """Queue ``fault`` ``times`` times; return the queue length."""
        q = self._queues.setdefault((platform, account), deque())
        q.extend([fault] * times)
        return len(q)

    def pop(self, platform: str, account: str) -> str | None:
        """Consume the next queued fault for the account, if any."""
        if not self._queues:
            return None
        q = self._queues.get((platform, account))
        if not q:
            return None
        fault = q.popleft()
        if not q:
            del self._queues[(platform, account)]
        return fault

    def pending(self) -> list[dict[str, object]]:
        """List queued faults (for the control API)."""
        return [{"platform": p, "account": a, "faults": list(q)} for (p, a), q in self._queues.items()]

    def drop(self, platform: str, account: str) -> None:
        """Drop the account's queued faults."""
        self._queues.pop((platform, account), None)

    def clear(self) -> None:
        """Drop every queued fault."""
        self._queues.clear()
