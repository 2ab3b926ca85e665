"""A person's wall-clock time in their own time zone, to and from the UTC instants postpost stores."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from postpost.errors import InvalidInput
from postpost.ids import iso

DEFAULT_ZONE = "UTC"
NO_TIME = "Choose the date and time to publish at"
_LOCAL_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")


def zone(name: str | None) -> ZoneInfo:
    """The IANA zone called `name` (UTC when empty); InvalidInput for an unknown one."""
    name = (name or "").strip() or DEFAULT_ZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"Unknown time zone: {name}") from None


def local_to_utc(value: str, tz: ZoneInfo) -> datetime:
    """`2026-12-01T09:30` (a datetime-local field) read in `tz`, as an aware UTC datetime.

    A time that a daylight-saving change skips or repeats is read with the offset in force
    before the change (fold 0).
    """
    for pattern in _LOCAL_FORMATS:
        try:
            naive = datetime.strptime(value.strip(), pattern)
        except ValueError:
            continue
        return naive.replace(tzinfo=tz).astimezone(UTC)
    raise InvalidInput("Invalid scheduled time format")


def utc_to_local(moment: datetime, tz: ZoneInfo) -> datetime:
    """A stored (aware) instant in `tz`."""
    return moment.astimezone(tz)


def local_input_value(moment: datetime | None, tz: ZoneInfo) -> str:
    """The value of a datetime-local field showing `moment` in `tz` ('' for no moment)."""
    return utc_to_local(moment, tz).strftime("%Y-%m-%dT%H:%M") if moment else ""


def scheduled_instant(local: Any, tz_name: Any) -> str:
    """A form's datetime-local value read in its IANA zone, as the UTC `scheduledTime` (ISO, `Z`)."""
    if not isinstance(local, str) or not local.strip():
        raise InvalidInput(NO_TIME)
    tz = zone(tz_name if isinstance(tz_name, str) else None)
    return iso(local_to_utc(local, tz)) or ""
