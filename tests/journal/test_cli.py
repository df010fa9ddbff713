from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app import db
from app.journal import cli as journal_cli
from app.journal import sealing
from app.journal.models import JournalEntry, JournalSeal
from tests.journal import builders


@pytest.fixture()
def runner(app, db_session):
    return app.test_cli_runner()


def test_seal_then_verify(runner, db_session):
    an_hour_ago = db.utcnow() - timedelta(hours=1)
    ids = [builders.add(db_session, an_hour_ago, n) for n in range(3)]

    sealed = runner.invoke(args=["journal", "seal"])

    assert (sealed.exit_code, sealed.stdout) == (0, "journal sealed: 1 seals, 3 entries\n")
    made = db_session.scalars(select(JournalSeal)).one()
    assert (made.first_entry_id, made.last_entry_id, made.entry_count) == (ids[0], ids[2], 3)

    # Just written: within JOURNAL_SEAL_GRACE_SECONDS, so left for the next run.
    builders.add(db_session, db.utcnow(), 9)
    again = runner.invoke(args=["journal", "seal"])
    assert (again.exit_code, again.stdout) == (0, "journal sealed: 0 seals, 0 entries\n")

    verified = runner.invoke(args=["journal", "verify"])
    assert (verified.exit_code, verified.stdout) == \
        (0, "journal verified: 1 seals, 3 entries, 1 not yet sealed\n")


def test_seal_uses_the_configured_batch_size(app, runner, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "JOURNAL_SEAL_BATCH", 2)
    an_hour_ago = db.utcnow() - timedelta(hours=1)
    for n in range(5):
        builders.add(db_session, an_hour_ago, n)

    sealed = runner.invoke(args=["journal", "seal"])

    assert (sealed.exit_code, sealed.stdout) == (0, "journal sealed: 3 seals, 5 entries\n")
    assert db_session.scalars(select(JournalSeal.entry_count).order_by(JournalSeal.id)).all() \
        == [2, 2, 1]


def test_verify_names_the_first_difference_and_exits_1(runner, db_session):
    ids = [builders.add(db_session, db.utcnow() - timedelta(hours=1), n) for n in range(2)]
    assert runner.invoke(args=["journal", "seal"]).exit_code == 0
    builders.allow_changes(db_session)
    db_session.execute(update(JournalEntry).where(JournalEntry.id == ids[1])
                       .values(outcome="not_found").execution_options(synchronize_session=False))

    verified = runner.invoke(args=["journal", "verify"])

    assert verified.exit_code == 1
    assert verified.stdout == (
        f"journal differs at entry {ids[1]} (seal 1): its content does not match its "
        "entry_hash (the row was changed) (verified before it: 0 seals, 0 entries)\n")


def test_seal_exits_75_when_another_sealer_runs(app, runner, db_session):
    if db_session.get_bind().dialect.name != "postgresql":
        pytest.skip("the sealers' advisory lock is PostgreSQL's")
    builders.add(db_session, db.utcnow() - timedelta(hours=1), 1)
    other = app.extensions["ofpra.db"].engine.connect()
    try:
        other.scalar(select(func.pg_advisory_xact_lock(sealing.SEALER_LOCK)))
        sealed = runner.invoke(args=["journal", "seal"])
    finally:
        other.rollback()
        other.close()

    assert sealed.exit_code == journal_cli.EX_TEMPFAIL
    assert sealed.stderr == "journal not sealed: another sealer is running\n"
    assert db_session.scalar(select(func.count()).select_from(JournalSeal)) == 0


def test_progress_goes_to_stderr(capsys):
    progress = journal_cli._Progress("sealed", every=0)
    progress(2, 20000)

    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "journal: sealed 2 seals, 20000 entries so far\n")
