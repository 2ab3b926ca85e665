"""X bookmarks (beta, Premium): sync, list and search, export, balance, settings, media, history.

The fixed paths are registered before `/x-bookmarks/{id}` so that it never swallows them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from postpost import wire_x_bookmarks as wire
from postpost.api.deps import PrincipalDep, Services, ServicesDep, SessionDep
from postpost.api.errors import failure_message
from postpost.api.schemas import json_body, responses
from postpost.api.x_bookmark_schemas import (
    BalanceReply,
    BookmarkErrorBody,
    BookmarkListReply,
    BookmarkReply,
    ExportReply,
    MediaStatsReply,
    Settings,
    SettingsReply,
    SyncBody,
    SyncHistoryReply,
    SyncReply,
)
from postpost.ids import utcnow
from postpost.services.x_bookmarks import listing, user
from postpost.services.x_bookmarks.sync import BookmarkSyncer

router = APIRouter(prefix="/x-bookmarks", tags=["x-bookmarks"])
GATE = (403, BookmarkErrorBody, "`PREMIUM_REQUIRED`, `X_BOOKMARKS_NOT_ENABLED`, access errors.")
FILTERS = (
    400,
    BookmarkErrorBody,
    "`INVALID_PARAM_TYPE`, `SEARCH_QUERY_TOO_LONG`, `EMPTY_QUERY`, `CONFLICTING_PARAMS`, "
    "`CONFLICTING_FILTERS`, `INVALID_DATE`, `INVALID_MEDIA_TYPE`, `INVALID_SORT`.",
)
Text = Annotated[str | None, Query()]


def _syncer(services: Services) -> BookmarkSyncer:
    return BookmarkSyncer(services.database, services.credentials, services.adapters)


@router.post(
    "/sync",
    response_model=SyncReply,
    responses=responses(
        (400, BookmarkErrorBody, "`NOT_CONNECTED`, `INVALID_BODY`."),
        (401, BookmarkErrorBody, "`AUTH_EXPIRED` (the X token), or the API key errors."),
        (403, BookmarkErrorBody, "`X_BOOKMARKS_LIMIT_REACHED` (with `used`, `limit`), or the gate."),
        (409, BookmarkErrorBody, "`SYNC_IN_PROGRESS`."),
        (429, BookmarkErrorBody, "`SYNC_RATE_LIMITED` or X's `RATE_LIMITED`, with `retryAfter` seconds."),
        (502, BookmarkErrorBody, "`X_API_ERROR`."),
    ),
    openapi_extra={"requestBody": {**json_body(SyncBody)["requestBody"], "required": False}},
    summary="Fetch the next page of your X bookmarks (1 per 60 s)",
)
async def sync(
    request: Request, principal: PrincipalDep, session: SessionDep, services: ServicesDep
) -> JSONResponse:
    raw = await request.body()
    with failure_message("Failed to sync bookmarks"):
        result = await _syncer(services).sync_request(session, principal, raw)
    return JSONResponse(wire.sync_result(result))


@router.get("", response_model=BookmarkListReply, responses=responses(FILTERS, GATE))
async def list_bookmarks(
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    services: ServicesDep,
    page: Annotated[str | None, Query(description="Page (default 1, at most 500).")] = None,
    limit: Annotated[str | None, Query(description="Page size (default 20, at most 100).")] = None,
    q: Annotated[str | None, Query(description="Full-text search (≤ 200 characters), by relevance.")] = None,
    author: Annotated[str | None, Query(description="Part of the author's username.")] = None,
    from_: Annotated[str | None, Query(alias="from", description="Tweets created at or after (ISO).")] = None,
    to: Annotated[str | None, Query(description="Tweets created before (ISO).")] = None,
    has_media: Annotated[str | None, Query(json_schema_extra={"enum": ["true", "false"]})] = None,
    media_type: Annotated[
        str | None, Query(json_schema_extra={"enum": ["photo", "video", "animated_gif"]})
    ] = None,
    sort: Annotated[
        str | None, Query(json_schema_extra={"enum": ["tweet_date", "synced_at", "likes", "retweets"]})
    ] = None,
) -> JSONResponse:
    pairs = request.query_params.multi_items()
    with failure_message("Failed to list bookmarks"):
        found = await listing.list_bookmarks(session, principal, services.storage, pairs)
    return JSONResponse(wire.bookmark_list(found))


@router.get(
    "/export",
    response_model=ExportReply,
    responses=responses(
        FILTERS,
        GATE,
        (429, BookmarkErrorBody, "`EXPORT_RATE_LIMITED` (5 per 15 minutes), with `retryAfter`."),
    ),
    summary="Up to 200 bookmarks without tracking fields (same filters as the list)",
)
async def export(
    request: Request, principal: PrincipalDep, session: SessionDep, services: ServicesDep
) -> JSONResponse:
    pairs = request.query_params.multi_items()
    with failure_message("Failed to export bookmarks"):
        found = await listing.export_bookmarks(session, principal, services.storage, pairs, utcnow())
    return JSONResponse(wire.export(found))


@router.get("/balance", response_model=BalanceReply, responses=responses(GATE))
async def balance(principal: PrincipalDep, session: SessionDep) -> JSONResponse:
    with failure_message("Failed to get bookmarks balance"):
        report = await user.balance_report(session, principal, utcnow())
    return JSONResponse(wire.balance(report))


@router.get("/sync/history", response_model=SyncHistoryReply, responses=responses(GATE))
async def sync_history(request: Request, principal: PrincipalDep, session: SessionDep) -> JSONResponse:
    with failure_message("Failed to get sync history"):
        history = await user.sync_history(session, principal, dict(request.query_params))
    return JSONResponse(wire.sync_history(history))


NO_CONNECTION = (404, BookmarkErrorBody, "`NOT_CONNECTED`: no X connection.")


@router.get("/user/settings", response_model=SettingsReply, responses=responses(GATE, NO_CONNECTION))
async def get_settings(principal: PrincipalDep, session: SessionDep) -> JSONResponse:
    with failure_message("Failed to get bookmark settings"):
        return JSONResponse(wire.settings(await user.get_settings(session, principal)))


@router.put(
    "/user/settings",
    response_model=SettingsReply,
    responses=responses(
        GATE,
        NO_CONNECTION,
        (400, BookmarkErrorBody, "`INVALID_BODY`, `UNKNOWN_FIELDS`, `INVALID_FIELD_TYPE`."),
    ),
    openapi_extra=json_body(Settings),
)
async def put_settings(request: Request, principal: PrincipalDep, session: SessionDep) -> JSONResponse:
    raw = await request.body()
    with failure_message("Failed to update bookmark settings"):
        return JSONResponse(wire.settings(await user.put_settings(session, principal, raw)))


@router.get("/user/media-stats", response_model=MediaStatsReply, responses=responses(GATE))
async def media_stats(principal: PrincipalDep, session: SessionDep) -> JSONResponse:
    with failure_message("Failed to get media stats"):
        return JSONResponse(wire.media_stats(await user.media_stats(session, principal)))


@router.get(
    "/{id}",
    response_model=BookmarkReply,
    responses=responses(GATE, (404, BookmarkErrorBody, "`BOOKMARK_NOT_FOUND`.")),
    summary="One bookmark by tweet id or by its own id",
)
async def get_bookmark(
    id: str, principal: PrincipalDep, session: SessionDep, services: ServicesDep
) -> JSONResponse:
    with failure_message("Failed to get bookmark"):
        found = await listing.get_bookmark(session, principal, services.storage, id)
    return JSONResponse(wire.bookmark_one(found))
