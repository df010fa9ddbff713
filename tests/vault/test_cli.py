"""`flask vault notify-deemed`: the job, as a timer runs it."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.people.models import Person
from app.vault.models import Document, NotificationMethod
from tests.vault import builders

MADE = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


def test_notify_deemed_records_what_is_due(app: Flask, db_session: Session,
                                           asylum_seeker: Person) -> None:
    document = builders.document(app, db_session, asylum_seeker, MADE)
    runner = app.test_cli_runner()
    early = runner.invoke(args=["vault", "notify-deemed", "--now", "2026-06-16T11:59:59+02:00"])
    assert early.exit_code == 0, early.output
    assert early.output == "vault: 0 notifications recorded\n"
    due = runner.invoke(args=["vault", "notify-deemed", "--now", "2026-06-16T12:00:00+02:00"])
    assert due.output == "vault: 1 notifications recorded\n"
    db_session.expire_all()
    marked = db_session.scalars(select(Document).where(Document.id == document.id)).one()
    assert (marked.notified_at, marked.notification_method) == \
        (datetime(2026, 6, 16, 10, 0, tzinfo=UTC), NotificationMethod.DEEMED)
    # Run again (and with the real clock): nothing more.
    assert runner.invoke(args=["vault", "notify-deemed"]).output == \
        "vault: 0 notifications recorded\n"


def test_notify_deemed_wants_an_offset(app: Flask, db_session: Session) -> None:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["vault", "notify-deemed", "--now", "2026-06-16T12:00"]) \
        .exit_code == 2
    assert runner.invoke(args=["vault", "notify-deemed", "--now", "tomorrow"]).exit_code == 2
