"""create-post, get-post, list-posts, update-post, delete-post."""

from __future__ import annotations

import functools
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from postpost import wire
from postpost.api.deps import JsonBody, PrincipalDep, ServicesDep, SessionDep
from postpost.api.errors import failure_message
from postpost.api.schemas import (
    CreatePostBody,
    CreatePostReply,
    ErrorBody,
    GetPostReply,
    LimitExceededBody,
    ListPostsReply,
    SuccessReply,
    UpdatePostBody,
    UpdatePostReply,
    json_body,
    responses,
)
from postpost.services import listing, media, posts

router = APIRouter()
NOT_FOUND = (404, ErrorBody, "`Post group not found` (also for malformed or foreign ids).")
LIMITS = (403, LimitExceededBody, "Plan limit (LimitExceededError) or access errors.")


@router.post(
    "/create-post",
    response_model=CreatePostReply,
    responses=responses(LIMITS),
    openapi_extra=json_body(CreatePostBody),
    summary="Create a draft or scheduled post group",
)
async def create_post(principal: PrincipalDep, session: SessionDep, body: JsonBody) -> JSONResponse:
    with failure_message("Failed to create post group"):
        group_id = await posts.create_post(session, principal, body)
    return JSONResponse(wire.created_post(group_id))


@router.get("/get-post/{postGroupId}", response_model=GetPostReply, responses=responses(NOT_FOUND))
async def get_post(postGroupId: str, principal: PrincipalDep, session: SessionDep) -> JSONResponse:
    with failure_message("Failed to fetch post group"):
        return JSONResponse(wire.post_group(await posts.get_post(session, principal, postGroupId)))


@router.get("/list-posts", response_model=ListPostsReply, responses=responses())
async def list_posts(
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    page: str | None = Query(None, description="Page (clamped to ≥ 1)."),
    limit: str | None = Query(None, description="Page size (default 20, clamped to 1..100)."),
    status: str | None = Query(None, json_schema_extra={"enum": list(listing.GROUP_STATUSES)}),
    platform: str | None = Query(None, description="Platform name, e.g. `mastodon`."),
    sortBy: str | None = Query(None, json_schema_extra={"enum": list(listing.SORT_FIELDS)}),
    sortOrder: str | None = Query(None, description="`asc` or `desc` (default)."),
    fromDate: str | None = Query(None),
    toDate: str | None = Query(None),
) -> JSONResponse:
    params: dict[str, Any] = dict(request.query_params)
    with failure_message("Failed to list posts"):
        return JSONResponse(wire.post_page(await listing.list_posts(session, principal.user_id, params)))


@router.put(
    "/update-post/{postGroupId}",
    response_model=UpdatePostReply,
    responses=responses(LIMITS, NOT_FOUND),
    openapi_extra=json_body(UpdatePostBody),
)
async def update_post(
    postGroupId: str, principal: PrincipalDep, session: SessionDep, services: ServicesDep, body: JsonBody
) -> JSONResponse:
    probe = functools.partial(media.ensure_probed, services.database, services.storage)
    with failure_message("Failed to update post"):
        updated = await posts.update_post(session, principal, postGroupId, body, probe=probe)
    return JSONResponse(wire.updated_post(updated))


@router.delete("/delete-post/{postGroupId}", response_model=SuccessReply, responses=responses(NOT_FOUND))
async def delete_post(
    postGroupId: str, principal: PrincipalDep, session: SessionDep, services: ServicesDep
) -> JSONResponse:
    with failure_message("Failed to delete post group"):
        removed = await posts.delete_post(session, principal, postGroupId)
    await media.remove_files(services.storage, removed)
    return JSONResponse({"success": True})
