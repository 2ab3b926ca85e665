"""The schema: every table the service holds. Tenancy is `user_id` on every owned row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from postpost.db.types import UTCDateTime
from postpost.ids import new_id, utcnow

ID = String(24)


class Base(DeclarativeBase):
    """Declarative base for all postpost tables."""


class Plan(Base):
    """A plan and its entitlements (data, not code: see services/plans.py for the keys)."""

    __tablename__ = "plans"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    entitlements: Mapped[dict[str, Any]] = mapped_column(JSON)


class User(Base):
    """An account. Managed (workspace) users point at their owner through `parent_user_id`."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default="user")
    parent_user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    plan_key: Mapped[str] = mapped_column(ForeignKey("plans.key"), default="starter")
    entitlements: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    workspaces_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    daily_posts_left: Mapped[int] = mapped_column(Integer, default=100)
    # the connect page link: the token is derived from this nonce with the secret key, never stored
    connect_nonce: Mapped[str | None] = mapped_column(String(64))
    connect_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the X bookmarks beta, switched on per user by an operator (`postpost users set --x-bookmarks on`)
    x_bookmarks_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # the dashboard password (argon2id, PHC string); None: the user cannot sign in to the dashboard
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # dashboard sessions carry this number; signing out or a new password bumps it, ending them all
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ApiKey(Base):
    """An API key: only its clear prefix and a keyed hash are stored."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="Default")
    key_prefix: Mapped[str] = mapped_column(String(64), index=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the per-user key a workspace owner issued (one active at a time)
    workspace_issued: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Connection(Base):
    """A connected social account. `secrets` holds encrypted tokens/passwords."""

    __tablename__ = "connections"
    __table_args__ = (UniqueConstraint("user_id", "platform", "account_id"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[str] = mapped_column(String(200))
    username: Mapped[str | None] = mapped_column(String(200))
    display_name: Mapped[str | None] = mapped_column(String(200))
    profile_image_url: Mapped[str | None] = mapped_column(Text)
    profile_url: Mapped[str | None] = mapped_column(Text)
    base_url: Mapped[str | None] = mapped_column(Text)
    is_sandbox: Mapped[bool] = mapped_column(Boolean, default=False)
    secrets: Mapped[str | None] = mapped_column(Text)
    access_token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    scopes: Mapped[list[str] | None] = mapped_column(JSON)
    last_successful_post_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # bumped on every change of `secrets`; a refresh holds `refresh_lease_until` while it runs
    secrets_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    refresh_lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # a platform asked us to wait (429 with a reset time): no post of this account is claimed before
    hold_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the expiry a token.expiring event was recorded for (once per expiry)
    expiry_notice_for: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def compound_id(self) -> str:
        return f"{self.platform}-{self.account_id}"


class OAuthState(Base):
    """A connect flow between two requests: an authorization awaiting its callback, or tokens
    awaiting the person's choice of pages. Keyed by a hash of the random value the browser
    carries; used once (deleted when read); `payload` is encrypted."""

    __tablename__ = "oauth_states"
    __table_args__ = (Index("ix_oauth_states_expires", "expires_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    payload: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InstanceApp(Base):
    """This server's app on one instance of a federated platform (Mastodon), registered on first use."""

    __tablename__ = "instance_apps"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    instance: Mapped[str] = mapped_column(String(255), primary_key=True)
    redirect_uri: Mapped[str] = mapped_column(Text)
    client_id: Mapped[str] = mapped_column(Text)
    secrets: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class JobLease(Base):
    """Which process runs a once-per-installation background job, and until when."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime)


class PostGroup(Base):
    """What a client created: one content for one or more connected accounts."""

    __tablename__ = "post_groups"
    __table_args__ = (
        Index("ix_post_groups_user_created", "user_id", "created_at", "id"),
        Index("ix_post_groups_user_updated", "user_id", "updated_at", "id"),
        Index("ix_post_groups_user_scheduled", "user_id", "scheduled_time", "id"),
        Index("ix_post_groups_user_status", "user_id", "status", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    content: Mapped[str] = mapped_column(Text)
    platforms: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(24))
    processing_status: Mapped[str] = mapped_column(String(16), default="pending")
    scheduled_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    platform_settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    alt_texts: Mapped[list[str | None] | None] = mapped_column(JSON)  # positional to the media, upload order
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PostGroupCount(Base):
    """How many post groups a user has in each status, kept exact by database triggers.

    list-posts reads `totalItems` from here instead of counting the user's groups each time.
    """

    __tablename__ = "post_group_counts"

    user_id: Mapped[str] = mapped_column(ID, primary_key=True)
    status: Mapped[str] = mapped_column(String(24), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


class Post(Base):
    """One platform post (or one part of a thread): the unit the engine claims and publishes.

    The posts table is the queue: `status` + `due_at` say when a worker may claim the row,
    `lease_token`/`lease_expires_at` who holds it. Thread parts share `head_post_id`.
    `step_state` is what a multi-step publish left for its next step; `unsure` says an earlier
    attempt may have reached the platform without us learning its outcome.
    """

    __tablename__ = "posts"
    __table_args__ = (
        Index("ix_posts_due", "status", "due_at"),
        Index("ix_posts_lease", "lease_expires_at"),
        Index("ix_posts_group", "group_id", "thread_index"),
        Index("ix_posts_connection", "connection_id"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    group_id: Mapped[str] = mapped_column(ForeignKey("post_groups.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    connection_id: Mapped[str | None] = mapped_column(ForeignKey("connections.id", ondelete="SET NULL"))
    platform: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    thread_index: Mapped[int] = mapped_column(Integer, default=0)
    head_post_id: Mapped[str | None] = mapped_column(ID)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_token: Mapped[str | None] = mapped_column(String(32))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    retry_count: Mapped[int] = mapped_column(Integer, default=0)
    idempotency_key: Mapped[str] = mapped_column(String(64), default=lambda: new_id() + new_id()[16:])
    posted_id: Mapped[str | None] = mapped_column(Text)
    posted_url: Mapped[str | None] = mapped_column(Text)
    remote_ref: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    step_state: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    unsure: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    first_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Media(Base):
    """A file attached to a post group (uploaded through a signed URL).

    `status`: `pending` until the upload is seen and probed, then `ready` or `failed` (with
    `error`). `size`/`width`/`height` and `details` (format, duration, frame rate, codec, bit
    rate, aspect ratio) come from probing; `max_bytes` is the cap the upload URL was issued with.
    """

    __tablename__ = "media"
    __table_args__ = (
        Index("ix_media_storage_key", "storage_key", unique=True),
        Index("ix_media_status_created", "status", "created_at"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    group_id: Mapped[str] = mapped_column(ForeignKey("post_groups.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(8))
    mime_type: Mapped[str] = mapped_column(String(100))
    file_name: Mapped[str] = mapped_column(String(255))
    storage_key: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    error: Mapped[str | None] = mapped_column(Text)
    max_bytes: Mapped[int | None] = mapped_column(BigInteger)
    size: Mapped[int | None] = mapped_column(BigInteger)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    uploaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RateBucket(Base):
    """A publishing budget (token bucket) shared by every worker: per account or per platform app."""

    __tablename__ = "rate_buckets"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PostLog(Base):
    """One event in a post group's publishing timeline (the post-logs endpoint)."""

    __tablename__ = "post_logs"
    __table_args__ = (Index("ix_post_logs_group", "group_id", "created_at"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    group_id: Mapped[str] = mapped_column(ForeignKey("post_groups.id", ondelete="CASCADE"))
    post_id: Mapped[str | None] = mapped_column(ID)
    platform: Mapped[str | None] = mapped_column(String(16))
    event: Mapped[str] = mapped_column(String(24))
    error: Mapped[str | None] = mapped_column(Text)
    http_status: Mapped[int | None] = mapped_column(Integer)
    retry_count: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Webhook(Base):
    """A user's webhook subscription. Secrets are stored encrypted (`{"secret": …}`).

    After a rotation with a grace period, `previous_secret` also signs deliveries until
    `previous_secret_expires_at`.
    """

    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[list[str]] = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(Text)
    previous_secret: Mapped[str | None] = mapped_column(Text)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    failure_count: Mapped[int] = mapped_column(Integer, default=0)
    last_triggered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Event(Base):
    """Something that happened to a tenant (post.published, …), written in the causing transaction.

    `payload` is the exact JSON body delivered to webhooks; `seq` orders a user's events in
    commit order (allocated from `event_sequences` under that row's lock).
    """

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_user_seq", "user_id", "seq", unique=True),)

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EventSequence(Base):
    """The last event sequence number handed out per user."""

    __tablename__ = "event_sequences"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class WebhookDelivery(Base):
    """Transactional outbox row: one event to deliver to one webhook, claimed with a lease like a post."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "due_at"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    webhook_id: Mapped[str] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_token: Mapped[str | None] = mapped_column(String(32))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class InstanceMeta(Base):
    """Facts about this installation, one row per key (e.g. the secret key's fingerprint)."""

    __tablename__ = "instance_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class WebhookAttempt(Base):
    """One HTTP attempt to deliver an event (or a test ping) to a webhook."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_webhook", "webhook_id", "created_at"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    webhook_id: Mapped[str] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(ID)
    event: Mapped[str] = mapped_column(String(32))
    attempt: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LinkedInMetric(Base):
    """A LinkedIn analytics answer kept until `expires_at`, shared by every process.

    `key` names what was asked (e.g. ``post:urn:li:share:1:IMPRESSION``); the reserved key
    ``hold`` records that LinkedIn rate-limited the connection until `expires_at`.
    """

    __tablename__ = "linkedin_metrics"
    __table_args__ = (Index("ix_linkedin_metrics_expires", "expires_at"),)

    connection_id: Mapped[str] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ScheduledJob(Base):
    """A periodic job shared by every worker process: whoever takes the lease runs it when due."""

    __tablename__ = "scheduled_jobs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_run_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_token: Mapped[str | None] = mapped_column(String(32))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


# The integer key `seq` links a bookmark to its full-text entry (SQLite FTS5 rowid); it is the
# rowid itself on SQLite, so it never changes. The search structures themselves (a generated
# tsvector column with a GIN index on PostgreSQL, an FTS5 table with triggers on SQLite) are made
# by the migration and described in `postpost.db.search`, not here.
SEQ = BigInteger().with_variant(Integer(), "sqlite")


class XBookmark(Base):
    """A tweet one user bookmarked on X, as last synced."""

    __tablename__ = "x_bookmarks"
    __table_args__ = (
        UniqueConstraint("user_id", "tweet_id"),
        Index("ix_x_bookmarks_user_tweet_date", "user_id", "tweet_created_at", "seq"),
        Index("ix_x_bookmarks_user_synced", "user_id", "synced_at", "seq"),
        Index("ix_x_bookmarks_user_likes", "user_id", "like_count", "seq"),
        Index("ix_x_bookmarks_user_retweets", "user_id", "retweet_count", "seq"),
    )

    seq: Mapped[int] = mapped_column(SEQ, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(ID, unique=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    tweet_id: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[str | None] = mapped_column(String(32))
    author_username: Mapped[str | None] = mapped_column(String(100))
    author_name: Mapped[str | None] = mapped_column(String(200))
    tweet_created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    like_count: Mapped[int] = mapped_column(Integer, default=0)
    retweet_count: Mapped[int] = mapped_column(Integer, default=0)
    reply_count: Mapped[int] = mapped_column(Integer, default=0)
    quote_count: Mapped[int] = mapped_column(Integer, default=0)
    media_kinds: Mapped[int] = mapped_column(Integer, default=0)  # bits: 1 photo, 2 video, 4 animated_gif
    media: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    referenced_tweets: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class XBookmarkMedia(Base):
    """One photo or video of a bookmark and its copy in the media storage.

    `status`: `pending` (to download, from `due_at`), `downloading` (held until `lease_until`),
    `completed` (stored under `storage_key`), `failed` (with `error`), `skipped` (the user's
    settings said not to download this type).
    """

    __tablename__ = "x_bookmark_media"
    __table_args__ = (
        UniqueConstraint("bookmark_seq", "media_key"),
        Index("ix_x_bookmark_media_due", "status", "due_at"),
        Index("ix_x_bookmark_media_user_status", "user_id", "status"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    bookmark_seq: Mapped[int] = mapped_column(SEQ, ForeignKey("x_bookmarks.seq", ondelete="CASCADE"))
    media_key: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(16))
    source_url: Mapped[str | None] = mapped_column(Text)
    sandbox: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16))
    storage_key: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_token: Mapped[str | None] = mapped_column(String(32))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class XBookmarkState(Base):
    """One user's bookmark sync: resume cursor, sync lease, rate windows and download settings."""

    __tablename__ = "x_bookmark_states"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    account_id: Mapped[str | None] = mapped_column(String(200))  # the X account the cursor belongs to
    pagination_token: Mapped[str | None] = mapped_column(Text)
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sync_status: Mapped[str | None] = mapped_column(String(16))
    last_requested_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sync_lease_token: Mapped[str | None] = mapped_column(String(32))
    sync_lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    export_times: Mapped[list[str]] = mapped_column(JSON, default=list)
    download_images: Mapped[bool] = mapped_column(Boolean, default=True)
    download_videos: Mapped[bool] = mapped_column(Boolean, default=True)
    fetch_referenced_tweets: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class XBookmarkSyncLog(Base):
    """One sync run of one user (the sync-history endpoint)."""

    __tablename__ = "x_bookmark_sync_logs"
    __table_args__ = (Index("ix_x_bookmark_sync_logs_user", "user_id", "synced_at"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    has_more: Mapped[bool] = mapped_column(Boolean, default=False)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    trigger: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)


class XBookmarkUsage(Base):
    """How many new bookmarks a user stored in one calendar month (UTC), for the monthly quota."""

    __tablename__ = "x_bookmark_usage"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    month_key: Mapped[str] = mapped_column(String(7), primary_key=True)
    used: Mapped[int] = mapped_column(Integer, default=0)


class SignInFailure(Base):
    """Failed dashboard sign-ins of one email from one address in the current window (rate limit).

    `key` is a hash of the normalised email and the client address: neither is stored in clear.
    """

    __tablename__ = "sign_in_failures"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
