"""Page sizes from query strings."""

from __future__ import annotations


def clamp_limit(raw: str | None, default: int, maximum: int) -> int:
    """The default when absent or not a number, else the value clamped to 1..maximum."""
    try:
        value = int(raw) if raw is not None else default
    except ValueError:
        value = default
    return max(1, min(value, maximum))
