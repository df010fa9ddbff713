"""Operator commands that belong to no single feature: the schema and the keys."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click
from alembic import command
from alembic.config import Config
from flask import Flask, current_app
from sqlalchemy import Connection, Engine

from app.oauth import keys

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    _migrate(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str) -> None:
    _migrate(engine, command.downgrade, revision)


def _migrate(engine: Engine, step: Callable[[Config, str], None], revision: str) -> None:
    """Run a migration step in one transaction.

    SQLite alters a table by copying it; with foreign keys enforced, dropping the old copy
    fails. They are suspended for the step (SQLite allows it only outside a transaction), then
    checked, then restored.
    """
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.connection.driver_connection.execute(  # type: ignore[union-attr]
                "PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                step(alembic_config(connection), revision)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration left broken references: {broken[:5]}")
        finally:
            if sqlite:
                connection.connection.driver_connection.execute(  # type: ignore[union-attr]
                    "PRAGMA foreign_keys=ON")


def init_app(app: Flask) -> None:
    @app.cli.group("db")
    def db_group() -> None:
        """Schema migrations (Alembic)."""

    @db_group.command("upgrade")
    @click.argument("revision", default="head")
    def db_upgrade(revision: str) -> None:
        """Apply migrations up to REVISION (default: head)."""
        Path(current_app.instance_path).mkdir(parents=True, exist_ok=True)
        upgrade(current_app.extensions["ofpra.db"].engine, revision)
        click.echo(f"database at {revision}")

    @db_group.command("downgrade")
    @click.argument("revision")
    def db_downgrade(revision: str) -> None:
        """Revert migrations down to REVISION."""
        downgrade(current_app.extensions["ofpra.db"].engine, revision)
        click.echo(f"database at {revision}")

    @db_group.command("revision")
    @click.option("-m", "--message", required=True)
    def db_revision(message: str) -> None:
        """Autogenerate a migration from the models (read it before committing)."""
        with current_app.extensions["ofpra.db"].engine.begin() as connection:
            command.revision(alembic_config(connection), message=message, autogenerate=True)

    @app.cli.group("keys")
    def keys_group() -> None:
        """OFPRA's signing keys."""

    @keys_group.command("rotate")
    @click.argument("purpose", type=click.Choice(sorted(keys.PURPOSES)))
    def keys_rotate(purpose: str) -> None:
        """Add a new signing key for PURPOSE; older keys keep verifying."""
        kid = current_app.extensions["ofpra.keys"].rotate(purpose)
        click.echo(f"new {purpose} key {kid}")
