"""Pydantic models describing the contract in /openapi.json (bodies are validated by services)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ErrorBody(BaseModel):
    error: str


class LimitExceededBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    error: str
    code: Literal[
        "POST_LIMIT_REACHED",
        "SCHEDULED_POST_LIMIT_REACHED",
        "SCHEDULE_HORIZON_REACHED",
        "PLATFORM_NOT_AVAILABLE",
        "CONNECTIONS_OVER_LIMIT",
    ]
    metric: str
    message: str
    limit: int | None = None
    used: int | None = None
    requested: int | None = None
    remaining: int | None = None
    periodStart: str | None = None
    periodEnd: str | None = None
    planName: str


class CreatePostBody(BaseModel):
    content: str = Field(description="Post text; must be non-empty after trimming.")
    platforms: list[str] = Field(description="Compound platform IDs, e.g. `mastodon-109876543210`.")
    scheduledTime: str | None = Field(None, description="ISO 8601 with zone; omit for a draft.")
    platformSettings: dict[str, dict[str, Any]] | None = None
    altTexts: list[str | None] | None = Field(
        None, description="Alt text per media item, in upload order (`null` for none)."
    )


class CreatePostReply(BaseModel):
    success: Literal[True]
    postGroupId: str


class PostError(BaseModel):
    code: str
    message: str
    platformStatusCode: int | None = None
    platformError: str | None = None
    failedAt: str
    retryable: bool


class PlatformPost(BaseModel):
    id_: str = Field(alias="_id")
    platform: str
    platformId: str
    content: str
    status: Literal["draft", "scheduled", "pending", "processing", "published", "failed"]
    postedId: str | None = None
    error: PostError | None = None


class MediaMetadata(BaseModel):
    model_config = ConfigDict(extra="allow")
    size: int | None = Field(None, description="Bytes.")
    width: int | None = None
    height: int | None = None
    aspectRatio: float | None = None
    format: str | None = Field(None, description="Pillow's image format or FFmpeg's demuxer name.")
    duration: float | None = Field(None, description="Seconds (video).")
    frameRate: float | None = None
    codecName: str | None = None
    bitRate: int | None = None


class MediaEntry(BaseModel):
    id_: str = Field(alias="_id")
    type: Literal["image", "video"]
    url: str
    mimeType: str
    status: Literal["pending", "ready", "failed"] = Field(
        description="`pending` until the upload is received and probed."
    )
    error: str | None = Field(None, description="Why a `failed` file cannot be used.")
    metadata: MediaMetadata


class GetPostReply(BaseModel):
    success: Literal[True]
    postGroupId: str
    status: str
    processingStatus: Literal["pending", "processing", "finished"]
    content: str
    scheduledTime: str | None
    altTexts: list[str | None]
    posts: list[PlatformPost]
    media: list[MediaEntry] = Field(description="The group's files in upload order.")


class UploadUrlBody(BaseModel):
    fileName: str = Field(description="Sanitised: spaces → `_`, only letters, digits, `_`, `.`, `-` kept.")
    contentType: str = Field(description="MIME type, e.g. `image/jpeg`; send the same on the PUT.")
    postGroupId: str = Field(description="The caller's post group (draft or scheduled).")
    type: Literal["image", "video"] | None = Field(None, description="Defaults from contentType.")


class UploadUrlReply(BaseModel):
    success: Literal[True]
    uploadUrl: str = Field(description="PUT the raw bytes here within 1 hour, same Content-Type.")
    fileUrl: str
    mediaId: str


class UpdatePostBody(BaseModel):
    status: Literal["draft", "scheduled"] | None = None
    scheduledTime: str | None = None
    altTexts: list[str | None] | None = None


class UpdatedGroup(BaseModel):
    id_: str = Field(alias="_id")
    status: str
    scheduledTime: str | None = None


class UpdatePostReply(BaseModel):
    success: Literal[True]
    message: str
    postGroup: UpdatedGroup


class SuccessReply(BaseModel):
    success: Literal[True]


class ListedPlatform(BaseModel):
    platformId: str
    platform: str
    status: str


class ListedGroup(BaseModel):
    postGroupId: str
    content: str
    status: str
    scheduledTime: str | None
    createdAt: str
    updatedAt: str
    platforms: list[ListedPlatform]
    mediaUrls: list[str]


class Pagination(BaseModel):
    page: int
    limit: int
    totalItems: int
    totalPages: int
    hasNextPage: bool
    hasPrevPage: bool


class ListPostsReply(BaseModel):
    success: Literal[True]
    posts: list[ListedGroup]
    pagination: Pagination


class LastError(BaseModel):
    message: str
    occurredAt: str


class ConnectionEntry(BaseModel):
    platformId: str
    username: str | None
    displayName: str | None
    profileImageUrl: str | None
    profileUrl: str | None
    accessTokenExpiresAt: str | None
    tokenStatus: Literal["valid", "expiring_soon", "expired", "unknown"]
    tokenExpiresIn: str | None
    lastSuccessfulPost: str | None
    lastError: LastError | None


class ConnectionsReply(BaseModel):
    success: Literal[True]
    connections: list[ConnectionEntry]


AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Invalid input (e.g. `Invalid x-postpost-user-id`)."},
    401: {
        "model": ErrorBody,
        "description": "`API key is required`, `Invalid API key`, `Invalid API key owner`.",
    },
    403: {"model": ErrorBody, "description": "Access not enabled for the plan, or workspace errors."},
    500: {"model": ErrorBody, "description": "Unexpected failure."},
    # Also keeps FastAPI from documenting a 422 `{detail}` body the API never sends.
    "4XX": {"model": ErrorBody, "description": "Any other client error (e.g. 413 `Request body too large`)."},
}


def responses(*extra: tuple[int, type[BaseModel], str]) -> dict[int | str, dict[str, Any]]:
    """The AUTH error block plus route-specific responses."""
    merged = dict(AUTH_ERRORS)
    for status, model, description in extra:
        merged[status] = {"model": model, "description": description}
    return merged


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """openapi_extra documenting a JSON request body that the service validates itself."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }


