"""X bookmarks (beta): bookmarks with full-text search, their media, sync state and history,
monthly usage, the per-user flag, Premium's entitlement, and shared scheduled jobs.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
PREMIUM_GRANTS = {"xBookmarks": True, "xBookmarksMonthly": 2000}

# Full-text search (see postpost.db.search): a generated tsvector with a GIN index on PostgreSQL;
# a contentless FTS5 table keyed by `seq`, kept in step by triggers, on SQLite.
FTS_TABLE = "x_bookmarks_fts"
PG_VECTOR = (
    "setweight(to_tsvector('english', coalesce(text, '')), 'A') || "
    "setweight(to_tsvector('english', "
    "coalesce(author_username, '') || ' ' || coalesce(author_name, '')), 'B') || "
    "('u' || user_id || '0')::tsvector"
)
PG_COLUMN = "search_vector"
PG_INDEX = "ix_x_bookmarks_search"

POSTGRESQL_DDL = [
    f"ALTER TABLE x_bookmarks ADD COLUMN {PG_COLUMN} tsvector GENERATED ALWAYS AS ({PG_VECTOR}) STORED",
    f"CREATE INDEX {PG_INDEX} ON x_bookmarks USING gin ({PG_COLUMN})",
]
POSTGRESQL_DROP = [f"DROP INDEX {PG_INDEX}", f"ALTER TABLE x_bookmarks DROP COLUMN {PG_COLUMN}"]


def _fts_values(row: str) -> str:
    return (
        f"{row}.seq, 'u' || {row}.user_id || '0', coalesce({row}.text, ''), "
        f"coalesce({row}.author_username, '') || ' ' || coalesce({row}.author_name, '')"
    )


_FTS_INSERT = f"INSERT INTO {FTS_TABLE} (rowid, owner, body, author) VALUES ({_fts_values('NEW')})"
_FTS_DELETE = (
    f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rowid, owner, body, author) "
    f"VALUES ('delete', {_fts_values('OLD')})"
)
SQLITE_DDL = [
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(owner, body, author, content='', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    f"CREATE TRIGGER x_bookmarks_fts_insert AFTER INSERT ON x_bookmarks BEGIN {_FTS_INSERT}; END",
    f"CREATE TRIGGER x_bookmarks_fts_delete AFTER DELETE ON x_bookmarks BEGIN {_FTS_DELETE}; END",
    "CREATE TRIGGER x_bookmarks_fts_update AFTER UPDATE OF text, author_username, author_name, user_id "
    "ON x_bookmarks WHEN OLD.text IS NOT NEW.text OR OLD.author_username IS NOT NEW.author_username "
    "OR OLD.author_name IS NOT NEW.author_name OR OLD.user_id IS NOT NEW.user_id "
    f"BEGIN {_FTS_DELETE}; {_FTS_INSERT}; END",
]
SQLITE_DROP = [
    "DROP TRIGGER x_bookmarks_fts_update",
    "DROP TRIGGER x_bookmarks_fts_delete",
    "DROP TRIGGER x_bookmarks_fts_insert",
    f"DROP TABLE {FTS_TABLE}",
]


def upgrade() -> None:
    op.add_column(
        "users", sa.Column("x_bookmarks_enabled", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.create_table(
        "scheduled_jobs",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("next_run_at", sa.DateTime(), nullable=False),
        sa.Column("lease_token", sa.String(32), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("last_started_at", sa.DateTime(), nullable=True),
        sa.Column("last_finished_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.create_table(
        "x_bookmarks",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(24), nullable=False, unique=True),
        sa.Column("user_id", sa.String(24), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("tweet_id", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author_id", sa.String(32), nullable=True),
        sa.Column("author_username", sa.String(100), nullable=True),
        sa.Column("author_name", sa.String(200), nullable=True),
        sa.Column("tweet_created_at", sa.DateTime(), nullable=False),
        sa.Column("like_count", sa.Integer(), nullable=False),
        sa.Column("retweet_count", sa.Integer(), nullable=False),
        sa.Column("reply_count", sa.Integer(), nullable=False),
        sa.Column("quote_count", sa.Integer(), nullable=False),
        sa.Column("media_kinds", sa.Integer(), nullable=False),
        sa.Column("media", sa.JSON(), nullable=False),
        sa.Column("referenced_tweets", sa.JSON(), nullable=False),
        sa.Column("synced_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("user_id", "tweet_id"),
    )
    for name, columns in {
        "ix_x_bookmarks_user_tweet_date": ["user_id", "tweet_created_at", "seq"],
        "ix_x_bookmarks_user_synced": ["user_id", "synced_at", "seq"],
        "ix_x_bookmarks_user_likes": ["user_id", "like_count", "seq"],
        "ix_x_bookmarks_user_retweets": ["user_id", "retweet_count", "seq"],
    }.items():
        op.create_index(name, "x_bookmarks", columns)
    is_pg = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRESQL_DDL if is_pg else SQLITE_DDL:
        op.execute(statement)
    op.create_table(
        "x_bookmark_media",
        sa.Column("id", sa.String(24), primary_key=True),
        sa.Column("user_id", sa.String(24), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("bookmark_seq", SEQ, sa.ForeignKey("x_bookmarks.seq", ondelete="CASCADE"), nullable=False),
        sa.Column("media_key", sa.String(64), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("source_url", sa.Text(), nullable=True),
        sa.Column("sandbox", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("storage_key", sa.Text(), nullable=True),
        sa.Column("content_type", sa.String(100), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=True),
        sa.Column("lease_token", sa.String(32), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("bookmark_seq", "media_key"),
    )
    op.create_index("ix_x_bookmark_media_due", "x_bookmark_media", ["status", "due_at"])
    op.create_index("ix_x_bookmark_media_user_status", "x_bookmark_media", ["user_id", "status"])
    op.create_table(
        "x_bookmark_states",
        sa.Column("user_id", sa.String(24), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("account_id", sa.String(200), nullable=True),
        sa.Column("pagination_token", sa.Text(), nullable=True),
        sa.Column("last_sync_at", sa.DateTime(), nullable=True),
        sa.Column("last_sync_status", sa.String(16), nullable=True),
        sa.Column("last_requested_sync_at", sa.DateTime(), nullable=True),
        sa.Column("sync_lease_token", sa.String(32), nullable=True),
        sa.Column("sync_lease_until", sa.DateTime(), nullable=True),
        sa.Column("export_times", sa.JSON(), nullable=False),
        sa.Column("download_images", sa.Boolean(), nullable=False),
        sa.Column("download_videos", sa.Boolean(), nullable=False),
        sa.Column("fetch_referenced_tweets", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "x_bookmark_sync_logs",
        sa.Column("id", sa.String(24), primary_key=True),
        sa.Column("user_id", sa.String(24), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("synced_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("inserted", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("has_more", sa.Boolean(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
    )
    op.create_index("ix_x_bookmark_sync_logs_user", "x_bookmark_sync_logs", ["user_id", "synced_at"])
    op.create_table(
        "x_bookmark_usage",
        sa.Column("user_id", sa.String(24), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("month_key", sa.String(7), primary_key=True),
        sa.Column("used", sa.Integer(), nullable=False),
    )
    _grant_premium(add=True)


def downgrade() -> None:
    _grant_premium(add=False)
    for table in ("x_bookmark_usage", "x_bookmark_sync_logs", "x_bookmark_states", "x_bookmark_media"):
        op.drop_table(table)
    is_pg = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRESQL_DROP if is_pg else SQLITE_DROP:
        op.execute(statement)
    op.drop_table("x_bookmarks")
    op.drop_table("scheduled_jobs")
    op.execute("ALTER TABLE users DROP COLUMN x_bookmarks_enabled")


def _grant_premium(*, add: bool) -> None:
    """Premium includes X bookmarks with 2000 new bookmarks a month (data, like the other plans)."""
    plans = sa.table("plans", sa.column("key", sa.String()), sa.column("entitlements", sa.JSON()))
    bind = op.get_bind()
    current = bind.execute(sa.select(plans.c.entitlements).where(plans.c.key == "premium")).scalar()
    if current is None:
        return
    data = {k: v for k, v in dict(current).items() if k not in PREMIUM_GRANTS}
    if add:
        data.update(PREMIUM_GRANTS)
    bind.execute(plans.update().where(plans.c.key == "premium").values(entitlements=data))
