"""Faster list-posts: indexes covering the sort tie-breaker, and per-user group counts.

`post_group_counts` holds how many groups each user has in each status. Triggers on
`post_groups` keep it exact on every insert, delete and status change, whoever writes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_post_groups_user_created": ["user_id", "created_at", "id"],
    "ix_post_groups_user_updated": ["user_id", "updated_at", "id"],
    "ix_post_groups_user_scheduled": ["user_id", "scheduled_time", "id"],
    "ix_post_groups_user_status": ["user_id", "status", "created_at", "id"],
}
PREVIOUS = {
    "ix_post_groups_user_created": ["user_id", "created_at"],
    "ix_post_groups_user_scheduled": ["user_id", "scheduled_time"],
    "ix_post_groups_user_status": ["user_id", "status"],
}

ADD = (
    "INSERT INTO post_group_counts (user_id, status, n) VALUES (NEW.user_id, NEW.status, 1) "
    "ON CONFLICT (user_id, status) DO UPDATE SET n = post_group_counts.n + 1"
)
REMOVE = "UPDATE post_group_counts SET n = n - 1 WHERE user_id = OLD.user_id AND status = OLD.status"

POSTGRESQL = [
    f"""
    CREATE FUNCTION post_group_counts_track() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND OLD.status = NEW.status AND OLD.user_id = NEW.user_id THEN
            RETURN NULL;
        END IF;
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            {REMOVE};
        END IF;
        IF TG_OP IN ('UPDATE', 'INSERT') THEN
            {ADD};
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql
    """,
    "CREATE TRIGGER post_group_counts_track AFTER INSERT OR DELETE OR UPDATE OF status, user_id "
    "ON post_groups FOR EACH ROW EXECUTE FUNCTION post_group_counts_track()",
]
SQLITE = [
    f"CREATE TRIGGER post_group_counts_insert AFTER INSERT ON post_groups BEGIN {ADD}; END",
    f"CREATE TRIGGER post_group_counts_delete AFTER DELETE ON post_groups BEGIN {REMOVE}; END",
    "CREATE TRIGGER post_group_counts_update AFTER UPDATE OF status, user_id ON post_groups "
    f"WHEN OLD.status IS NOT NEW.status OR OLD.user_id IS NOT NEW.user_id BEGIN {REMOVE}; {ADD}; END",
]


def upgrade() -> None:
    for name in PREVIOUS:
        op.drop_index(name, table_name="post_groups")
    for name, columns in INDEXES.items():
        op.create_index(name, "post_groups", columns)
    op.create_table(
        "post_group_counts",
        sa.Column("user_id", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "status"),
    )
    op.execute(
        "INSERT INTO post_group_counts (user_id, status, n) "
        "SELECT user_id, status, count(*) FROM post_groups GROUP BY user_id, status"
    )
    for statement in POSTGRESQL if op.get_bind().dialect.name == "postgresql" else SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER post_group_counts_track ON post_groups")
        op.execute("DROP FUNCTION post_group_counts_track()")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER post_group_counts_{name}")
    op.drop_table("post_group_counts")
    for name in INDEXES:
        op.drop_index(name, table_name="post_groups")
    for name, columns in PREVIOUS.items():
        op.create_index(name, "post_groups", columns)
