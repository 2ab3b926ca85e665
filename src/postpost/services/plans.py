"""Plans and entitlements: what a billing owner may do. Plans are rows of the `plans` table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import Plan, User

PLAN_KEYS = ("starter", "pro", "premium")


@dataclass(frozen=True)
class Entitlements:
    """Resolved capabilities of one billing owner. `None` means unlimited / unrestricted."""

    plan_key: str
    plan_name: str
    api_access: bool
    mcp_access: bool
    workspaces: bool
    monthly_posts: int | None
    scheduled_posts: int | None
    schedule_horizon_days: int | None
    connections: int | None
    scope: str
    allowed_platforms: tuple[str, ...] | None
    media_max_bytes: int | None = None  # largest media upload; None: the server's ceiling
    x_bookmarks: bool = False  # the X bookmarks beta (Premium)
    x_bookmarks_monthly: int | None = None  # new bookmarks stored per month; None: unlimited

    @classmethod
    def from_data(cls, plan_key: str, plan_name: str, data: dict[str, Any]) -> Entitlements:
        allowed = data.get("allowedPlatforms")
        return cls(
            plan_key=plan_key,
            plan_name=plan_name,
            api_access=bool(data.get("apiAccess")),
            mcp_access=bool(data.get("mcpAccess")),
            workspaces=bool(data.get("workspaces")),
            monthly_posts=data.get("monthlyPosts"),
            scheduled_posts=data.get("scheduledPosts"),
            schedule_horizon_days=data.get("scheduleHorizonDays"),
            connections=data.get("connections"),
            scope=data.get("scope", "account"),
            allowed_platforms=tuple(allowed) if allowed is not None else None,
            media_max_bytes=data.get("mediaMaxBytes"),
            x_bookmarks=bool(data.get("xBookmarks")),
            x_bookmarks_monthly=data.get("xBookmarksMonthly"),
        )


async def resolve_entitlements(session: AsyncSession, owner: User, plan: Plan | None = None) -> Entitlements:
    """The owner's plan (loaded unless given), with the user's custom entitlements laid over it."""
    if plan is None or plan.key != owner.plan_key:
        plan = await session.get(Plan, owner.plan_key)
    data: dict[str, Any] = dict(plan.entitlements) if plan else {}
    if owner.entitlements:
        data.update(owner.entitlements)
    return Entitlements.from_data(owner.plan_key, plan.name if plan else owner.plan_key, data)
