"""The X bookmarks part of the PostPost v1 wire format (beside `wire.py`, same rules).

A listed bookmark carries the documented fields plus our tracking fields (`_id`, `syncedAt`,
`createdAt`, `updatedAt`, each media item's `downloadStatus`); an exported one only the
documented fields.
"""

from __future__ import annotations

from typing import Any

from postpost.ids import iso
from postpost.services.x_bookmarks.listing import BookmarkList, BookmarkView
from postpost.services.x_bookmarks.quota import Balance
from postpost.services.x_bookmarks.sync import SyncResult
from postpost.services.x_bookmarks.user import BalanceReport, SyncHistory


def bookmark(view: BookmarkView, *, tracking: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {"_id": view.id} if tracking else {}
    body |= {
        "tweetId": view.tweet_id,
        "text": view.text,
        "authorUsername": view.author_username,
        "authorName": view.author_name,
        "tweetCreatedAt": iso(view.tweet_created_at),
        "publicMetrics": {
            "likeCount": view.like_count,
            "retweetCount": view.retweet_count,
            "replyCount": view.reply_count,
            "quoteCount": view.quote_count,
        },
        "media": [
            {
                "mediaKey": m.media_key,
                "type": m.type,
                "url": m.url,
                "previewImageUrl": m.preview_url,
                "s3Url": m.stored_url,
                **({"downloadStatus": m.status} if tracking else {}),
            }
            for m in view.media
        ],
        "referencedTweets": [dict(r) for r in view.referenced],
    }
    if tracking:
        body |= {
            "syncedAt": iso(view.synced_at),
            "createdAt": iso(view.created_at),
            "updatedAt": iso(view.updated_at),
        }
    return body


def bookmark_list(found: BookmarkList) -> dict[str, Any]:
    return {
        "success": True,
        "bookmarks": [bookmark(v) for v in found.bookmarks],
        "pagination": {
            "page": found.page,
            "limit": found.limit,
            "totalItems": found.total,
            "totalPages": found.total_pages,
            "hasNextPage": found.page < found.total_pages,
            "hasPrevPage": found.page > 1,
        },
    }


def bookmark_one(view: BookmarkView) -> dict[str, Any]:
    return {"success": True, "bookmark": bookmark(view)}


def export(views: list[BookmarkView]) -> dict[str, Any]:
    return {"success": True, "count": len(views), "bookmarks": [bookmark(v, tracking=False) for v in views]}


def quota(balance: Balance) -> dict[str, Any]:
    return {
        "used": balance.used,
        "limit": balance.limit,
        "remaining": balance.remaining,
        "isUnlimited": balance.is_unlimited,
    }


def sync_result(result: SyncResult) -> dict[str, Any]:
    return {
        "success": True,
        "synced": {"inserted": result.inserted, "updated": result.updated, "total": result.total},
        "hasMore": result.has_more,
        "balance": quota(result.balance),
    }


def balance(report: BalanceReport) -> dict[str, Any]:
    found = report.balance
    body = quota(found) | {
        "periodStart": iso(found.period_start),
        "periodEnd": iso(found.period_end),
        "monthKey": found.month_key,
    }
    connection = report.connection
    return {
        "success": True,
        "balance": body,
        "connection": None
        if connection is None
        else {
            "username": connection.username,
            "displayName": connection.display_name,
            "profileImageUrl": connection.profile_image_url,
            "lastSyncAt": iso(connection.last_sync_at),
            "lastSyncStatus": connection.last_sync_status,
        },
    }


def settings(values: dict[str, bool]) -> dict[str, Any]:
    return {"success": True, "settings": values}


def media_stats(stats: dict[str, int]) -> dict[str, Any]:
    return {"success": True, "mediaStats": stats}


def sync_history(history: SyncHistory) -> dict[str, Any]:
    return {
        "success": True,
        "logs": [
            {
                "syncedAt": iso(log.synced_at),
                "status": log.status,
                "inserted": log.inserted,
                "updated": log.updated,
                "total": log.total,
                "hasMore": log.has_more,
                "durationMs": log.duration_ms,
                "trigger": log.trigger,
                **({"error": log.error} if log.error else {}),
            }
            for log in history.logs
        ],
        "pagination": {
            "page": history.page,
            "limit": history.limit,
            "totalItems": history.total,
            "totalPages": history.total_pages,
        },
    }
