"""`flask journal seal` and `flask journal verify`: the operator's side of the access journal."""

from __future__ import annotations

import time

import click
from flask import Flask, current_app

from app import db
from app.journal import sealing

# Exit code when another sealer holds the lock: EX_TEMPFAIL, "try again later" (sysexits.h).
EX_TEMPFAIL = 75


class _Progress:
    """Report a long run on stderr, at most every `every` seconds, so stdout stays the result."""

    def __init__(self, doing: str, every: float = 5.0) -> None:
        self.doing = doing
        self.every = every
        self.last = time.monotonic()

    def __call__(self, seals: int, entries: int) -> None:
        if time.monotonic() - self.last >= self.every:
            self.last = time.monotonic()
            click.echo(f"journal: {self.doing} {seals} seals, {entries} entries so far", err=True)


def init_app(app: Flask) -> None:
    @app.cli.group("journal")
    def journal_group() -> None:
        """The access journal: sealing into signed batches, and verifying."""

    @journal_group.command("seal")
    @click.pass_context
    def seal(ctx: click.Context) -> None:
        """Seal the entries older than JOURNAL_SEAL_GRACE_SECONDS, JOURNAL_SEAL_BATCH a seal.

        Exits 75 (try again later) when another sealer is running, having sealed nothing.
        """
        config = current_app.config
        with current_app.extensions["ofpra.db"].sessions() as db_session:
            try:
                made = sealing.seal(db_session, current_app.extensions["ofpra.keys"],
                                    now=db.utcnow(),
                                    grace_seconds=config["JOURNAL_SEAL_GRACE_SECONDS"],
                                    batch_size=config["JOURNAL_SEAL_BATCH"],
                                    progress=_Progress("sealed"))
            except sealing.SealerBusy as error:
                click.echo(f"journal not sealed: {error}", err=True)
                ctx.exit(EX_TEMPFAIL)
            db_session.commit()
        count = sum(made_seal.entry_count for made_seal in made)
        click.echo(f"journal sealed: {len(made)} seals, {count} entries")

    @journal_group.command("verify")
    @click.pass_context
    def verify(ctx: click.Context) -> None:
        """Recompute every entry, Merkle root, chain link and signature; exit 1 on a difference."""
        with current_app.extensions["ofpra.db"].sessions() as db_session:
            report = sealing.verify(db_session, current_app.extensions["ofpra.keys"],
                                    progress=_Progress("verified"))
        click.echo(str(report))
        if not report.ok:
            ctx.exit(1)
