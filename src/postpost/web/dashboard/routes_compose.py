"""The composer: `/app/compose` and the JSON routes its script calls (all behind the session and CSRF).

Submitting is three steps, so that files upload with a progress bar straight to storage:
`POST /app/compose/posts` creates the group as a draft (create-post's service), `POST
/app/media/upload-url` signs one upload per file (get-upload-url's service) and the browser PUTs
the file there, then `POST /app/posts/{id}/schedule` (routes_posts) schedules it with update-post's checks,
the uploaded media included. `POST /app/compose/preview` answers the live preview.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from postpost.api.deps import JsonBody, ServicesDep, SessionDep
from postpost.errors import InvalidInput
from postpost.media.formats import accepted_types
from postpost.platforms.descriptor import PlatformDescriptor
from postpost.platforms.registry import descriptors
from postpost.services import compose_preview, connections, media, posts
from postpost.services.local_time import scheduled_instant
from postpost.web.dashboard.acting import principal_for, same_origin
from postpost.web.dashboard.session import CsrfDep, ViewerDep, ViewerJsonDep
from postpost.web.dashboard.templating import PageRoute, page, templates

router = APIRouter(route_class=PageRoute)
POST_FIELDS = ("content", "platforms", "platformSettings", "altTexts")


@router.get("/app/compose", response_class=HTMLResponse)
async def compose_page(request: Request, viewer: ViewerDep, session: SessionDep) -> HTMLResponse:
    accounts = await connections.list_connections(session, viewer.user.id)
    known = descriptors()
    publishable = [a for a in accounts if a.platform in known]
    titles = {name: d.title for name, d in known.items()}
    used = {a.platform for a in publishable}
    settings = {name: _setting_fields(d) for name, d in known.items() if d.settings and name in used}
    return page(
        request,
        viewer,
        "compose/compose.html",
        accounts=publishable,
        titles=titles,
        settings=settings,
        accept=",".join(accepted_types()),
    )


def _setting_fields(platform: PlatformDescriptor) -> list[dict[str, Any]]:
    """The platform's `platformSettings` fields as the form shows them: a checkbox, a choice or text."""
    fields = []
    for name, spec in platform.settings.items():
        kind = "bool" if spec.kind is bool else "choice" if spec.allowed is not None else "text"
        fields.append({"name": name, "kind": kind, "default": spec.default, "allowed": spec.allowed or ()})
    return fields


@router.post("/app/compose/preview")
async def preview(
    request: Request,
    viewer: ViewerJsonDep,
    _csrf: CsrfDep,
    session: SessionDep,
    services: ServicesDep,
    body: JsonBody,
) -> JSONResponse:
    """The live preview: JSON with `ok`, `errors`, per-platform entries and the rendered `html`."""
    body = body if isinstance(body, dict) else {}
    principal = await principal_for(session, viewer)
    files = compose_preview.describe_media(body.get("media"))
    result = await compose_preview.preview(
        session,
        principal,
        {k: body[k] for k in POST_FIELDS if k in body},
        files,
        upload_ceiling=services.settings.media_max_bytes,
    )
    html = templates.get_template("compose/_preview.html").render(preview=result, files=files)
    return JSONResponse(
        {
            "ok": result.ok,
            "errors": result.errors,
            "platforms": [_entry_json(p) for p in result.platforms],
            "html": html,
        }
    )


def _entry_json(entry: compose_preview.PlatformPreview) -> dict[str, Any]:
    return {
        "platformId": entry.platform_id,
        "platform": entry.platform,
        "title": entry.title,
        "limit": entry.limit,
        "length": entry.length,
        "parts": [{"text": p.text, "length": p.length, "label": p.label} for p in entry.parts],
        "conversions": [
            {"position": c.position, "from": c.from_type, "to": c.to_type} for c in entry.conversions
        ],
        "errors": entry.errors,
    }


@router.post("/app/compose/posts")
async def create(
    viewer: ViewerJsonDep, _csrf: CsrfDep, session: SessionDep, services: ServicesDep, body: JsonBody
) -> JSONResponse:
    """Create the group as a draft. To schedule, the preview must be free of errors first."""
    body = body if isinstance(body, dict) else {}
    principal = await principal_for(session, viewer)
    post = {k: body[k] for k in POST_FIELDS if k in body}
    if body.get("schedule"):
        _scheduled_time(body)  # a missing or unreadable time is refused before anything is stored
        files = compose_preview.describe_media(body.get("media"))
        result = await compose_preview.preview(
            session, principal, post, files, upload_ceiling=services.settings.media_max_bytes
        )
        problems = result.errors + [e for p in result.platforms for e in p.errors]
        if problems:
            raise InvalidInput(problems[0])
    group_id = await posts.create_post(session, principal, post)
    return JSONResponse({"success": True, "postGroupId": group_id, "url": f"/app/posts/{group_id}"})


@router.post("/app/media/upload-url")
async def upload_url(
    viewer: ViewerJsonDep, _csrf: CsrfDep, session: SessionDep, services: ServicesDep, body: JsonBody
) -> JSONResponse:
    """get-upload-url for the viewer's group: `{uploadUrl, fileUrl, mediaId}` (PUT the file there)."""
    principal = await principal_for(session, viewer)
    reply = await media.create_upload(
        session, services.storage, principal, body, ceiling=services.settings.media_max_bytes
    )
    reply["uploadUrl"] = same_origin(reply["uploadUrl"], services.storage)
    return JSONResponse(reply)


def _scheduled_time(body: dict[str, Any]) -> str:
    return scheduled_instant(body.get("scheduledLocal"), body.get("timeZone"))
