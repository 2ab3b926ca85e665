"""When to try a failed platform post again: exponential backoff with jitter, or the platform's reset."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from postpost.platforms.base import PlatformError


def next_attempt_at(
    error: PlatformError, attempts: int, now: datetime, *, base_seconds: float, max_seconds: float
) -> datetime:
    """`attempts` counts tries so far (1 after the first). Honour `error.retry_at` when later."""
    backoff = min(base_seconds * 2 ** (attempts - 1), max_seconds)
    delay = timedelta(seconds=backoff * random.uniform(0.5, 1.0))
    candidate = now + delay
    if error.retry_at is not None and error.retry_at > candidate:
        return min(error.retry_at, now + timedelta(seconds=max_seconds))
    return candidate


def should_retry(error: PlatformError, attempts: int, max_attempts: int) -> bool:
    return error.retryable and attempts < max_attempts
