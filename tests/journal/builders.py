"""Journal entries for the tests, and a way round the append-only triggers to play the attacker."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app import db
from app.journal import entries
from app.journal.models import JournalEntry

# A fixed clock: entries are written at BASE + n seconds, sealing happens at NOW.
BASE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW = BASE + timedelta(hours=1)


def entry(at: datetime, number: int = 0, **changes: Any) -> entries.Entry:
    made = entries.Entry(
        at=at, request_id=f"req-{number:04d}", partner_id=None, client_id="caf-test",
        scope="protection_status", recipient="53475101500015", outcome="found",
        basis="legal_basis", habilitation_id=None, consent_id=None, person_id=None,
        subject_key=f"{number:064x}",
    )
    return replace(made, **changes)


def add(db_session: Session, at: datetime, number: int = 0, **changes: Any) -> int:
    """Append one entry the way the service does; return its id."""
    entries.append(db.Raw(db_session), entry(at, number, **changes))
    entry_id = db_session.scalar(select(func.max(JournalEntry.id)))
    assert entry_id is not None
    return entry_id


def add_many(db_session: Session, count: int, start: datetime = BASE) -> list[int]:
    return [add(db_session, start + timedelta(seconds=n), n) for n in range(count)]


def add_with_id(db_session: Session, entry_id: int, made: entries.Entry) -> None:
    """Insert an entry with a chosen id, as a forger would (inserts are not refused)."""
    names = ("id", *entries.FIELDS, "entry_hash")
    db.Raw(db_session).execute(
        f"INSERT INTO journal_entry ({', '.join(names)}) "  # noqa: S608 - fixed column names
        f"VALUES ({', '.join(':' + name for name in names)})",
        id=entry_id, **asdict(made), entry_hash=made.digest(),
    )


def allow_changes(db_session: Session) -> None:
    """Lift the append-only triggers until the test's transaction is rolled back."""
    if db_session.get_bind().dialect.name == "postgresql":
        db_session.execute(text("SET LOCAL session_replication_role = replica"))
        return
    for table in ("journal_entry", "journal_seal"):
        for action in ("update", "delete"):
            db_session.execute(text(f"DROP TRIGGER {table}_no_{action}"))
