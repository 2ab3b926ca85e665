"""Parsing of client-supplied times (strict for scheduledTime, lenient for list filters)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

_STRICT = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE
)
_DATE_ONLY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def parse_scheduled_time(value: object) -> datetime | None:
    """ISO 8601 with a `T` and a zone (`Z` or ±HH:MM), any fraction digits → aware UTC; else None."""
    if not isinstance(value, str):
        return None
    match = _STRICT.match(value.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        parsed = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro, tzinfo=UTC
        )
    except ValueError:
        return None
    if zone.upper() != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        if offset > timedelta(hours=18):
            return None
        try:
            parsed -= sign * offset
        except OverflowError:
            return None
    return parsed.replace(microsecond=parsed.microsecond - parsed.microsecond % 1000)


def parse_lenient_date(value: str) -> datetime | None:
    """Roughly what JavaScript `new Date(value)` takes: ISO forms, a bare date (UTC midnight), RFC 2822."""
    text = value.strip()
    if not text:
        return None
    if _DATE_ONLY.match(text):
        try:
            return datetime.fromisoformat(text).replace(tzinfo=UTC)
        except ValueError:
            return None
    strict = parse_scheduled_time(text)
    if strict is not None:
        return strict
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    try:
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except OverflowError:
        return None
