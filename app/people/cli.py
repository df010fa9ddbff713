"""`flask sandbox load FILE`: the synthetic people partners test against."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app

from app.people import sandbox


def init_app(app: Flask) -> None:
    @app.cli.group("sandbox")
    def sandbox_group() -> None:
        """Synthetic people for partners' tests and the demo."""

    @sandbox_group.command("load")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    def load(path: Path) -> None:
        """Add the people of PATH that are not loaded yet."""
        people = sandbox.read(path)
        with current_app.extensions["ofpra.db"].sessions() as db_session:
            loaded = sandbox.load(db_session, people)
            db_session.commit()
        click.echo(f"sandbox: {len(loaded)} people present")
