"""get-upload-url, and the local storage's upload and file URLs under /media."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.requests import ClientDisconnect

from postpost.api.deps import JsonBody, PrincipalDep, ServicesDep, SessionDep
from postpost.api.errors import failure_message
from postpost.api.schemas import ErrorBody, UploadUrlBody, UploadUrlReply, json_body, responses
from postpost.services import media
from postpost.storage.local import URL_PATH, LocalStorage

router = APIRouter()
files_router = APIRouter(include_in_schema=False)
FILE_PATH = URL_PATH + "/{key:path}"


@router.post(
    "/get-upload-url",
    response_model=UploadUrlReply,
    responses=responses(
        (404, ErrorBody, "`Post group not found` (also for malformed or foreign ids)."),
    ),
    openapi_extra=json_body(UploadUrlBody),
    summary="Attach a media file to a post group and get a signed upload URL",
)
async def get_upload_url(
    principal: PrincipalDep, session: SessionDep, services: ServicesDep, body: JsonBody
) -> JSONResponse:
    with failure_message("Failed to create upload URL"):
        reply = await media.create_upload(
            session, services.storage, principal, body, ceiling=services.settings.media_max_bytes
        )
    return JSONResponse(reply)


@files_router.put(FILE_PATH)
async def upload_file(key: str, request: Request, services: ServicesDep) -> Response:
    """The target of a local upload URL: raw bytes with the Content-Type the URL was issued for."""
    length = request.headers.get("content-length", "")
    try:
        with failure_message("Failed to store the upload"):
            stored = await media.receive_upload(
                services.database,
                _local(services),
                key,
                params=dict(request.query_params),
                content_type=request.headers.get("content-type"),
                content_length=int(length) if length.isdigit() else None,
                chunks=request.stream(),
            )
    except ClientDisconnect:
        return Response(status_code=400)
    return JSONResponse({"success": True, "mediaId": stored.id, "size": stored.size})


@files_router.api_route(FILE_PATH, methods=["GET", "HEAD"])
async def download_file(key: str, request: Request, services: ServicesDep) -> FileResponse:
    """A stored file (Range requests supported); signed URLs are checked."""
    path, content_type = media.file_for_download(_local(services), key, dict(request.query_params))
    return FileResponse(path, media_type=content_type)


def _local(services: ServicesDep) -> LocalStorage:
    storage = services.storage
    assert isinstance(storage, LocalStorage), "the /media routes exist only for local storage"
    return storage
