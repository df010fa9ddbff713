"""When a document counts as notified, and the deadlines a decision's notification opens.

No Flask here: every function takes the moment `now` it decides for (an aware datetime).

Deemed notification (CESEDA R.531-17, formerly R.723-19)
---------------------------------------------------------
A document made available in the personal space is notified on its first consultation or, if
never opened, when 15 days have passed since it was made available — whichever comes first.
"15 days after" is computed on the Paris calendar and clock (the law's, whatever the server's
zone), exactly:

    deemed instant = the first instant at which the Paris clock shows the day and time of the
                     making-available, 15 calendar days later.

So a document made available on 20 March 2026 at 10:00 (CET) is deemed notified on 4 April
2026 at 10:00 (CEST): the same wall-clock time, 15 days later, even though only 14 days and 23
hours of absolute time separate them. Around the clock changes, "first instant at which the
clock shows it" settles the two odd cases:
- October (clocks go back, 02:00–03:00 happens twice): the first of the two instants;
- March (clocks go forward, 02:00–03:00 never happens): the instant the clock jumps, 03:00 CEST.
The deemed instant therefore never moves backwards when the making-available moves forwards,
and it never falls on a date other than "made available on + 15 days".

A consultation strictly before the deemed instant notifies at the consultation; one at or after
it changes nothing (the document was already notified). Documents sent by post are notified by
post (`post.py`), never deemed: `notified_at` is the post batch's date, method "post".

Deadlines of a decision (what the personal space shows)
-------------------------------------------------------
From the notification date D (the Paris calendar date of `notified_at`):
- legal-aid request: within 15 days of notification (loi n° 91-647 of 10 July 1991, art. 9-4,
  as amended by loi n° 2018-778: a request made within them suspends the appeal deadline)
  → D + 15 days. The day of notification does not count (CPC art. 641 al. 1), so the 15 days
  run from D + 1 to D + 15 included.
- appeal to the CNDA: "un mois" from notification (CESEDA L.532-1) → the same day-number of the
  next month, clamped to that month's last day when it has no such day (CPC art. 641 al. 2:
  "à défaut d'un quantième identique, le délai expire le dernier jour du mois"). Notified on
  31 January → 28 (or 29) February; on 30 March → 30 April; on 15 May → 15 June.

These are the *nominal* last days, on purpose: administrative-law deadlines are "francs" (the
day of the event and the last day do not count, which can add a day) and a deadline ending on a
Saturday, Sunday or public holiday runs to the next working day. Either only lengthens the
deadline; a date shown to a person must never be later than the real one, so the page never
relies on them. Overseas residents' extra month ("délai de distance") does not arise here:
they are excluded from the personal space and get their letters by post.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.vault.models import Delivery, Document, NotificationMethod, PostBatch

PARIS = ZoneInfo("Europe/Paris")
DEEMED_AFTER_DAYS = 15
LEGAL_AID_DAYS = 15
APPEAL_MONTHS = 1
# The deemed instant is at most a few hours from made_available_at + 15 days (a clock change):
# the job's query takes a day's margin and decides each document exactly.
_MARGIN = timedelta(days=1)


def _paris_wall(moment: datetime) -> datetime:
    """The Paris clock's reading at `moment`, as a naive datetime."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime given where an aware one is required")
    return moment.astimezone(PARIS).replace(tzinfo=None)


def first_instant_showing(wall: datetime, zone: ZoneInfo = PARIS) -> datetime:
    """Return (in UTC) the first instant at which `zone`'s clock shows `wall` or later.

    An ordinary time gives its one instant; a time shown twice (clocks set back) the first of
    the two; a time never shown (clocks set forward) the instant the clock jumps over it.
    """
    first = wall.replace(tzinfo=zone, fold=0)  # PEP 495: fold=0 is the earlier instant
    if _wall_in(first.astimezone(UTC), zone) == wall:
        return first.astimezone(UTC)
    # In a gap: fold=1 reads the time with the offset after the change (an instant before the
    # jump), fold=0 with the offset before it (an instant after). Bisect between, to the second.
    before = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    after = first.astimezone(UTC)
    while after - before > timedelta(seconds=1):
        middle = before + (after - before) / 2
        middle = middle.replace(microsecond=0)
        if _wall_in(middle, zone) >= wall:
            after = middle
        else:
            before = middle
    return after


