"""`/app/posts` (list-posts with its filters), `/app/posts/{id}` (status, errors, links, timeline),
and scheduling: the composer's JSON `schedule` route and the detail page's reschedule form."""

from __future__ import annotations

import functools
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.api.deps import JsonBody, Services, ServicesDep, SessionDep
from postpost.errors import InvalidInput, LimitExceeded
from postpost.ids import iso
from postpost.platforms.registry import PLATFORM_NAMES, descriptors
from postpost.services import listing, media, post_logs, posts
from postpost.services.local_time import scheduled_instant
from postpost.web.dashboard.acting import principal_for, same_origin
from postpost.web.dashboard.session import CsrfDep, Viewer, ViewerDep, ViewerJsonDep
from postpost.web.dashboard.templating import PageRoute, message_of, page

router = APIRouter(route_class=PageRoute)
FILTERS = ("status", "platform", "sortBy", "sortOrder", "fromDate", "toDate", "limit")
DONE = {"rescheduled": "The post was rescheduled.", "scheduled": "The post is scheduled."}


@router.get("/app/posts", response_class=HTMLResponse)
async def list_page(request: Request, viewer: ViewerDep, session: SessionDep) -> HTMLResponse:
    """The viewer's groups through list-posts' own filters; a bad filter is shown, not a 500."""
    params = {k: v for k, v in request.query_params.items() if k in (*FILTERS, "page") and v}
    problem, result = None, None
    try:
        result = await listing.list_posts(session, viewer.user.id, params)
    except InvalidInput as exc:
        problem = exc.message
    filters = {k: v for k, v in params.items() if k != "page"}
    return page(
        request,
        viewer,
        "posts/list.html",
        status_code=400 if problem else 200,
        result=result,
        problem=problem,
        filters=filters,
        statuses=listing.GROUP_STATUSES,
        platforms=PLATFORM_NAMES,
        sort_fields=list(listing.SORT_FIELDS),
        titles=_titles(),
        page_url=lambda n: "/app/posts?" + urlencode({**filters, "page": n}),
    )


@router.get("/app/posts/{group_id}", response_class=HTMLResponse)
async def detail_page(
    request: Request,
    group_id: str,
    viewer: ViewerDep,
    session: SessionDep,
    services: ServicesDep,
    done: str = "",
) -> HTMLResponse:
    return await _detail(request, session, services, viewer, group_id, notice=DONE.get(done))


async def _detail(
    request: Request,
    session: AsyncSession,
    services: Services,
    viewer: Viewer,
    group_id: str,
    *,
    notice: str | None = None,
    problem: str | None = None,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    principal = await principal_for(session, viewer)
    group = await posts.get_post(session, principal, group_id)
    logs = await post_logs.group_logs(session, group.id)
    editable = group.status in posts.EDITABLE and group.processing_status != "processing"
    if group.status != "scheduled":  # the scheduling notice, on a reload after publishing
        notice = None
    return page(
        request,
        viewer,
        "posts/detail.html",
        status_code=400 if problem else 200,
        group=group,
        logs=logs,
        parts=_thread_numbers(group.posts),
        media_urls=[same_origin(item.url, services.storage) for item in group.media],
        editable=editable,
        titles=_titles(),
        notice=notice,
        problem=problem,
        form=form or {},
    )


@router.post("/app/posts/{group_id}/reschedule", response_class=HTMLResponse)
async def reschedule(
    request: Request,
    group_id: str,
    viewer: ViewerDep,
    _csrf: CsrfDep,
    session: SessionDep,
    services: ServicesDep,
    scheduled_local: Annotated[str, Form()] = "",
    time_zone: Annotated[str, Form()] = "",
) -> Response:
    """The detail page's form: schedule (again) at a local time; errors shown on the page."""
    try:
        when = scheduled_instant(scheduled_local, time_zone)
        await _schedule(session, services, viewer, group_id, when)
    except (InvalidInput, LimitExceeded) as exc:
        await session.rollback()
        form = {"scheduled_local": scheduled_local, "time_zone": time_zone}
        return await _detail(request, session, services, viewer, group_id, problem=message_of(exc), form=form)
    return RedirectResponse(f"/app/posts/{group_id}?done=rescheduled", status_code=303)


@router.post("/app/posts/{group_id}/schedule")
async def schedule(
    group_id: str,
    viewer: ViewerJsonDep,
    _csrf: CsrfDep,
    session: SessionDep,
    services: ServicesDep,
    body: JsonBody,
) -> JSONResponse:
    """The composer's last step: schedule at `{scheduledLocal, timeZone}` once the files are up."""
    body = body if isinstance(body, dict) else {}
    when = scheduled_instant(body.get("scheduledLocal"), body.get("timeZone"))
    updated = await _schedule(session, services, viewer, group_id, when)
    return JSONResponse(
        {
            "success": True,
            "postGroupId": updated.id,
            "status": updated.status,
            "scheduledTime": iso(updated.scheduled_time),
            "url": f"/app/posts/{updated.id}?done=scheduled",
        }
    )


async def _schedule(
    session: AsyncSession, services: Services, viewer: Viewer, group_id: str, when: str
) -> posts.UpdatedGroup:
    """update-post to `scheduled` at `when`, probing uploads first as the API does."""
    principal = await principal_for(session, viewer)
    probe = functools.partial(media.ensure_probed, services.database, services.storage)
    change: dict[str, Any] = {"status": "scheduled", "scheduledTime": when}
    return await posts.update_post(session, principal, group_id, change, probe=probe)


def _thread_numbers(entries: list[posts.PlatformPost]) -> list[int | None]:
    """Each platform post's place in its account's thread (None for a post that is not a thread)."""
    counts: dict[tuple[str, str], int] = {}
    for entry in entries:
        counts[(entry.platform, entry.account_id)] = counts.get((entry.platform, entry.account_id), 0) + 1
    seen: dict[tuple[str, str], int] = {}
    numbers: list[int | None] = []
    for entry in entries:
        key = (entry.platform, entry.account_id)
        seen[key] = seen.get(key, 0) + 1
        numbers.append(seen[key] if counts[key] > 1 else None)
    return numbers


@functools.cache
def _titles() -> dict[str, str]:
    return {name: d.title for name, d in descriptors().items()}
