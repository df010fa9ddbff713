import pytest
from sqlalchemy import delete, exc, select, update

from app.journal import sealing
from app.journal.models import JournalEntry, JournalSeal
from tests.journal import builders
from tests.journal.builders import BASE, NOW


def test_the_database_refuses_to_change_an_entry(db_session):
    entry_id = builders.add(db_session, BASE, 1)

    with pytest.raises(exc.DBAPIError, match="journal_entry is append-only"):
        with db_session.begin_nested():
            db_session.execute(update(JournalEntry).where(JournalEntry.id == entry_id)
                               .values(outcome="not_found")
                               .execution_options(synchronize_session=False))

    assert db_session.scalar(select(JournalEntry.outcome).where(JournalEntry.id == entry_id)) \
        == "found"


def test_the_database_refuses_to_delete_an_entry(db_session):
    entry_id = builders.add(db_session, BASE, 1)

    with pytest.raises(exc.DBAPIError, match="journal_entry is append-only"):
        with db_session.begin_nested():
            db_session.execute(delete(JournalEntry).where(JournalEntry.id == entry_id))

    assert db_session.scalar(select(JournalEntry.id).where(JournalEntry.id == entry_id)) \
        == entry_id


def test_the_database_refuses_to_change_or_delete_a_seal(app, db_session):
    builders.add(db_session, BASE, 1)
    sealing.seal(db_session, app.extensions["ofpra.keys"], now=NOW, grace_seconds=10,
                 batch_size=10)

    with pytest.raises(exc.DBAPIError, match="journal_seal is append-only"):
        with db_session.begin_nested():
            db_session.execute(update(JournalSeal).where(JournalSeal.id == 1)
                               .values(entry_count=2)
                               .execution_options(synchronize_session=False))
    with pytest.raises(exc.DBAPIError, match="journal_seal is append-only"):
        with db_session.begin_nested():
            db_session.execute(delete(JournalSeal).where(JournalSeal.id == 1))

    assert db_session.scalar(select(JournalSeal.entry_count).where(JournalSeal.id == 1)) == 1
