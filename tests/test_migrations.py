"""The migrations are the schema: they agree with the models, and go down and up again."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from app import cli as app_cli
from app import models
from app.db import Database
from tests import conftest


def test_models_and_migrations_agree(app):
    engine = app.extensions["ofpra.db"].engine
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, models.metadata())
    assert differences == []


@pytest.fixture()
def empty_url(database_url, tmp_path):
    """An empty database of the same kind: a file, or a PostgreSQL schema of its own."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'updown.db'}"
    else:
        yield from conftest.postgres_schema()


def test_downgrade_to_base_and_upgrade_again(empty_url):
    database = Database(empty_url)
    try:
        app_cli.upgrade(database.engine)
        app_cli.downgrade(database.engine, "base")
        tables = set(inspect(database.engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
        app_cli.upgrade(database.engine)
        tables = set(inspect(database.engine).get_table_names())
        assert {"person", "journal_entry", "consent_event", "partner"} <= tables
    finally:
        database.engine.dispose()


def test_ledgers_refuse_updates_and_deletes(db_session):
    from datetime import UTC, datetime

    from sqlalchemy import exc, text

    from app.db import Raw
    from app.journal import entries

    entries.append(Raw(db_session), entries.Entry(
        at=datetime.now(UTC), request_id="r", partner_id=None, client_id="c", scope="s",
        recipient=None, outcome="not_found", basis=None, habilitation_id=None,
        consent_id=None, person_id=None, subject_key="k"))
    for statement in ("UPDATE journal_entry SET outcome = 'found'", "DELETE FROM journal_entry"):
        with pytest.raises(exc.DatabaseError, match="append-only"):
            with db_session.begin_nested():
                db_session.execute(text(statement))
