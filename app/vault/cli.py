"""`flask vault notify-deemed` and `flask post queue | batch | pdf`.

`notify-deemed` records the notifications that are due (run it every few minutes, as a timer
does: it is idempotent). `post batch` prints the letters of the people who get them by post;
`post pdf` writes a batch's PDF again, to print it. Each command commits once, at its end, and
prints document ids and counts, never a name, an address or a title.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import Flask, current_app

from app import db
from app.vault import notification, post
from app.vault.models import PostBatch


def _moment(value: str | None) -> datetime:
    if value is None:
        return db.utcnow()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("an ISO 8601 date and time, with its offset") from None
    if moment.tzinfo is None:
        raise click.BadParameter("give the offset (2026-11-23T10:00:00+01:00)")
    return moment.astimezone(UTC)


def write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner may read (letters with addresses), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


def init_app(app: Flask) -> None:
    @app.cli.group("vault")
    def vault_group() -> None:
        """The document vault: notifications."""

    @vault_group.command("notify-deemed")
    @click.option("--now", "now_text", metavar="ISO-8601",
                  help="Decide as of this moment instead of the clock (rehearsals, tests).")
    def notify_deemed(now_text: str | None) -> None:
        """Record the notifications due: 15 days passed unopened (deemed), or sent by post."""
        now = _moment(now_text)
        with current_app.extensions["ofpra.db"].sessions() as db_session:
            count = notification.mark_deemed(db_session, now)
            db_session.commit()
        click.echo(f"vault: {count} notifications recorded")

    @app.cli.group("post")
    def post_group() -> None:
        """Letters by post: the print queue and its batches."""

    @post_group.command("queue")
    def show_queue() -> None:
        """Say how many letters wait to be printed."""
        with current_app.extensions["ofpra.db"].sessions() as db_session:
            waiting = post.queue(db_session)
        click.echo(f"post: {len(waiting)} letters wait to be printed")

    @post_group.command("batch")
    @click.option("--by", "agent", required=True,
                  help="Who makes the batch (the OFPRA agent's identifier).")
    @click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
                  help="Also write the PDF to print here (readable by you only).")
    def make_batch(agent: str, out: Path | None) -> None:
        """Make one PDF of the whole print queue, record it, and mark the letters sent."""
        if not agent.strip():
            raise click.BadParameter("say who makes the batch", param_hint="--by")
        vault = current_app.extensions["ofpra.vault"]
        with current_app.extensions["ofpra.db"].sessions() as db_session:
            result = post.batch(db_session, vault, by=agent.strip(), now=db.utcnow())
            db_session.commit()
        for document_id, reason in result.kept:
            click.echo(f"post: kept in the queue: document {document_id} ({reason.value})",
                       err=True)
        if result.batch is None:
            click.echo("post: nothing to print")
            return
        click.echo(f"post: batch {result.batch.id}: {len(result.sent)} letters, "
                   f"{result.pages} pages")
        if out is not None:
            write_private(out, post.open_batch(vault, result.batch))
            click.echo(f"post: PDF written to {out}")

    @post_group.command("pdf")
    @click.argument("batch_id", type=int)
    @click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
                  help="Where to write the PDF (readable by you only).")
    def batch_pdf(batch_id: int, out: Path) -> None:
        """Write a batch's PDF again, to print it."""
        with current_app.extensions["ofpra.db"].sessions() as db_session:
            made = db_session.get(PostBatch, batch_id)
        if made is None:
            raise click.ClickException(f"no batch {batch_id}")
        write_private(out, post.open_batch(current_app.extensions["ofpra.vault"], made))
        click.echo(f"post: batch {batch_id} written to {out}")
