"""The dashboard: server-rendered pages under `/app`, sign-in, and the session JSON routes."""

from __future__ import annotations

import inspect
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from postpost.config import Settings
from postpost.web.dashboard import (
    routes_auth,
    routes_calendar,
    routes_channels,
    routes_compose,
    routes_keys,
    routes_posts,
    routes_webhooks,
)
from postpost.web.dashboard.session import Interrupt, PageRefusal, Sessions, optional_viewer, wants_json
from postpost.web.dashboard.templating import error_page, refusal_page

STATIC_PATH = "/static/dashboard"
STATIC_DIR = Path(__file__).parent / "static"
PAGE_PREFIX = "/app/"
HTTP_MESSAGES = {404: "There is no such page.", 405: "This page cannot be used that way."}

router = APIRouter(include_in_schema=False)
router.include_router(routes_auth.router)
router.include_router(routes_keys.api)
router.include_router(routes_keys.pages)
router.include_router(routes_webhooks.api)
router.include_router(routes_webhooks.pages)
router.include_router(routes_channels.router)
router.include_router(routes_compose.router)
router.include_router(routes_posts.router)
router.include_router(routes_calendar.router)


def install(app: FastAPI, settings: Settings) -> None:
    """Serve the dashboard from `app`: its routes, static files, sessions and refusal pages."""
    app.state.dashboard_sessions = Sessions(
        settings.resolved_secret_key,
        secure=settings.base_url().startswith("https://"),
        max_age=settings.session_max_age_seconds,
    )
    app.include_router(router)
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC_DIR), name="dashboard-static")

    @app.exception_handler(Interrupt)
    async def _interrupt(_request: Request, exc: Interrupt) -> Response:
        return exc.response

    @app.exception_handler(PageRefusal)
    async def _refusal(request: Request, exc: PageRefusal) -> Response:
        return refusal_page(request, exc)

    api_http_error = app.exception_handlers[StarletteHTTPException]

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        """Unknown dashboard pages (and wrong methods) get a page; everything else the API's JSON."""
        if request.url.path.startswith(PAGE_PREFIX) and not wants_json(request):
            message = HTTP_MESSAGES.get(exc.status_code, str(exc.detail))
            return error_page(request, await optional_viewer(request), exc.status_code, message)
        answer = api_http_error(request, exc)
        return await answer if inspect.isawaitable(answer) else answer
