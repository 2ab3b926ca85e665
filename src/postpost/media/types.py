"""Value types for media, independent of the database: what publishing code is handed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StoredMedia:
    """One uploaded file of a post group, as stored (a snapshot of its row).

    `status` is `pending` (not uploaded, or not yet probed), `ready` or `failed` (see `error`).
    `details` holds the probed metadata (format, duration, frameRate, codecName, bitRate, …).
    """

    id: str
    group_id: str
    user_id: str
    type: str  # image | video
    mime_type: str
    key: str
    url: str
    status: str
    error: str | None = None
    size: int | None = None
    width: int | None = None
    height: int | None = None
    max_bytes: int | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> float | None:
        value = self.details.get("duration")
        return float(value) if value is not None else None

    @property
    def frame_rate(self) -> float | None:
        value = self.details.get("frameRate")
        return float(value) if value is not None else None


@dataclass(frozen=True)
class PreparedMedia:
    """What to send to one platform: the stored object `key` (the upload or a converted copy)."""

    media_id: str
    type: str
    key: str
    mime_type: str
    size: int
    width: int | None
    height: int | None
    duration: float | None
    converted: bool
