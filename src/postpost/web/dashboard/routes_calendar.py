"""`/app/calendar`: the month or week of the viewer's scheduled and published posts, in their zone.

The zone is the `tz` query value (the page's script adds the browser's own when it is missing).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from postpost.api.deps import SessionDep
from postpost.ids import utcnow
from postpost.services import calendar
from postpost.services.local_time import utc_to_local, zone
from postpost.web.dashboard.session import ViewerDep
from postpost.web.dashboard.templating import PageRoute, page

router = APIRouter(route_class=PageRoute)


@router.get("/app/calendar", response_class=HTMLResponse)
async def calendar_page(
    request: Request,
    viewer: ViewerDep,
    session: SessionDep,
    view: str = "month",
    date: str = "",
    tz: str = "",
) -> HTMLResponse:
    """Bad `view`, `date` or `tz` values are 400 pages naming the problem."""
    chosen = calendar.parse_view(view)
    local_zone = zone(tz)
    now = utcnow()
    anchor = calendar.parse_day(date, utc_to_local(now, local_zone).date())
    cal = await calendar.build(session, viewer.user.id, view=chosen, anchor=anchor, tz=local_zone, now=now)
    return page(request, viewer, "calendar/calendar.html", cal=cal, zone_given=bool(tz.strip()))
