"""The monthly quota of new bookmarks: only inserts count, re-syncing a known bookmark is free.

Months are calendar months in UTC, keyed `YYYY-MM`. The limit is the billing owner's
`xBookmarksMonthly` entitlement (2000 on Premium; none means unlimited); usage is per user.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import XBookmarkUsage
from postpost.ids import iso
from postpost.services.plans import Entitlements
from postpost.services.x_bookmarks.access import dialect_insert
from postpost.services.x_bookmarks.errors import BookmarkError


@dataclass(frozen=True)
class Balance:
    """A user's quota for one month."""

    used: int
    limit: int | None
    period_start: datetime
    period_end: datetime
    month_key: str

    @property
    def is_unlimited(self) -> bool:
        return self.limit is None

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(self.limit - self.used, 0)

    def room(self) -> int | None:
        """How many new bookmarks may still be stored (None: any number)."""
        return self.remaining

    def reached(self) -> BookmarkError:
        """The 403 answered once the month's quota is used up."""
        return BookmarkError(
            403,
            "X_BOOKMARKS_LIMIT_REACHED",
            "Monthly X bookmarks limit reached",
            used=self.used,
            limit=self.limit,
            remaining=0,
            periodEnd=iso(self.period_end),
        )


def month_of(now: datetime) -> tuple[datetime, datetime, str]:
    """The UTC calendar month holding `now`: its start, its end, and its key."""
    start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end, start.strftime("%Y-%m")


async def balance_of(
    session: AsyncSession, user_id: str, entitlements: Entitlements, now: datetime
) -> Balance:
    start, end, key = month_of(now)
    used = await session.scalar(
        select(XBookmarkUsage.used).where(XBookmarkUsage.user_id == user_id, XBookmarkUsage.month_key == key)
    )
    return Balance(used or 0, entitlements.x_bookmarks_monthly, start, end, key)


async def count_inserts(session: AsyncSession, user_id: str, month_key: str, inserted: int) -> None:
    """Add `inserted` new bookmarks to the user's usage of that month."""
    if inserted <= 0:
        return
    row = dialect_insert(session, XBookmarkUsage).values(user_id=user_id, month_key=month_key, used=inserted)
    await session.execute(
        row.on_conflict_do_update(
            index_elements=["user_id", "month_key"], set_={"used": XBookmarkUsage.used + inserted}
        )
    )
