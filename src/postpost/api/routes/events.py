"""events: the tenant's events in order, for catching up after downtime."""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from postpost.api.deps import PrincipalDep, SessionDep
from postpost.api.errors import failure_message
from postpost.api.paging import clamp_limit
from postpost.api.schemas import ErrorBody, responses
from postpost.api.webhook_schemas import EventsReply
from postpost.services import events

router = APIRouter()


@router.get(
    "/events",
    response_model=EventsReply,
    responses=responses((404, ErrorBody, "`Event not found`: `after` is not one of your events.")),
    summary="Your events in order, after a given event",
)
async def list_events(
    principal: PrincipalDep,
    session: SessionDep,
    after: str | None = Query(
        None, description="An event id (`X-PostPost-Event-Id`); omit to start from the first."
    ),
    limit: str | None = Query(None, description="How many (default 50, clamped to 1..100)."),
) -> JSONResponse:
    with failure_message("Failed to list events"):
        reply = await events.list_events(
            session, principal.user_id, after=after, limit=clamp_limit(limit, 50, 100)
        )
    return JSONResponse(reply)
