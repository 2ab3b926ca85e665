"""Migrations run forwards and backwards on both engines, and the schema matches the models."""

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from postpost.config import async_database_url
from postpost.db.migrate import alembic_config, upgrade
from postpost.db.models import Base
from postpost.db.search import include_object
from postpost.db.session import Database


@pytest.fixture
def empty_database_url(engine_name, new_database_url):
    return new_database_url(engine_name)


async def test_upgrade_downgrade_upgrade_matches_models(empty_database_url):
    database = Database(async_database_url(empty_database_url))
    try:
        await upgrade(database)

        def down_to_base(connection: Connection) -> None:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "base")

        async with database.engine.begin() as connection:
            await connection.run_sync(down_to_base)
        await upgrade(database)

        def differences(connection: Connection) -> list[object]:
            context = MigrationContext.configure(connection, opts={"include_object": include_object})
            return list(compare_metadata(context, Base.metadata))

        async with database.engine.connect() as connection:
            diff = await connection.run_sync(differences)
        assert diff == []
    finally:
        await database.dispose()
