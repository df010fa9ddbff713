"""Workers side by side, with real commits: each message goes out once.

The `db_session` fixture holds everything in one connection, which cannot show concurrency: these
tests use a database of their own (a SQLite file, or a PostgreSQL schema), at the migrations' head.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from flask import Flask
from sqlalchemy import func, select

from app import cli as app_cli
from app import create_app, db
from app.db import Database
from app.notify import outbox, worker
from app.notify.models import OutboxMessage
from tests import conftest
from tests.notify.conftest import SmsGateway, SmtpServer, service_settings


def _urls(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'outbox.db'}"
    else:
        yield from conftest.postgres_schema()


@pytest.fixture(params=["sqlite", "postgresql"])
def committed_app(request: pytest.FixtureRequest, keys_dir: Path, tmp_path: Path,
                  smtp_server: SmtpServer, sms_gateway: SmsGateway) -> Iterator[Flask]:
    """An application on a database of its own, where commits are real."""
    for url in _urls(request.param, tmp_path):
        database = Database(url)
        app_cli.upgrade(database.engine)
        database.engine.dispose()
        application = create_app(conftest.settings(
            url, keys_dir, tmp_path / "instance", **service_settings(smtp_server, sms_gateway)))
        try:
            yield application
        finally:
            application.extensions["ofpra.db"].engine.dispose()


def queue(app: Flask, count: int) -> list[int]:
    with app.extensions["ofpra.db"].sessions() as session:
        ids = [outbox.enqueue(session, channel="email", recipient=f"person-{n}@example.org",
                              template="document_deposited", language="fr", context={}).id
               for n in range(count)]
        session.commit()
    return ids


def test_two_workers_side_by_side_send_each_message_once(committed_app: Flask,
                                                         smtp_server: SmtpServer):
    ids = queue(committed_app, 40)
    smtp_server.mailbox.delay = 0.01  # a relay that takes its time: the workers interleave
    start = threading.Barrier(2)
    results: dict[str, worker.Stats] = {}
    errors: list[BaseException] = []

    def work(name: str) -> None:
        one = worker.Worker(committed_app)
        start.wait()
        try:
            results[name] = one.run_once(limit=1000)  # the clock, read at each step
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    received = smtp_server.messages
    assert sorted(m.rcpt_tos[0] for m in received) == sorted(
        f"person-{n}@example.org" for n in range(40))
    assert len({m.message["Message-ID"] for m in received}) == 40
    assert sum(stats.sent for stats in results.values()) == 40
    assert all(stats.sent > 0 for stats in results.values()), results  # both really worked
    assert sum(stats.lost + stats.failed + stats.retried for stats in results.values()) == 0
    with committed_app.extensions["ofpra.db"].sessions() as session:
        attempts = session.scalars(select(OutboxMessage.attempts).where(
            OutboxMessage.id.in_(ids), OutboxMessage.sent_at.is_not(None))).all()
    assert attempts == [1] * 40


@pytest.mark.parametrize("committed_app", ["postgresql"], indirect=True)
def test_a_locked_message_is_skipped_not_waited_for(committed_app: Flask):
    first, second = queue(committed_app, 2)
    url = committed_app.config["DATABASE_URL"]
    with psycopg.connect(url) as blocker:  # another worker, in the middle of its claim
        blocker.execute("SELECT id FROM outbox_message WHERE id = %s FOR UPDATE", (first,))
        claims: list[worker.Claim | None] = []
        claimer = threading.Thread(
            target=lambda: claims.append(worker.Worker(committed_app).claim(db.utcnow())))
        claimer.start()
        claimer.join(timeout=10)
        waited = claimer.is_alive()
        blocker.rollback()
    claimer.join()

    assert not waited, "the claim waited for the locked row instead of skipping it"
    assert [claim.id for claim in claims if claim] == [second]
    with committed_app.extensions["ofpra.db"].sessions() as session:
        leased = session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.attempts == 1))
    assert leased == 1
