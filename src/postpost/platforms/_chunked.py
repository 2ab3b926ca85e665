"""Streaming uploads: one byte range of a media file as a request body, and timeouts sized for it.

A video is never read into memory: each PUT streams its range from the `MediaSource` in pieces,
and the request may take as long as its size needs at a modest minimum rate.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import aiohttp

from postpost.platforms.base import MediaSource

PIECE = 1024 * 1024  # bytes read from the source at a time
MIN_UPLOAD_RATE = 256 * 1024  # bytes per second an upload may not fall below


async def byte_range(source: MediaSource, start: int, length: int) -> AsyncIterator[bytes]:
    """`length` bytes of `source` from `start`, in pieces of at most `PIECE` bytes."""
    remaining = length
    pieces = source.chunks(offset=start, chunk_size=min(PIECE, max(length, 1)))
    try:
        async for piece in pieces:
            if remaining <= 0:
                break
            if len(piece) > remaining:
                piece = piece[:remaining]
            remaining -= len(piece)
            yield piece
    finally:
        close = getattr(pieces, "aclose", None)
        if close is not None:
            await close()
    if remaining > 0:
        raise ValueError(f"the media file ended {remaining} bytes early")


def upload_timeout(base: aiohttp.ClientTimeout, size: int) -> aiohttp.ClientTimeout:
    """A timeout for sending `size` bytes: the usual one for connecting and for the answer, and a
    total that allows the body to go out at `MIN_UPLOAD_RATE`."""
    seconds = base.total or 10.0
    return aiohttp.ClientTimeout(
        total=seconds + size / MIN_UPLOAD_RATE, sock_connect=seconds, sock_read=seconds
    )


def next_midnight(now: datetime, zone: str = "UTC") -> datetime:
    """The next midnight in time zone `zone` after `now`, in UTC (daily quotas reset then)."""
    local = now.astimezone(ZoneInfo(zone))
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=local.tzinfo)
    return midnight.astimezone(UTC)
