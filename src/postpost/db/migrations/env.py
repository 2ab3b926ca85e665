"""Alembic environment: runs on the connection handed over by postpost.db.migrate."""

from alembic import context

from postpost.db.models import Base
from postpost.db.search import include_object

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    include_object=include_object,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
