"""`flask attestations revoke-stale`: revoke the attestations whose facts changed.

Run it as a job (daily, say): some facts change with time alone (a protection whose end date
comes, documents past their expected date). Whoever changes facts in the back office also calls
`revocation.revoke_stale` for that person, in the same transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask import Flask, current_app

from app.attestations import revocation


def init_app(app: Flask) -> None:
    @app.cli.group("attestations")
    def attestations() -> None:
        """Attestations people download from their space."""

    @attestations.command("revoke-stale")
    @click.option("--person", "person_id", type=int, default=None,
                  help="Only this person's attestations (their internal id); default: all.")
    def revoke_stale(person_id: int | None) -> None:
        """Revoke the live attestations whose record no longer reads the same today."""
        with current_app.extensions["ofpra.db"].sessions() as db_session:
            count = revocation.revoke_stale(db_session, person_id, datetime.now(UTC))
            db_session.commit()
        click.echo(f"{count} attestation(s) revoked")
