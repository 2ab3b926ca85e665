"""Run Alembic migrations programmatically (every process migrates the database at start).

On PostgreSQL the migration runs under a transaction-scoped advisory lock, so processes that
start at the same moment take turns: the first migrates, the others find the schema current.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from postpost.db.session import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# pg_advisory_xact_lock key: the first 8 bytes of sha256("postpost-migrate") as a signed bigint.
MIGRATION_LOCK_ID = 0x09AE_F741_1225_689C


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


async def upgrade(database: Database, revision: str = "head") -> None:
    """Bring the schema up to `revision`; a no-op when it is already there."""

    def _run(connection: Connection) -> None:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with database.engine.begin() as connection:
        await connection.run_sync(_run)


def head_revision() -> str:
    """The newest migration shipped with this version of postpost."""
    return str(ScriptDirectory.from_config(alembic_config()).get_current_head())


async def current_revision(database: Database) -> str | None:
    """The migration the database is at (None for an empty database); changes nothing."""

    def _read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with database.engine.connect() as connection:
        return await connection.run_sync(_read)
