"""What every fake platform shares: a clock, the listing of accepted posts, faults and a request log.

Everything lives in plain lists and dicts guarded by nothing: the simulator runs on one event
loop and no handler awaits between reading and writing the store.
"""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from postpost.simulator.faults import FaultQueues, marker_fault, parse_markers

Clock = Callable[[], float]
REQUEST_LOG_SIZE = 20_000


@dataclass(slots=True)
class Accepted:
    """One post a fake accepted, as listed by ``GET /_control/posts``.

    `media` describes what arrived with it: ``{"type", "mimeType", "size", "width", "height"}``
    (and ``"duration"`` for video where the fake measured it).
    """

    platform: str
    account: str
    id: str
    text: str
    reply_to: str | None
    media: list[dict[str, Any]]
    at: float

    def as_json(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "account": self.account,
            "id": self.id,
            "text": self.text,
            "replyTo": self.reply_to,
            "media": self.media,
            "at": iso_timestamp(self.at),
        }


@dataclass
class World:
    """The shared mutable state of the simulator.

    `stall_seconds`: how long a ``timeout-after-commit`` answer stalls; `slow_seconds`: how long
    ``#sandbox:slow`` takes before answering normally; `hold_seconds`: the reset a 429 announces.
    """

    clock: Clock
    stall_seconds: float = 30.0
    slow_seconds: float = 5.0
    hold_seconds: float = 1.0
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    accepted: list[Accepted] = field(default_factory=list)
    faults: FaultQueues = field(default_factory=FaultQueues)
    # attempt counters for "once" content markers, keyed by (platform, account, attempt key)
    attempts: dict[tuple[str, str, str], int] = field(default_factory=dict)
    requests: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=REQUEST_LOG_SIZE))

    def accept(
        self,
        platform: str,
        account: str,
        post_id: str,
        text: str,
        reply_to: str | None = None,
        media: list[dict[str, Any]] | None = None,
    ) -> None:
        """List a post the platform accepted."""
        self.accepted.append(Accepted(platform, account, post_id, text, reply_to, media or [], self.clock()))

    def fault_for(self, platform: str, account: str, text: str, attempt_key: str) -> str | None:
        """The fault to play on this publish call: a queued one first, else one its markers select.

        `attempt_key` identifies the post across retries (an idempotency key, a record key, or
        the text itself), so ``*-once`` markers apply to successive attempts in order.
        """
        queued = self.faults.pop(platform, account)
        if queued is not None:
            return queued
        markers = parse_markers(text, platform)
        if not markers:
            return None
        key = (platform, account, attempt_key)
        attempt = self.attempts.get(key, 0)
        self.attempts[key] = attempt + 1
        return marker_fault(markers, attempt)

    def log_request(self, platform: str, method: str, path: str) -> None:
        self.requests.append({"platform": platform, "method": method, "path": path, "at": self.clock()})

    def forget(self, platform: str | None = None, account: str | None = None) -> None:
        """Forget accepted posts, faults and marker attempts: all, or one account's."""
        if platform is None:
            self.accepted.clear()
            self.faults.clear()
            self.attempts.clear()
            self.requests.clear()
            return
        mine = (platform, account)
        self.accepted[:] = [p for p in self.accepted if (p.platform, p.account) != mine]
        self.faults.drop(platform, account or "")
        for key in [k for k in self.attempts if k[:2] == mine]:
            del self.attempts[key]


def iso_timestamp(ts: float) -> str:
    """A unix timestamp as ISO-8601 UTC with milliseconds and ``Z``."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
