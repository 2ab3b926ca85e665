"""Plan limits: allowed platforms, monthly and scheduled post budgets, horizon, connections.

Breaches raise `LimitExceeded` carrying the documented LimitExceededError body (HTTP 403).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.db.models import Connection, Post, PostGroup, User
from postpost.errors import LimitExceeded
from postpost.ids import iso
from postpost.services.auth import Principal
from postpost.services.connections import split_platform_id
from postpost.services.plans import Entitlements

ACTIVE_STATUSES = ("scheduled", "pending", "processing")


def _body(ent: Entitlements, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "limit": None,
        "used": None,
        "requested": None,
        "remaining": None,
        "periodStart": None,
        "periodEnd": None,
        "planName": ent.plan_name,
    }
    base.update(fields)
    return base


def assert_platforms_allowed(ent: Entitlements, platform_ids: Sequence[str]) -> None:
    """PLATFORM_NOT_AVAILABLE when a platform is outside the plan's allow-list."""
    if ent.allowed_platforms is None:
        return
    names = list(dict.fromkeys(split_platform_id(p)[0] for p in platform_ids))
    disallowed = [name for name in names if name not in ent.allowed_platforms]
    if disallowed:
        raise LimitExceeded(
            "Platform not available",
            "PLATFORM_NOT_AVAILABLE",
            "posts.platform_monthly",
            f"Platform not available on your {ent.plan_name} plan.",
            **_body(ent, disallowedPlatforms=disallowed, allowedPlatforms=list(ent.allowed_platforms)),
        )


def month_period(moment: datetime) -> tuple[datetime, datetime]:
    start = datetime(moment.year, moment.month, 1, tzinfo=UTC)
    if moment.year == datetime.max.year and moment.month == 12:
        return start, datetime.max.replace(tzinfo=UTC)
    end = datetime(moment.year + (moment.month == 12), moment.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def _pool(owner_id: str) -> Any:
    """The users whose usage counts against `owner_id`'s plan: the owner and its managed users."""
    return select(User.id).where(or_(User.id == owner_id, User.parent_user_id == owner_id)).scalar_subquery()


async def lock_budget(session: AsyncSession, owner_id: str) -> None:
    """Serialise limit checks of one billing owner until the transaction ends.

    A no-op write of the owner's row: on PostgreSQL it locks that row, on SQLite it takes the
    database's write lock. Concurrent create-post calls at the edge of a limit then count one
    after the other, so together they never exceed it.
    """
    await session.execute(update(User).where(User.id == owner_id).values(updated_at=User.updated_at))


async def assert_can_schedule(
    session: AsyncSession,
    principal: Principal,
    platform_ids: Sequence[str],
    scheduled_time: datetime,
    now: datetime,
    *,
    exclude_group_id: str | None = None,
) -> None:
    """Check every count and horizon limit for scheduling `platform_ids` at `scheduled_time`."""
    ent = principal.entitlements
    owner = principal.billing_owner_id
    await lock_budget(session, owner)
    await _check_connections(session, ent, owner)
    _check_horizon(ent, scheduled_time, now)
    start, end = month_period(scheduled_time)
    head = (
        select(Post.platform, Post.account_id, func.count())
        .where(Post.user_id.in_(_pool(owner)), Post.thread_index == 0)
        .group_by(Post.platform, Post.account_id)
    )
    if exclude_group_id:
        head = head.where(Post.group_id != exclude_group_id)
    monthly = head.join(PostGroup, PostGroup.id == Post.group_id).where(
        Post.status != "draft", PostGroup.scheduled_time >= start, PostGroup.scheduled_time < end
    )
    if ent.monthly_posts is not None:
        await _check_budget(
            session,
            ent,
            monthly,
            platform_ids,
            ent.monthly_posts,
            error="Post limit reached",
            code="POST_LIMIT_REACHED",
            metric="posts.platform_monthly",
            message=f"Monthly post limit reached. Your {ent.plan_name} plan allows {ent.monthly_posts} "
            "platform posts per month.",
            period=(start, end),
        )
    if ent.scheduled_posts is not None:
        await _check_budget(
            session,
            ent,
            head.where(Post.status.in_(ACTIVE_STATUSES)),
            platform_ids,
            ent.scheduled_posts,
            error="Scheduled post limit reached",
            code="SCHEDULED_POST_LIMIT_REACHED",
            metric="posts.scheduled_active",
            message=f"Scheduled post limit reached. Your {ent.plan_name} plan allows {ent.scheduled_posts} "
            "scheduled posts.",
            period=None,
        )


async def assert_can_connect(session: AsyncSession, ent: Entitlements, owner: str) -> None:
    """CONNECTIONS_OVER_LIMIT when one more connection would exceed the plan (checks serialised)."""
    await lock_budget(session, owner)
    await _check_connections(session, ent, owner, adding=1)


async def _check_connections(session: AsyncSession, ent: Entitlements, owner: str, adding: int = 0) -> None:
    if ent.connections is None:
        return
    count = (
        await session.scalar(
            select(func.count()).select_from(Connection).where(Connection.user_id.in_(_pool(owner)))
        )
        or 0
    )
    if count + adding > ent.connections:
        raise LimitExceeded(
            "Account over channel limit",
            "CONNECTIONS_OVER_LIMIT",
            "connections.total",
            f"Your account has more connected channels than your {ent.plan_name} plan allows.",
            **_body(
                ent,
                limit=ent.connections,
                used=count,
                requested=adding,
                remaining=max(ent.connections - count, 0),
                overLimitBy=count + adding - ent.connections,
            ),
        )


def _check_horizon(ent: Entitlements, scheduled_time: datetime, now: datetime) -> None:
    days = ent.schedule_horizon_days
    if days is None:
        return
    latest = now + timedelta(days=days)
    if scheduled_time > latest:
        raise LimitExceeded(
            "Schedule horizon reached",
            "SCHEDULE_HORIZON_REACHED",
            "posts.schedule_horizon_days",
            f"Scheduled time exceeds your {ent.plan_name} plan's {days}-day scheduling horizon.",
            **_body(ent, limit=days, scheduledTime=iso(scheduled_time), maxScheduledDate=iso(latest)),
        )


async def _check_budget(
    session: AsyncSession,
    ent: Entitlements,
    query: Select[str, str, int],
    platform_ids: Sequence[str],
    limit: int,
    *,
    error: str,
    code: str,
    metric: str,
    message: str,
    period: tuple[datetime, datetime] | None,
) -> None:
    counts = {f"{platform}-{account}": n for platform, account, n in (await session.execute(query)).all()}
    period_fields = {"periodStart": iso(period[0]), "periodEnd": iso(period[1])} if period else {}
    requested = len(platform_ids)
    if ent.scope == "connection":
        blocked = [
            {
                "platformSelection": pid,
                "used": counts.get(pid, 0),
                "remaining": max(limit - counts.get(pid, 0), 0),
            }
            for pid, n in Counter(platform_ids).items()
            if counts.get(pid, 0) + n > limit
        ]
        if blocked:
            raise LimitExceeded(
                error,
                code,
                metric,
                message,
                **_body(
                    ent,
                    limit=limit,
                    requested=requested,
                    scope="connection",
                    blockedPlatforms=blocked,
                    **period_fields,
                ),
            )
        return
    used = sum(counts.values())
    if used + requested > limit:
        raise LimitExceeded(
            error,
            code,
            metric,
            message,
            **_body(
                ent,
                limit=limit,
                used=used,
                requested=requested,
                remaining=max(limit - used, 0),
                scope="account",
                blockedPlatforms=list(platform_ids),
                **period_fields,
            ),
        )
