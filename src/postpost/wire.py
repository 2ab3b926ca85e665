"""The PostPost v1 wire format: the documented JSON bodies, built from the services' domain values.

Shared by everything that answers in that format: the REST API, the MCP server (whose tool
results are the REST bodies) and the CLI's `--json` output. Field names, the `success` flag,
`_id`, compound vs raw platform ids and JavaScript-style timestamps are decided here only.
"""

from __future__ import annotations

from typing import Any

from postpost.ids import iso
from postpost.media.types import StoredMedia
from postpost.services.connection_checks import ConnectionTest
from postpost.services.connections import ConnectionInfo
from postpost.services.listing import GroupPage
from postpost.services.post_logs import LogEntry
from postpost.services.posts import GroupDetail, PlatformPost, UpdatedGroup
from postpost.services.workspace import ManagedUser


def created_post(group_id: str) -> dict[str, Any]:
    return {"success": True, "postGroupId": group_id}


def platform_post(post: PlatformPost) -> dict[str, Any]:
    """A get-post entry: raw platformId; `postedId`/`error` absent until set."""
    body: dict[str, Any] = {
        "_id": post.id,
        "platform": post.platform,
        "platformId": post.account_id,
        "content": post.content,
        "status": post.status,
    }
    if post.posted_id is not None:
        body["postedId"] = post.posted_id
    if post.error:
        body["error"] = dict(post.error)
    return body


def post_group(detail: GroupDetail) -> dict[str, Any]:
    """get-post: the contract's fields plus group-level `status`, `processingStatus`, `content`,
    `scheduledTime`, `altTexts` and `media` (additive)."""
    return {
        "success": True,
        "postGroupId": detail.id,
        "status": detail.status,
        "processingStatus": detail.processing_status,
        "content": detail.content,
        "scheduledTime": iso(detail.scheduled_time),
        "altTexts": detail.alt_texts,
        "posts": [platform_post(p) for p in detail.posts],
        "media": [
            media(m, detail.alt_texts[i] if i < len(detail.alt_texts) else None)
            for i, m in enumerate(detail.media)
        ],
    }


def media(item: StoredMedia, alt_text: str | None = None) -> dict[str, Any]:
    """A get-post media entry (additive): upload order, probed metadata, alt text by position."""
    metadata: dict[str, Any] = {"size": item.size, "width": item.width, "height": item.height}
    metadata = {name: value for name, value in metadata.items() if value is not None}
    metadata.update({k: v for k, v in item.details.items() if k != "frames"})
    body: dict[str, Any] = {
        "_id": item.id,
        "type": item.type,
        "url": item.url,
        "mimeType": item.mime_type,
        "status": item.status,
        "altText": alt_text,
        "metadata": metadata,
    }
    if item.error:
        body["error"] = item.error
    return body


def updated_post(group: UpdatedGroup) -> dict[str, Any]:
    summary: dict[str, Any] = {"_id": group.id, "status": group.status}
    if group.scheduled_time is not None:
        summary["scheduledTime"] = iso(group.scheduled_time)
    return {"success": True, "message": "Post updated successfully", "postGroup": summary}


def post_page(page: GroupPage) -> dict[str, Any]:
    """list-posts: compound platformIds, no processingStatus, `pagination` with the clamped values."""
    return {
        "success": True,
        "posts": [
            {
                "postGroupId": g.id,
                "content": g.content,
                "status": g.status,
                "scheduledTime": iso(g.scheduled_time),
                "createdAt": iso(g.created_at),
                "updatedAt": iso(g.updated_at),
                "platforms": [
                    {"platformId": p.platform_id, "platform": p.platform, "status": p.status}
                    for p in g.platforms
                ],
                "mediaUrls": g.media_urls,
            }
            for g in page.groups
        ],
        "pagination": {
            "page": page.page,
            "limit": page.limit,
            "totalItems": page.total,
            "totalPages": page.total_pages,
            "hasNextPage": page.page < page.total_pages,
            "hasPrevPage": page.page > 1,
        },
    }


def connection(info: ConnectionInfo) -> dict[str, Any]:
    """A platform-connections entry: never any secret."""
    return {
        "platformId": info.platform_id,
        "username": info.username,
        "displayName": info.display_name,
        "profileImageUrl": info.profile_image_url,
        "profileUrl": info.profile_url,
        "accessTokenExpiresAt": iso(info.access_token_expires_at),
        "tokenStatus": info.token_status,
        "tokenExpiresIn": info.token_expires_in,
        "lastSuccessfulPost": iso(info.last_successful_post),
        "lastError": info.last_error,
    }


def connections(infos: list[ConnectionInfo]) -> dict[str, Any]:
    return {"success": True, "connections": [connection(i) for i in infos]}


def connection_test(result: ConnectionTest) -> dict[str, Any]:
    """test-connection: no `success` flag; the outcome is `status`."""
    return {
        "platform": result.platform,
        "platformId": result.platform_id,
        "username": result.username,
        "status": "ok" if result.ok else "error",
        "message": result.message,
        "permissions": result.permissions,
        "tokenExpiresIn": result.token_expires_in,
        "lastSuccessfulPost": iso(result.last_successful_post),
        "lastError": result.last_error,
    }


def post_log(entry: LogEntry) -> dict[str, Any]:
    """A post-logs entry: optional fields absent (not null) when unset; Mongoose's `__v` kept."""
    body: dict[str, Any] = {"_id": entry.id, "postGroupId": entry.group_id}
    optional = {
        "postId": entry.post_id,
        "platform": entry.platform,
        "event": entry.event,
        "error": entry.error,
        "httpStatus": entry.http_status,
        "retryCount": entry.retry_count,
        "metadata": entry.metadata,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    body.update(createdAt=iso(entry.created_at), updatedAt=iso(entry.updated_at), __v=0)
    return body


def post_logs(entries: list[LogEntry]) -> dict[str, Any]:
    return {"success": True, "logs": [post_log(e) for e in entries]}


def managed_user(user: ManagedUser) -> dict[str, Any]:
    """A workspace user: `_id`, `username` (the e-mail), `role` "managed", the connect-page link."""
    return {
        "_id": user.id,
        "username": user.username,
        "displayName": user.display_name,
        "role": user.role,
        "dailyPostsLeft": user.daily_posts_left,
        "connectionsPageUrl": user.connections_page_url,
        "connectionsPageTokenExpiresAt": iso(user.connections_page_expires_at),
    }
