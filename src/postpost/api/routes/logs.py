"""post-logs: the publishing timeline of a post group."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from postpost import wire
from postpost.api.deps import PrincipalDep, SessionDep
from postpost.api.errors import failure_message
from postpost.api.schemas import ErrorBody, PostLogsReply, responses
from postpost.services import post_logs

router = APIRouter()


@router.get(
    "/post-logs/{postGroupId}",
    response_model=PostLogsReply,
    responses=responses((404, ErrorBody, "`Post group not found`.")),
)
async def get_post_logs(postGroupId: str, principal: PrincipalDep, session: SessionDep) -> JSONResponse:
    with failure_message("Failed to get post logs"):
        logs = await post_logs.get_post_logs(session, principal, postGroupId)
    return JSONResponse(wire.post_logs(logs))
