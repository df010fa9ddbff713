"""Deemed notification and deadlines: exact instants around day 15, clock changes, any zone."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.people.models import Person
from app.vault import notification
from app.vault.models import Delivery, Document, NotificationMethod, PostBatch
from tests.vault import builders

PARIS = ZoneInfo("Europe/Paris")
SECOND = timedelta(seconds=1)
# The server's own zone must never matter: UTC, a zone whose clocks change on other days, and
# one of the southern hemisphere.
SERVER_ZONES = ["UTC", "America/New_York", "Pacific/Auckland"]


@pytest.fixture(params=SERVER_ZONES)
def server_zone(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def transient(made_available_at: datetime, **values: object) -> Document:
    values.setdefault("delivery", Delivery.ONLINE)
    return Document(made_available_at=made_available_at, **values)


# --- the deemed instant ---------------------------------------------------------------------

def test_an_ordinary_fortnight_is_the_same_paris_time_15_days_later(server_zone: str) -> None:
    made = paris(2026, 6, 1, 12, 0)
    assert notification.deemed_at(made) == paris(2026, 6, 16, 12, 0) == utc(2026, 6, 16, 10, 0)


@pytest.mark.parametrize(("made", "deemed", "elapsed"), [
    # March: clocks go forward on Sunday 29 March 2026 at 02:00 (CET) → 03:00 (CEST).
    (paris(2026, 3, 14, 10, 0), utc(2026, 3, 29, 8, 0), timedelta(days=15, hours=-1)),
    # Made available the evening just before the change: still 10 pm, 15 days later.
    (paris(2026, 3, 28, 23, 0), utc(2026, 4, 12, 21, 0), timedelta(days=15, hours=-1)),
    # 02:30 on 29 March never exists: the clock jumps over it, at 03:00 CEST (01:00 UTC).
    (paris(2026, 3, 14, 2, 30), utc(2026, 3, 29, 1, 0), timedelta(days=14, hours=23,
                                                                  minutes=30)),
    # October: clocks go back on Sunday 25 October 2026 at 03:00 (CEST) → 02:00 (CET).
    (paris(2026, 10, 10, 10, 0), utc(2026, 10, 25, 9, 0), timedelta(days=15, hours=1)),
    # 02:30 on 25 October happens twice: the first of the two (CEST).
    (paris(2026, 10, 10, 2, 30), utc(2026, 10, 25, 0, 30), timedelta(days=15)),
    # Made available during the repeated hour, the second time (CET): 02:30 CET 15 days later.
    (datetime(2026, 10, 25, 2, 30, tzinfo=PARIS, fold=1), utc(2026, 11, 9, 1, 30),
     timedelta(days=15)),
    # Made available during the repeated hour, the first time (CEST): still 02:30, now CET.
    (datetime(2026, 10, 25, 2, 30, tzinfo=PARIS, fold=0), utc(2026, 11, 9, 1, 30),
     timedelta(days=15, hours=1)),
])
def test_clock_changes_keep_the_paris_day_and_time(server_zone: str, made: datetime,
                                                   deemed: datetime,
                                                   elapsed: timedelta) -> None:
    result = notification.deemed_at(made)
    assert result == deemed
    assert result.tzinfo is UTC
    assert result - made == elapsed
    # Always the day of making-available + 15 on the Paris calendar.
    assert result.astimezone(PARIS).date() == made.astimezone(PARIS).date() + timedelta(days=15)


def test_the_first_instant_showing_a_skipped_time_is_the_jump() -> None:
    assert notification.first_instant_showing(datetime(2026, 3, 29, 2, 0)) == \
        utc(2026, 3, 29, 1, 0)
    assert notification.first_instant_showing(datetime(2026, 3, 29, 2, 59, 59)) == \
        utc(2026, 3, 29, 1, 0)
    assert notification.first_instant_showing(datetime(2026, 3, 29, 3, 0)) == \
        utc(2026, 3, 29, 1, 0)
    assert notification.first_instant_showing(datetime(2026, 3, 29, 1, 59, 59)) == \
        utc(2026, 3, 29, 0, 59, 59)


def test_the_deemed_instant_never_goes_backwards() -> None:
    start = utc(2026, 3, 14, 0, 0)
    previous = notification.deemed_at(start)
    for minutes in range(15, 6 * 60, 15):
        current = notification.deemed_at(start + timedelta(minutes=minutes))
        assert current >= previous
        previous = current


def test_a_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        notification.deemed_at(datetime(2026, 6, 1, 12, 0))


# --- status ----------------------------------------------------------------------------------

MADE = paris(2026, 6, 1, 12, 0)  # 10:00 UTC
DEEMED = utc(2026, 6, 16, 10, 0)


@pytest.mark.parametrize(("now", "expected"), [
    (MADE + timedelta(days=14), (None, None)),                     # day 14
    (DEEMED - SECOND, (None, None)),                               # the last second of day 15
    (DEEMED - timedelta(microseconds=1), (None, None)),
    (DEEMED, (DEEMED, NotificationMethod.DEEMED)),                 # day 15, to the second
    (MADE + timedelta(days=16), (DEEMED, NotificationMethod.DEEMED)),  # day 16
])
def test_status_of_an_unopened_document_around_day_15(server_zone: str, now: datetime,
                                                       expected: tuple[object, object]) -> None:
    assert notification.status(transient(MADE), now) == expected


def test_opened_before_day_15_it_is_notified_at_the_consultation() -> None:
    opened = DEEMED - SECOND
    document = transient(MADE, first_consulted_at=opened)
    assert notification.status(document, MADE + timedelta(days=30)) == \
        (opened, NotificationMethod.CONSULTATION)
    assert notification.status(document, opened) == (opened, NotificationMethod.CONSULTATION)


def test_opened_at_or_after_day_15_it_was_already_notified() -> None:
    for opened in (DEEMED, DEEMED + timedelta(days=3)):
        document = transient(MADE, first_consulted_at=opened)
        assert notification.status(document, opened) == (DEEMED, NotificationMethod.DEEMED)


def test_what_is_recorded_wins() -> None:
    recorded = utc(2026, 6, 3, 8, 0)
    document = transient(MADE, notified_at=recorded,
                         notification_method=NotificationMethod.CONSULTATION)
    assert notification.status(document, MADE + timedelta(days=40)) == \
        (recorded, NotificationMethod.CONSULTATION)


def test_a_letter_by_post_is_never_deemed() -> None:
    document = transient(MADE, delivery=Delivery.POST)
    assert notification.status(document, MADE + timedelta(days=60)) == (None, None)


# --- deadlines -------------------------------------------------------------------------------

@pytest.mark.parametrize(("notified_at", "notified_on", "legal_aid_by", "appeal_by"), [
    (paris(2026, 3, 2, 10, 0), date(2026, 3, 2), date(2026, 3, 17), date(2026, 4, 2)),
    # No 31 February: the month's last day (CPC art. 641), 28 or 29.
    (paris(2026, 1, 31, 10, 0), date(2026, 1, 31), date(2026, 2, 15), date(2026, 2, 28)),
    (paris(2028, 1, 31, 10, 0), date(2028, 1, 31), date(2028, 2, 15), date(2028, 2, 29)),
    (paris(2026, 1, 29, 10, 0), date(2026, 1, 29), date(2026, 2, 13), date(2026, 2, 28)),
    (paris(2026, 3, 31, 10, 0), date(2026, 3, 31), date(2026, 4, 15), date(2026, 4, 30)),
    # Not the end of the month: the same day-number, never "the last day".
    (paris(2026, 2, 28, 10, 0), date(2026, 2, 28), date(2026, 3, 15), date(2026, 3, 28)),
    (paris(2026, 4, 30, 10, 0), date(2026, 4, 30), date(2026, 5, 15), date(2026, 5, 30)),
    # Across the year.
    (paris(2026, 12, 31, 10, 0), date(2026, 12, 31), date(2027, 1, 15), date(2027, 1, 31)),
    (paris(2026, 12, 20, 10, 0), date(2026, 12, 20), date(2027, 1, 4), date(2027, 1, 20)),
    # The Paris calendar decides the day: 23:30 UTC on 31 January is 1 February in Paris.
    (utc(2026, 1, 31, 23, 30), date(2026, 2, 1), date(2026, 2, 16), date(2026, 3, 1)),
    # And a deemed instant in the night of a clock change stays on its Paris day.
    (utc(2026, 3, 29, 1, 0), date(2026, 3, 29), date(2026, 4, 13), date(2026, 4, 29)),
])
def test_deadlines_of_a_decision(server_zone: str, notified_at: datetime, notified_on: date,
                                 legal_aid_by: date, appeal_by: date) -> None:
    assert notification.deadlines(notified_at) == notification.Deadlines(
        notified_on, legal_aid_by, appeal_by)


def test_add_months_clamps_to_the_end_of_the_month() -> None:
    assert notification.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert notification.add_months(date(2026, 5, 31), 1) == date(2026, 6, 30)
    assert notification.add_months(date(2026, 8, 31), 1) == date(2026, 9, 30)
    assert notification.add_months(date(2026, 11, 30), 2) == date(2027, 1, 30)
    assert notification.add_months(date(2026, 1, 15), 12) == date(2027, 1, 15)


# --- in the database: the first consultation, the job ----------------------------------------

def stored(db_session: Session, document: Document) -> Document:
    db_session.expire(document)
    return db_session.scalars(select(Document).where(Document.id == document.id)).one()


def test_first_consultation_is_written_once(app: Flask, db_session: Session,
                                            asylum_seeker: Person) -> None:
    document = builders.document(app, db_session, asylum_seeker, MADE)
    first = MADE + timedelta(days=2)
    assert notification.record_first_consultation(db_session, document, first) is True
    assert (document.first_consulted_at, document.notified_at, document.notification_method) \
        == (first, first, NotificationMethod.CONSULTATION)
    # Opened again, later, and after day 15: nothing moves.
    later = MADE + timedelta(days=20)
    assert notification.record_first_consultation(db_session, document, later) is False
    again = stored(db_session, document)
    assert (again.first_consulted_at, again.notified_at, again.notification_method) == \
        (first, first, NotificationMethod.CONSULTATION)


def test_first_consultation_is_never_overwritten_by_a_stale_copy(
        app: Flask, db_session: Session, asylum_seeker: Person) -> None:
    """Two tabs: the second still holds the document as unopened; the database decides."""
    document = builders.document(app, db_session, asylum_seeker, MADE)
    first = MADE + timedelta(days=1)
    db_session.execute(Document.__table__.update().where(Document.__table__.c.id == document.id)
                       .values(first_consulted_at=first, notified_at=first,
                               notification_method="consultation"))
    assert document.first_consulted_at is None  # the stale copy
    second = MADE + timedelta(days=3)
    assert notification.record_first_consultation(db_session, document, second) is False
    assert (document.first_consulted_at, document.notified_at) == (first, first)


def test_opened_after_day_15_before_the_job_ran_it_is_deemed(
        app: Flask, db_session: Session, asylum_seeker: Person) -> None:
    document = builders.document(app, db_session, asylum_seeker, MADE)
    opened = DEEMED + timedelta(hours=5)
    assert notification.record_first_consultation(db_session, document, opened) is True
    assert (document.first_consulted_at, document.notified_at, document.notification_method) \
        == (opened, DEEMED, NotificationMethod.DEEMED)


def test_opened_after_the_job_keeps_the_deemed_notification(
        app: Flask, db_session: Session, asylum_seeker: Person) -> None:
    document = builders.document(app, db_session, asylum_seeker, MADE)
    assert notification.mark_deemed(db_session, DEEMED) == 1
    opened = DEEMED + timedelta(days=1)
    notification.record_first_consultation(db_session, document, opened)
    assert (document.first_consulted_at, document.notified_at, document.notification_method) \
        == (opened, DEEMED, NotificationMethod.DEEMED)


def test_opening_a_letter_sent_by_post_records_the_fact_not_a_notification(
        app: Flask, db_session: Session, asylum_seeker: Person) -> None:
    document = builders.document(app, db_session, asylum_seeker, MADE, delivery=Delivery.POST)
    opened = MADE + timedelta(days=1)
    assert notification.record_first_consultation(db_session, document, opened) is True
    assert (document.first_consulted_at, document.notified_at) == (opened, None)


@pytest.mark.parametrize("server_zone_name", SERVER_ZONES)
def test_the_job_at_day_14_15_and_16(app: Flask, db_session: Session, asylum_seeker: Person,
                                     monkeypatch: pytest.MonkeyPatch,
                                     server_zone_name: str) -> None:
    monkeypatch.setenv("TZ", server_zone_name)
    time.tzset()
    try:
        document = builders.document(app, db_session, asylum_seeker, MADE)
        assert notification.mark_deemed(db_session, MADE + timedelta(days=14)) == 0
        assert notification.mark_deemed(db_session, DEEMED - SECOND) == 0
        assert stored(db_session, document).notified_at is None
        assert notification.mark_deemed(db_session, DEEMED) == 1
        marked = stored(db_session, document)
        assert (marked.notified_at, marked.notification_method) == \
            (DEEMED, NotificationMethod.DEEMED)
        assert marked.first_consulted_at is None
        # Day 16: nothing more to do, and the date does not move.
        assert notification.mark_deemed(db_session, MADE + timedelta(days=16)) == 0
        assert stored(db_session, document).notified_at == DEEMED
    finally:
        monkeypatch.undo()
        time.tzset()


def test_the_job_across_the_march_and_october_changes(app: Flask, db_session: Session,
                                                      asylum_seeker: Person) -> None:
    march = builders.document(app, db_session, asylum_seeker, paris(2026, 3, 14, 10, 0))
    october = builders.document(app, db_session, asylum_seeker, paris(2026, 10, 10, 10, 0))
    # 15 × 24 hours after March's making-available is an hour too late: deemed before that.
    assert notification.mark_deemed(db_session, utc(2026, 3, 29, 8, 0) - SECOND) == 0
    assert notification.mark_deemed(db_session, utc(2026, 3, 29, 8, 0)) == 1
    assert stored(db_session, march).notified_at == utc(2026, 3, 29, 8, 0)
    # 15 × 24 hours after October's is an hour too early.
    assert notification.mark_deemed(db_session, utc(2026, 10, 25, 8, 0)) == 0
    assert notification.mark_deemed(db_session, utc(2026, 10, 25, 9, 0) - SECOND) == 0
    assert notification.mark_deemed(db_session, utc(2026, 10, 25, 9, 0)) == 1
    assert stored(db_session, october).notified_at == utc(2026, 10, 25, 9, 0)


def test_the_job_leaves_opened_documents_and_queued_post_alone(
        app: Flask, db_session: Session, asylum_seeker: Person) -> None:
    opened = builders.document(app, db_session, asylum_seeker, MADE)
    notification.record_first_consultation(db_session, opened, MADE + timedelta(days=1))
    queued = builders.document(app, db_session, asylum_seeker, MADE, delivery=Delivery.POST)
    assert notification.mark_deemed(db_session, MADE + timedelta(days=40)) == 0
    assert stored(db_session, opened).notification_method is NotificationMethod.CONSULTATION
    assert stored(db_session, queued).notified_at is None


def test_the_job_gives_letters_sent_by_post_their_batch_date(
        app: Flask, db_session: Session, asylum_seeker: Person) -> None:
    sent_on = utc(2026, 6, 2, 14, 0)
    batch = PostBatch(created_at=sent_on, created_by="agent-1", document_count=1,
                      storage_key="0" * 40)
    db_session.add(batch)
    db_session.flush()
    document = builders.document(app, db_session, asylum_seeker, MADE, delivery=Delivery.POST,
                                 post_batch_id=batch.id)
    assert notification.mark_deemed(db_session, MADE + timedelta(days=2)) == 1
    marked = stored(db_session, document)
    assert (marked.notified_at, marked.notification_method) == \
        (sent_on, NotificationMethod.POST)


def test_with_time_machine_the_clock_of_the_server_does_not_matter(
        app: Flask, db_session: Session, asylum_seeker: Person) -> None:
    """The job reads `now` once; a server in New York decides as one in Paris would."""
    document = builders.document(app, db_session, asylum_seeker, paris(2026, 3, 14, 10, 0))
    with time_machine.travel(datetime(2026, 3, 29, 3, 59, 59,
                                      tzinfo=ZoneInfo("America/New_York")), tick=False):
        assert notification.mark_deemed(db_session, datetime.now(UTC)) == 0
    with time_machine.travel(datetime(2026, 3, 29, 4, 0, 0,
                                      tzinfo=ZoneInfo("America/New_York")), tick=False):
        assert notification.mark_deemed(db_session, datetime.now(UTC)) == 1
    assert stored(db_session, document).notified_at == utc(2026, 3, 29, 8, 0)
