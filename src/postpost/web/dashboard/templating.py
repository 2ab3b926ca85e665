"""Rendering dashboard pages: the shared layout's context, security headers, error pages."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request, Response
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from postpost.errors import LimitExceeded, PostpostError
from postpost.ids import iso
from postpost.web.dashboard.session import (
    PageRefusal,
    Viewer,
    get_sessions,
    optional_viewer,
    wants_json,
)

TEMPLATES = Path(__file__).parent / "templates"

HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: https:; "
        "media-src 'self' blob: https:; connect-src 'self' https:; frame-ancestors 'none'; "
        "base-uri 'none'; object-src 'none'"
    ),
}

# the navigation: (key, label, path); a page is "active" when its path starts with the item's path
NAV = (
    ("posts", "Posts", "/app/posts"),
    ("compose", "Compose", "/app/compose"),
    ("calendar", "Calendar", "/app/calendar"),
    ("channels", "Channels", "/app/channels"),
    ("keys", "API keys", "/app/keys"),
    ("webhooks", "Webhooks", "/app/webhooks"),
)

templates = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True, lstrip_blocks=True
    )
)
templates.env.filters["iso"] = iso


def active_item(path: str) -> str | None:
    """The key of the navigation item `path` belongs to."""
    for key, _label, prefix in NAV:
        if path == prefix or path.startswith(prefix + "/"):
            return key
    return None


def page(
    request: Request, viewer: Viewer | None, template: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """`template` rendered with `context` plus `viewer`, `csrf_token`, `nav` and `active`.

    Before sign-in (`viewer` None) the CSRF token is the anonymous cookie's, issued if missing.
    """
    sessions = get_sessions(request)
    anonymous = None
    if viewer is not None:
        token = viewer.csrf_token
    else:
        token = sessions.anonymous_token(request) or ""
        anonymous = None if token else sessions.new_anonymous_token()
    values = {
        "viewer": viewer,
        "csrf_token": token or anonymous,
        "nav": NAV,
        "active": active_item(request.url.path),
        **context,
    }
    response = templates.TemplateResponse(request, template, values, status_code=status_code, headers=HEADERS)
    if anonymous is not None:
        sessions.set_anonymous_token(response, anonymous)
    return response


def error_page(request: Request, viewer: Viewer | None, status: int, message: str) -> HTMLResponse:
    """A page saying what went wrong, with `status`."""
    return page(request, viewer, "error.html", status_code=status, status=status, message=message)


def refusal_page(request: Request, refusal: PageRefusal) -> HTMLResponse:
    return error_page(request, refusal.viewer, refusal.status, refusal.message)


def message_of(exc: PostpostError) -> str:
    """The text shown for a domain error (a limit's own message, not the generic one)."""
    if isinstance(exc, LimitExceeded):
        return str(exc.fields.get("message") or exc.message)
    return exc.message


class PageRoute(APIRoute):
    """A route whose domain errors become error pages (JSON for JSON requests, as the API answers)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except PostpostError as exc:
                if wants_json(request):
                    raise
                viewer = await optional_viewer(request)
                return error_page(request, viewer, exc.status_code, message_of(exc))

        return handle
