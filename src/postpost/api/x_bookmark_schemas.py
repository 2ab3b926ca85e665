"""Pydantic models describing the X bookmarks routes in /openapi.json (services validate bodies)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class BookmarkErrorBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    error: str
    code: str = Field(description="Machine code, e.g. `NOT_CONNECTED`, `CONFLICTING_PARAMS`.")


class PublicMetrics(BaseModel):
    likeCount: int
    retweetCount: int
    replyCount: int
    quoteCount: int


class BookmarkMedia(BaseModel):
    mediaKey: str
    type: Literal["photo", "video", "animated_gif"]
    url: str | None
    previewImageUrl: str | None = None
    s3Url: str | None = Field(description="The copy in postpost's media storage, once downloaded.")
    downloadStatus: Literal["pending", "downloading", "completed", "failed", "skipped"] | None = None


class ReferencedContent(BaseModel):
    text: str
    authorUsername: str | None


class ReferencedTweet(BaseModel):
    type: str = Field(description="`quoted`, `replied_to` or `retweeted`.")
    id: str
    content: ReferencedContent | None


class Bookmark(BaseModel):
    id_: str | None = Field(None, alias="_id")
    tweetId: str
    text: str
    authorUsername: str | None
    authorName: str | None
    tweetCreatedAt: str
    publicMetrics: PublicMetrics
    media: list[BookmarkMedia]
    referencedTweets: list[ReferencedTweet]
    syncedAt: str | None = None
    createdAt: str | None = None
    updatedAt: str | None = None


class BookmarkPagination(BaseModel):
    page: int
    limit: int
    totalItems: int
    totalPages: int
    hasNextPage: bool
    hasPrevPage: bool


class BookmarkListReply(BaseModel):
    success: Literal[True]
    bookmarks: list[Bookmark]
    pagination: BookmarkPagination


class BookmarkReply(BaseModel):
    success: Literal[True]
    bookmark: Bookmark


class ExportReply(BaseModel):
    success: Literal[True]
    count: int
    bookmarks: list[Bookmark]


class SyncBody(BaseModel):
    maxTweets: int | None = Field(None, ge=1, le=100, description="Bookmarks to fetch (default 100).")


class Quota(BaseModel):
    used: int
    limit: int | None
    remaining: int | None
    isUnlimited: bool


class Synced(BaseModel):
    inserted: int
    updated: int
    total: int


class SyncReply(BaseModel):
    success: Literal[True]
    synced: Synced
    hasMore: bool
    balance: Quota


class MonthQuota(Quota):
    periodStart: str
    periodEnd: str
    monthKey: str = Field(description="`YYYY-MM` (UTC).")


class XConnection(BaseModel):
    username: str | None
    displayName: str | None
    profileImageUrl: str | None
    lastSyncAt: str | None
    lastSyncStatus: Literal["success", "failed"] | None


class BalanceReply(BaseModel):
    success: Literal[True]
    balance: MonthQuota
    connection: XConnection | None


class Settings(BaseModel):
    downloadImages: bool = True
    downloadVideos: bool = True
    fetchReferencedTweets: bool = True


class SettingsReply(BaseModel):
    success: Literal[True]
    settings: Settings


class MediaStats(BaseModel):
    pending: int
    downloading: int
    completed: int
    failed: int
    skipped: int
    total: int


class MediaStatsReply(BaseModel):
    success: Literal[True]
    mediaStats: MediaStats


class SyncLog(BaseModel):
    syncedAt: str
    status: Literal["success", "failed"]
    inserted: int
    updated: int
    total: int
    hasMore: bool
    durationMs: int
    trigger: Literal["manual", "api", "scheduled"]
    error: str | None = None


class HistoryPagination(BaseModel):
    page: int
    limit: int
    totalItems: int
    totalPages: int


class SyncHistoryReply(BaseModel):
    success: Literal[True]
    logs: list[SyncLog]
    pagination: HistoryPagination
