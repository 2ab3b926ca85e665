"""In-memory state of the platform simulator.

Everything lives in plain dicts and lists guarded by nothing: the simulator
runs on a single event loop and no handler awaits between reading and
writing the store, so no locking is needed.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from postpost.simulator.faults import FaultQueues

IDEMPOTENCY_TTL_SECONDS = 3600.0
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"

Clock = Callable[[], float]


@dataclass(slots=True)
class ControlPost:
    """One accepted post, as listed by ``GET /_control/posts``."""

    platform: str
    account: str
    id: str
    text: str
    reply_to: str | None

    def as_json(self) -> dict[str, Any]:
        """Render the control-listing shape."""
        return {
            "platform": self.platform,
            "account": self.account,
            "id": self.id,
            "text": self.text,
            "replyTo": self.reply_to,
        }


@dataclass(slots=True)
class BskyRecord:
    """A stored AT Protocol record."""

    uri: str
    cid: str
    value: dict[str, Any]


@dataclass
class SimulatorState:
    """The whole mutable world of the simulator."""

    clock: Clock
    stall_seconds: float
    mastodon_max_characters: int = 500
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    posts: list[ControlPost] = field(default_factory=list)
    faults: FaultQueues = field(default_factory=FaultQueues)
    # attempt counters for "once" content markers, keyed by (platform, account, attempt key)
    attempts: dict[tuple[str, str, str], int] = field(default_factory=dict)
    # Mastodon
    statuses: dict[str, dict[str, Any]] = field(default_factory=dict)
    statuses_by_account: dict[str, list[str]] = field(default_factory=dict)
    idempotency: dict[tuple[str, str], tuple[str, float]] = field(default_factory=dict)
    last_status_id: int = 0
    # Bluesky
    records: dict[tuple[str, str, str], BskyRecord] = field(default_factory=dict)
    rkeys: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    handles: dict[str, str] = field(default_factory=dict)
    revoked_refresh: set[str] = field(default_factory=set)
    last_tid_micros: int = 0

    def reset(self) -> None:
        """Forget every post, key, session revocation and queued fault.

        Id generators stay monotonic so ids from before a reset are never reused.
        """
        self.posts.clear()
        self.faults.clear()
        self.attempts.clear()
        self.statuses.clear()
        self.statuses_by_account.clear()
        self.idempotency.clear()
        self.records.clear()
        self.rkeys.clear()
        self.handles.clear()
        self.revoked_refresh.clear()

    def reset_account(self, platform: str, account: str) -> None:
        """Forget one account's posts, statuses or records, idempotency keys and queued faults.

        Other accounts are untouched; revoked sessions stay revoked.
        """
        self.posts[:] = [p for p in self.posts if (p.platform, p.account) != (platform, account)]
        self.faults.drop(platform, account)
        for attempt in [k for k in self.attempts if k[:2] == (platform, account)]:
            del self.attempts[attempt]
        if platform == "mastodon":
            for status_id in self.statuses_by_account.pop(account, []):
                self.statuses.pop(status_id, None)
            for used in [k for k in self.idempotency if k[0] == account]:
                del self.idempotency[used]
        elif platform == "bluesky":
            for record in [k for k in self.records if k[0] == account]:
                del self.records[record]
            for listing in [k for k in self.rkeys if k[0] == account]:
                del self.rkeys[listing]
            self.handles.pop(account, None)

    # ----- ids -------------------------------------------------------------

    def next_status_id(self) -> str:
        """Return a Mastodon snowflake-like id: ``(unix ms << 16) | seq``, strictly increasing."""
        candidate = int(self.clock() * 1000) << 16
        self.last_status_id = max(candidate, self.last_status_id + 1)
        return str(self.last_status_id)

    def next_tid(self) -> str:
        """Return a fresh, strictly increasing AT Protocol TID."""
        micros = max(int(self.clock() * 1_000_000), self.last_tid_micros + 1)
        self.last_tid_micros = micros
        return encode_tid((micros << 10) | 0x1F)

    # ----- attempts --------------------------------------------------------

    def next_attempt(self, platform: str, account: str, key: str) -> int:
        """Return how many earlier attempts were seen for this post, and count this one."""
        k = (platform, account, key)
        n = self.attempts.get(k, 0)
        self.attempts[k] = n + 1
        return n

    # ----- Mastodon --------------------------------------------------------

    def idempotent_status(self, account: str, key: str) -> dict[str, Any] | None:
        """Return the status created earlier with this Idempotency-Key, if still valid."""
        hit = self.idempotency.get((account, key))
        if hit is None:
            return None
        status_id, at = hit
        if self.clock() - at > IDEMPOTENCY_TTL_SECONDS:
            del self.idempotency[(account, key)]
            return None
        return self.statuses.get(status_id)

    def add_status(self, account: str, status: dict[str, Any], text: str, key: str | None) -> None:
        """Store a Mastodon status and list it in the control log."""
        sid = status["id"]
        self.statuses[sid] = status
        self.statuses_by_account.setdefault(account, []).append(sid)
        if key is not None:
            self.idempotency[(account, key)] = (sid, self.clock())
        self.posts.append(ControlPost("mastodon", account, sid, text, status.get("in_reply_to_id")))

    # ----- Bluesky ---------------------------------------------------------

    def add_record(self, did: str, collection: str, rkey: str, record: BskyRecord) -> None:
        """Store a Bluesky record and list posts in the control log."""
        self.records[(did, collection, rkey)] = record
        bisect.insort(self.rkeys.setdefault((did, collection), []), rkey)
        if collection == "app.bsky.feed.post":
            reply = record.value.get("reply")
            parent = reply["parent"]["uri"] if isinstance(reply, dict) else None
            self.posts.append(ControlPost("bluesky", did, record.uri, record.value.get("text", ""), parent))


def encode_tid(value: int) -> str:
    """Encode a 64-bit integer as a 13-character base32-sortable TID."""
    chars = []
    for _ in range(13):
        chars.append(TID_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def did_for_identifier(identifier: str) -> tuple[str, str]:
    """Map a login identifier (handle or ``did:plc:``) to ``(did, handle)``.

    Handles are normalised (leading ``@`` removed, lower-cased); the DID is
    ``did:plc:`` + the first 24 chars of base32-lower(sha256(handle)).
    """
    ident = identifier.strip()
    if ident.startswith("did:"):
        suffix = ident.rsplit(":", 1)[-1]
        return ident, f"{suffix}.sandbox.bsky"
    handle = ident.lstrip("@").lower()
    digest = base64.b32encode(hashlib.sha256(handle.encode()).digest()).decode().lower()
    return "did:plc:" + digest[:24], handle


def iso_timestamp(ts: float) -> str:
    """Format a unix timestamp as ISO-8601 UTC with milliseconds and ``Z``."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
