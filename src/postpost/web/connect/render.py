"""Rendering the connect pages from their templates, with headers that keep the link private.

The link's token is in every URL of these pages: they are never cached, never framed, and
links from them send no Referer (a platform's page must not learn the token).
"""

from __future__ import annotations

from typing import Any

import jinja2
from fastapi.responses import HTMLResponse

from postpost.ids import iso

HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}

WEB_SCHEMES = ("https://", "http://")

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("postpost.web.connect", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_templates.filters["iso"] = iso
_templates.filters["web_url"] = lambda url: (
    url if isinstance(url, str) and url.startswith(WEB_SCHEMES) else None
)


def page(template: str, http_status: int = 200, **context: Any) -> HTMLResponse:
    """`template` rendered with `context`, as an HTML response with the private headers."""
    html = _templates.get_template(template).render(**context)
    return HTMLResponse(html, status_code=http_status, headers=HEADERS)


def error_page(
    status: int, message: str, *, token: str | None = None, code: str | None = None
) -> HTMLResponse:
    """A page explaining why nothing was connected (or the page could not be shown); `code` is a
    reason code such as CONNECTIONS_OVER_LIMIT."""
    return page("error.html", status, status=status, message=message, token=token, code=code)
