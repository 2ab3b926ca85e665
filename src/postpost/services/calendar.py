"""The calendar: a user's post groups by the day they are scheduled for, in the user's time zone.

A month view is whole weeks (Monday first) around the month; a week view is one week. Days are
the user's local days, so a post at 23:30 UTC lands on the next day east of Greenwich. Groups
are read through list-posts' own filter (`listing.list_posts` with fromDate/toDate over
`scheduledTime`), page by page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from postpost.errors import InvalidInput
from postpost.services import listing
from postpost.services.listing import GroupSummary
from postpost.services.local_time import utc_to_local

VIEWS = ("month", "week")
PAGE = 100
MIN_YEAR, MAX_YEAR = 1970, 9998  # room for the neighbouring weeks and months
MAX_PAGES = 5  # at most 500 groups in one view; `truncated` says when there were more


@dataclass(frozen=True)
class Entry:
    """A group on its local day, with its local time."""

    group: GroupSummary
    at: datetime


@dataclass(frozen=True)
class Day:
    day: date
    entries: list[Entry]
    in_range: bool  # False for the days of neighbouring months that fill a month view's weeks
    today: bool


@dataclass(frozen=True)
class Calendar:
    view: str
    anchor: date
    first: date  # first day shown
    weeks: list[list[Day]]
    previous: date
    next: date
    zone: str
    truncated: bool

    @property
    def title(self) -> str:
        if self.view == "month":
            return self.anchor.strftime("%B %Y")
        last = self.first + timedelta(days=6)
        return f"{self.first:%d %b} – {last:%d %b %Y}"


def parse_view(value: str | None) -> str:
    view = (value or "month").strip().lower()
    if view not in VIEWS:
        raise InvalidInput("Invalid view. Must be one of: month, week")
    return view


def parse_day(value: str | None, today: date) -> date:
    """A `YYYY-MM-DD` (or `YYYY-MM`, the month's first day) query value; today when empty."""
    text = (value or "").strip()
    if not text:
        return today
    try:
        day = date.fromisoformat(text + "-01" if len(text) == 7 else text)
    except ValueError:
        day = None
    if day is None or not MIN_YEAR <= day.year <= MAX_YEAR:
        raise InvalidInput("Invalid date. Use YYYY-MM-DD")
    return day


async def build(
    session: AsyncSession, user_id: str, *, view: str, anchor: date, tz: ZoneInfo, now: datetime
) -> Calendar:
    """The month or week around `anchor` with `user_id`'s groups, days in `tz`."""
    if view == "month":
        month_start = anchor.replace(day=1)
        month_end = _add_months(month_start, 1)
        first = month_start - timedelta(days=month_start.weekday())
        last = month_end + timedelta(days=(7 - month_end.weekday()) % 7)
        previous, following = _add_months(month_start, -1), month_end
        in_range = (month_start, month_end)
    else:
        first = anchor - timedelta(days=anchor.weekday())
        last = first + timedelta(days=7)
        previous, following = first - timedelta(days=7), last
        in_range = (first, last)
    groups, truncated = await _groups(session, user_id, _utc(first, tz), _utc(last, tz))
    by_day: dict[date, list[Entry]] = {}
    for group in groups:
        if group.scheduled_time is None:
            continue
        local = utc_to_local(group.scheduled_time, tz)
        by_day.setdefault(local.date(), []).append(Entry(group, local))
    today = utc_to_local(now, tz).date()
    days = [first + timedelta(days=i) for i in range((last - first).days)]
    cells = [Day(d, by_day.get(d, []), in_range[0] <= d < in_range[1], d == today) for d in days]
    weeks = [cells[i : i + 7] for i in range(0, len(cells), 7)]
    return Calendar(view, anchor, first, weeks, previous, following, tz.key, truncated)


async def _groups(
    session: AsyncSession, user_id: str, start: datetime, end: datetime
) -> tuple[list[GroupSummary], bool]:
    """Groups scheduled in [start, end), oldest first, at most MAX_PAGES pages."""
    params = {
        "fromDate": start.isoformat(),
        "toDate": (end - timedelta(milliseconds=1)).isoformat(),
        "sortBy": "scheduledTime",
        "sortOrder": "asc",
        "limit": str(PAGE),
    }
    found: list[GroupSummary] = []
    for page in range(1, MAX_PAGES + 1):
        result = await listing.list_posts(session, user_id, {**params, "page": str(page)})
        found += result.groups
        if page >= result.total_pages:
            return found, False
    return found, True


def _utc(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)