class PostLogEntry(BaseModel):
    model_config = ConfigDict(extra="allow")
    id_: str = Field(alias="_id")
    postGroupId: str
    postId: str | None = None
    platform: str | None = None
    event: Literal[
        "scheduled",
        "processing",
        "publish_attempted",
        "publish_succeeded",
        "publish_failed",
        "status_changed",
    ]
    error: str | None = None
    httpStatus: int | None = None
    retryCount: int | None = None
    metadata: dict[str, Any] | None = None
    createdAt: str
    updatedAt: str


class PostLogsReply(BaseModel):
    success: Literal[True]
    logs: list[PostLogEntry]


class TestConnectionReply(BaseModel):
    platform: str
    platformId: str
    username: str | None
    status: Literal["ok", "error"]
    message: str
    permissions: list[str]
    tokenExpiresIn: str | None
    lastSuccessfulPost: str | None
    lastError: LastError | None


class ManagedUser(BaseModel):
    id_: str = Field(alias="_id")
    username: str
    displayName: str
    role: Literal["managed"]
    dailyPostsLeft: int
    connectionsPageUrl: str | None
    connectionsPageTokenExpiresAt: str | None


class ManagedUsersReply(BaseModel):
    users: list[ManagedUser]


class ManagedUserReply(BaseModel):
    user: ManagedUser


class CreateManagedUserBody(BaseModel):
    username: str = Field(description="The managed user's e-mail address (unique).")
    displayName: str | None = Field(None, description="Defaults to the e-mail address.")


class UserKeyReply(BaseModel):
    message: str
    apiKey: str
    userId: str


class ConnectionUrlBody(BaseModel):
    rotate: bool = Field(False, description="Replace the current link even while it is valid.")
    expiresInDays: float = Field(90, description="How long the link stays valid (fractions allowed).")


class ConnectionUrlReply(BaseModel):
    url: str
    tokenExpiresAt: str
