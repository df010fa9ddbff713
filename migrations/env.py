"""Alembic environment: runs on the connection or URL the caller gives (see app/cli.py)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from app import models
from app.db import make_engine

config = context.config
target_metadata = models.metadata()


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as fresh:
        run(fresh)
    engine.dispose()
