"""LinkedIn statistics, followers, profile summary, reactions and comments (INVENTORY §1.7).

The feed routes the original disabled (`linkedin-posts`, `linkedin-post-comments`,
`linkedin-post-reactions`) are deliberately absent: they answer 404 like any unknown route.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from postpost import wire_linkedin as wire
from postpost.api.deps import JsonBody, PrincipalDep, ServicesDep, SessionDep
from postpost.api.errors import failure_message
from postpost.api.linkedin_schemas import (
    AccountStatisticsBody,
    AccountStatisticsReply,
    CommentBody,
    CommentDeletedReply,
    CommentRemovalBody,
    CommentReply,
    FollowersBody,
    FollowersReply,
    LinkedInErrorBody,
    PostStatisticsBody,
    PostStatisticsReply,
    ProfileSummaryBody,
    ProfileSummaryReply,
    ProfileUnavailable,
    ReactionBody,
    ReactionRemovalBody,
    ReactionReply,
    request_body,
)
from postpost.api.schemas import ErrorBody, responses
from postpost.services import linkedin_insights as insights
from postpost.services import linkedin_social as social
from postpost.services.linkedin_input import merged_fields

router = APIRouter()
NOT_FOUND = (404, ErrorBody, "`LinkedIn connection not found`.")
RATE_LIMITED = (429, ErrorBody, "LinkedIn's rate limit (its 429 passed on, with `Retry-After`).")


def _failed(message: str, model: type[Any] = ErrorBody) -> tuple[int, type[Any], str]:
    return 500, model, f"`{message}` (LinkedIn's 403 and 429 keep their status)."


@router.post(
    "/linkedin-post-statistics",
    response_model=PostStatisticsReply,
    responses=responses(NOT_FOUND, RATE_LIMITED, _failed(insights.METRIC_FAILED)),
    openapi_extra=request_body(PostStatisticsBody),
    summary="Metrics of one LinkedIn post (cached 30 min)",
)
async def post_statistics(
    principal: PrincipalDep, session: SessionDep, services: ServicesDep, body: JsonBody
) -> JSONResponse:
    with failure_message(insights.POST_STATISTICS_FAILED):
        result = await insights.post_statistics(
            session, principal, services.credentials, services.adapters.get, body
        )
    return JSONResponse(wire.statistics(result))


@router.post(
    "/linkedin-account-statistics",
    response_model=AccountStatisticsReply,
    responses=responses(NOT_FOUND, RATE_LIMITED, _failed(insights.METRIC_FAILED)),
    openapi_extra=request_body(AccountStatisticsBody),
    summary="Metrics over all of the account's posts (TOTAL 30 min, DAILY 15 min cache)",
)
async def account_statistics(
    principal: PrincipalDep, session: SessionDep, services: ServicesDep, body: JsonBody
) -> JSONResponse:
    with failure_message(insights.ACCOUNT_STATISTICS_FAILED):
        result = await insights.account_statistics(
            session, principal, services.credentials, services.adapters.get, body
        )
    return JSONResponse(wire.statistics(result))


@router.post(
    "/linkedin-followers",
    response_model=FollowersReply,
    responses=responses(NOT_FOUND, RATE_LIMITED, _failed(insights.FOLLOWERS_FAILED)),
    openapi_extra=request_body(FollowersBody),
    summary="Follower count, or daily follower growth (cached 30 min)",
)
async def followers(
    principal: PrincipalDep, session: SessionDep, services: ServicesDep, body: JsonBody
) -> JSONResponse:
    with failure_message(insights.FOLLOWERS_FAILED):
        result = await insights.followers(
            session, principal, services.credentials, services.adapters.get, body
        )
    return JSONResponse(wire.followers(result))


@router.post(
    "/linkedin-profile-summary",
    response_model=ProfileSummaryReply,
    responses=responses(
        NOT_FOUND,
        RATE_LIMITED,
        _failed(insights.PROFILE_FAILED),
        (502, ProfileUnavailable, "Nothing could be fetched from LinkedIn."),
    ),
    openapi_extra=request_body(ProfileSummaryBody),
    summary="Followers and post totals of the account",
)
async def profile_summary(
    principal: PrincipalDep, session: SessionDep, services: ServicesDep, body: JsonBody
) -> JSONResponse:
    with failure_message(insights.PROFILE_FAILED):
        result = await insights.profile_summary(
            session, principal, services.credentials, services.adapters.get, body
        )
    status, reply = wire.profile_summary(result)
    return JSONResponse(reply, status_code=status)


@router.post(
    "/linkedin-reactions",
    status_code=201,
    response_model=ReactionReply,
    responses=responses(NOT_FOUND, RATE_LIMITED, _failed(social.CREATE_REACTION_FAILED, LinkedInErrorBody)),
    openapi_extra=request_body(ReactionBody),
    summary="React to a LinkedIn post",
)
async def create_reaction(
    principal: PrincipalDep, session: SessionDep, services: ServicesDep, body: JsonBody
) -> JSONResponse:
    with failure_message(social.CREATE_REACTION_FAILED):
        result = await social.create_reaction(
            session, principal, services.credentials, services.adapters.get, body
        )
    return JSONResponse(wire.reaction(result), status_code=201)


@router.delete(
    "/linkedin-reactions",
    response_model=ReactionReply,
    responses=responses(NOT_FOUND, RATE_LIMITED, _failed(social.DELETE_REACTION_FAILED, LinkedInErrorBody)),
    openapi_extra=request_body(ReactionRemovalBody, required=False),
    summary="Remove your reaction from a LinkedIn post (fields in the body or the query string)",
)
async def delete_reaction(
    principal: PrincipalDep,
    session: SessionDep,
    services: ServicesDep,
    body: JsonBody,
    postedId: str | None = Query(None),
    platformId: str | None = Query(None),
) -> JSONResponse:
    query = {k: v for k, v in {"postedId": postedId, "platformId": platformId}.items() if v is not None}
    with failure_message(social.DELETE_REACTION_FAILED):
        result = await social.delete_reaction(
            session, principal, services.credentials, services.adapters.get, merged_fields(body, query)
        )
    return JSONResponse(wire.reaction(result))


@router.post(
    "/linkedin-comments",
    status_code=201,
    response_model=CommentReply,
    responses=responses(NOT_FOUND, RATE_LIMITED, _failed(social.CREATE_COMMENT_FAILED)),
    openapi_extra=request_body(CommentBody),
    summary="Comment on a LinkedIn post, or reply to a comment",
)
async def create_comment(
    principal: PrincipalDep, session: SessionDep, services: ServicesDep, body: JsonBody
) -> JSONResponse:
    with failure_message(social.CREATE_COMMENT_FAILED):
        result = await social.create_comment(
            session, principal, services.credentials, services.adapters.get, body
        )
    return JSONResponse(wire.comment(result), status_code=201)


@router.delete(
    "/linkedin-comments",
    response_model=CommentDeletedReply,
    responses=responses(NOT_FOUND, RATE_LIMITED, _failed(social.DELETE_COMMENT_FAILED, LinkedInErrorBody)),
    openapi_extra=request_body(CommentRemovalBody, required=False),
    summary="Delete one of your comments (fields in the body or the query string)",
)
async def delete_comment(
    principal: PrincipalDep,
    session: SessionDep,
    services: ServicesDep,
    body: JsonBody,
    postedId: str | None = Query(None),
    commentId: str | None = Query(None),
    platformId: str | None = Query(None),
) -> JSONResponse:
    given = {"postedId": postedId, "commentId": commentId, "platformId": platformId}
    query = {k: v for k, v in given.items() if v is not None}
    with failure_message(social.DELETE_COMMENT_FAILED):
        result = await social.delete_comment(
            session, principal, services.credentials, services.adapters.get, merged_fields(body, query)
        )
    return JSONResponse(wire.deleted_comment(result))
