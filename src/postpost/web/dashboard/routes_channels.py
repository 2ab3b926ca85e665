"""Channels: the connect page inside the dashboard, for the effective user.

    GET  /app/channels                      connected accounts (token status, last error) and
                                            every platform with its Connect / Sandbox buttons
    GET  /app/channels/connect/{platform}   start OAuth (303 to the platform), or show its form
    POST /app/channels/connect/{platform}   a form: Bluesky sign-in, Telegram bot, Mastodon server
    POST /app/channels/test                 test one connection live (field platformId)
    POST /app/channels/remove               remove one connection (field platformId)

The flows are the connect pages' (`ConnectFlows`), run with the user's connect link; an OAuth
flow started here comes back to /app/channels.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from postpost.api.deps import Services, ServicesDep, SessionDep
from postpost.db.models import User
from postpost.errors import InvalidInput, NotFound, PostpostError
from postpost.platforms.base import PlatformError
from postpost.platforms.registry import descriptor
from postpost.services import connection_checks
from postpost.services.connect_flows import BACK_DASHBOARD, ConnectFlows
from postpost.services.connect_links import DEFAULT_DAYS
from postpost.services.connect_page import connect_page
from postpost.services.connections import remove_connection
from postpost.web.connect.routes import FORMS, TRUE, Field, _sandbox_fields
from postpost.web.dashboard.acting import principal_for
from postpost.web.dashboard.session import CsrfDep, Viewer, ViewerDep
from postpost.web.dashboard.templating import PageRoute, page

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _flows(services: Services) -> ConnectFlows:
    return ConnectFlows(
        services.settings,
        services.database,
        services.box,
        services.adapters,
        services.links,
        services.sandbox_url,
    )


async def _link_token(session: AsyncSession, services: Services, user_id: str) -> str:
    """The token of the user's connect link (a new link when there is none or it expired)."""
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("User not found")
    link = await services.links.issue(session, user, days=DEFAULT_DAYS, rotate=False)
    await session.commit()
    return link.url.rsplit("/", 1)[1]


async def _channels_page(
    request: Request,
    viewer: Viewer,
    session: AsyncSession,
    services: Services,
    *,
    status_code: int = 200,
    **context: Any,
) -> Response:
    found = await connect_page(
        session, services.settings, viewer.user, "", sandbox=services.sandbox_url is not None
    )
    values: dict[str, Any] = {"connected": [], "removal": None, "tested": None, "problem": None}
    values.update(context)
    return page(request, viewer, "channels.html", status_code=status_code, channels=found, **values)


@router.get("/app/channels")
async def channels(
    request: Request, viewer: ViewerDep, session: SessionDep, services: ServicesDep, connected: str = ""
) -> Response:
    return await _channels_page(
        request, viewer, session, services, connected=[c for c in connected.split(",") if c]
    )


def _form(
    request: Request,
    viewer: Viewer,
    platform: str,
    *,
    sandbox: bool,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    described = descriptor(platform)
    values = _sandbox_fields(platform) if sandbox else {}
    fields = [Field(f.name, f.label, f.hint, f.type, values.get(f.name, "")) for f in FORMS[platform]]
    return page(
        request,
        viewer,
        "channel_form.html",
        status_code=status,
        platform=platform,
        title=described.title if described else platform,
        fields=fields,
        sandbox=sandbox,
        problem=problem,
    )


@router.get("/app/channels/connect/{platform}")
async def start(
    platform: str,
    request: Request,
    viewer: ViewerDep,
    session: SessionDep,
    services: ServicesDep,
    sandbox: str = "",
    pages: str = "",
) -> Response:
    in_sandbox = sandbox.lower() in TRUE
    if platform in FORMS and not (platform == "mastodon" and in_sandbox):
        return _form(request, viewer, platform, sandbox=in_sandbox)
    token = await _link_token(session, services, viewer.user.id)
    url = await _flows(services).begin(
        token, platform, sandbox=in_sandbox, pages=pages.lower() in TRUE, back=BACK_DASHBOARD
    )
    return RedirectResponse(url, 303)


@router.post("/app/channels/connect/{platform}")
async def submit(
    platform: str,
    request: Request,
    viewer: ViewerDep,
    _csrf: CsrfDep,
    session: SessionDep,
    services: ServicesDep,
) -> Response:
    if platform not in FORMS:
        raise NotFound(f"Unknown platform: {platform}")
    data = {k: str(v) for k, v in (await request.form()).items()}
    sandbox = data.get("sandbox", "").lower() in TRUE
    token = await _link_token(session, services, viewer.user.id)
    flows = _flows(services)
    try:
        if platform == "mastodon":
            url = await flows.begin(
                token, platform, sandbox=sandbox, instance=data.get("instance", ""), back=BACK_DASHBOARD
            )
            return RedirectResponse(url, 303)
        if platform == "bluesky":
            result = await flows.sign_in(
                token, platform, data.get("identifier", ""), data.get("password", ""), sandbox=sandbox
            )
        else:
            result = await flows.add_bot(
                token, platform, data.get("bot_token", ""), data.get("chat", ""), sandbox=sandbox
            )
    except (PlatformError, InvalidInput) as exc:  # shown on the form, to try again
        return _form(request, viewer, platform, sandbox=sandbox, problem=exc.message, status=400)
    return RedirectResponse(f"/app/channels?connected={','.join(result.platform_ids)}", 303)


@router.post("/app/channels/test")
async def test(
    request: Request, viewer: ViewerDep, _csrf: CsrfDep, session: SessionDep, services: ServicesDep
) -> Response:
    platform_id = str((await request.form()).get("platformId") or "")
    principal = await principal_for(session, viewer)
    try:
        result = await connection_checks.test_connection(
            session, principal, services.credentials, services.adapters.get, platform_id
        )
    except PostpostError as exc:
        await session.rollback()
        return await _channels_page(
            request, viewer, session, services, status_code=exc.status_code, problem=exc.message
        )
    return await _channels_page(request, viewer, session, services, tested=result)


@router.post("/app/channels/remove")
async def remove(
    request: Request, viewer: ViewerDep, _csrf: CsrfDep, session: SessionDep, services: ServicesDep
) -> Response:
    platform_id = str((await request.form()).get("platformId") or "")
    try:
        removal = await remove_connection(session, viewer.user.id, platform_id)
    except PostpostError as exc:
        await session.rollback()
        return await _channels_page(
            request, viewer, session, services, status_code=exc.status_code, problem=exc.message
        )
    return await _channels_page(request, viewer, session, services, removal=removal)