def _wall_in(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


def deemed_at(made_available_at: datetime) -> datetime:
    """Return the instant (UTC) a document never opened counts as notified (see the module)."""
    return first_instant_showing(
        _paris_wall(made_available_at) + timedelta(days=DEEMED_AFTER_DAYS))


class Dated(Protocol):
    """What `status` reads of a document: a Document, or a row of these columns (never the
    title nor the content, for the pages of support structures)."""

    @property
    def delivery(self) -> Delivery: ...

    @property
    def made_available_at(self) -> datetime: ...

    @property
    def first_consulted_at(self) -> datetime | None: ...

    @property
    def notified_at(self) -> datetime | None: ...

    @property
    def notification_method(self) -> NotificationMethod | None: ...


def status(document: Dated, now: datetime) -> tuple[datetime | None,
                                                    NotificationMethod | None]:
    """Return (notified_at, method) as of `now`, or (None, None) if not notified yet.

    What is recorded wins (it is what OFPRA was told); otherwise it is computed from the rule,
    so a page is right even before `mark_deemed` has run. Documents by post are notified only
    once sent (recorded by `post.batch`).
    """
    if document.notified_at is not None:
        return document.notified_at, document.notification_method
    if document.delivery == Delivery.POST:
        return None, None
    deemed = deemed_at(document.made_available_at)
    consulted = document.first_consulted_at
    if consulted is not None and consulted < deemed:
        return consulted, NotificationMethod.CONSULTATION
    if now >= deemed:
        return deemed, NotificationMethod.DEEMED
    return None, None


@dataclass(frozen=True)
class Deadlines:
    """The dates a decision's notification opens, on the Paris calendar (last days included)."""

    notified_on: date
    legal_aid_by: date
    appeal_by: date


def add_months(day: date, months: int) -> date:
    """The same day-number `months` later, or that month's last day if it has no such day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def deadlines(notified_at: datetime) -> Deadlines:
    """Return the legal-aid and CNDA appeal deadlines of a decision notified at `notified_at`."""
    notified_on = notified_at.astimezone(PARIS).date()
    return Deadlines(notified_on=notified_on,
                     legal_aid_by=notified_on + timedelta(days=LEGAL_AID_DAYS),
                     appeal_by=add_months(notified_on, APPEAL_MONTHS))


def record_first_consultation(db_session: Session, document: Document, now: datetime) -> bool:
    """Record that the person opened `document` at `now`; return True if this was the first time.

    The first consultation is written once and never overwritten (a conditional UPDATE, so two
    tabs opening it at once record one). If the document is online and not yet notified, it is
    notified too: at `now` by consultation, or at its deemed instant if that has already passed
    (the job may not have run yet). Flushes, never commits; `document` is refreshed.
    """
    first = db_session.execute(
        update(Document)
        .where(Document.id == document.id, Document.first_consulted_at.is_(None))
        .values(first_consulted_at=now)
        .execution_options(synchronize_session=False))
    recorded = first.rowcount == 1  # type: ignore[attr-defined]
    if recorded and document.delivery == Delivery.ONLINE:
        deemed = deemed_at(document.made_available_at)
        notified, method = ((now, NotificationMethod.CONSULTATION) if now < deemed
                            else (deemed, NotificationMethod.DEEMED))
        db_session.execute(
            update(Document)
            .where(Document.id == document.id, Document.notified_at.is_(None))
            .values(notified_at=notified, notification_method=method)
            .execution_options(synchronize_session=False))
    db_session.refresh(document)
    return recorded


def mark_deemed(db_session: Session, now: datetime) -> int:
    """Record the notifications that are due and not yet recorded; return how many.

    Online documents never opened whose deemed instant has come get that instant, method
    "deemed"; documents sent by post get their batch's date, method "post". Each row is
    updated only while `notified_at` is still empty, so a consultation recorded meanwhile
    wins. Flushes, never commits.
    """
    marked = 0
    due = db_session.execute(
        select(Document.id, Document.made_available_at, Document.first_consulted_at)
        .where(Document.notified_at.is_(None), Document.delivery == Delivery.ONLINE,
               Document.made_available_at <= now - timedelta(days=DEEMED_AFTER_DAYS) + _MARGIN)
        .order_by(Document.made_available_at)
    ).all()
    for document_id, made_available_at, consulted in due:
        deemed = deemed_at(made_available_at)
        if consulted is not None and consulted < deemed:
            # Opened, but its notification was not recorded (it always is, with the
            # consultation): record what the rule says rather than leave it empty.
            notified, method = consulted, NotificationMethod.CONSULTATION
        elif now >= deemed:
            notified, method = deemed, NotificationMethod.DEEMED
        else:
            continue
        marked += _notify(db_session, document_id, notified, method)
    sent = db_session.execute(
        select(Document.id, PostBatch.created_at)
        .join(PostBatch, PostBatch.id == Document.post_batch_id)
        .where(Document.notified_at.is_(None), Document.delivery == Delivery.POST)
    ).all()
    for document_id, batch_date in sent:
        marked += _notify(db_session, document_id, batch_date, NotificationMethod.POST)
    return marked


def _notify(db_session: Session, document_id: str, at: datetime,
            method: NotificationMethod) -> int:
    result = db_session.execute(
        update(Document)
        .where(Document.id == document_id, Document.notified_at.is_(None))
        .values(notified_at=at, notification_method=method)
        .execution_options(synchronize_session=False))
    return int(result.rowcount)  # type: ignore[attr-defined]
