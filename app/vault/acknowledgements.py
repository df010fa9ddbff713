"""Acknowledgements: what OFPRA is told of each document's notification.

For each document: when it was made available, when it was first consulted, and when and how
it was notified — at its first consultation, or deemed 15 days after it was made available
(CESEDA R.531-17), or by post. The date and the method come from `notification.status`, the
one place the rule lives: what is recorded wins, otherwise it is computed for `now`, so an
acknowledgement is right even before the deemed-notification job has run. `notified_on` is
the day of the notification in Paris, from which the deadlines count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.notify.models import OutboxMessage
from app.vault import notification
from app.vault.deposit import ALERT_TEMPLATE
from app.vault.models import Delivery, Document, DocumentType, NotificationMethod


@dataclass(frozen=True)
class Acknowledgement:
    document_id: str
    person_id: int
    type: DocumentType
    delivery: Delivery
    made_available_at: datetime
    first_consulted_at: datetime | None
    notified_at: datetime | None  # None: not notified yet
    notified_on: date | None
    method: NotificationMethod | None
    # The deposit's alerts: (channel, "sent" | "pending" | "failed", when sent or failed).
    alerts: tuple[Alert, ...] = ()


@dataclass(frozen=True)
class Alert:
    channel: str
    state: str
    at: datetime | None


@dataclass(frozen=True)
class Page:
    items: list[Acknowledgement]
    total: int


def of(document: Document, now: datetime,
       alerts: tuple[Alert, ...] = ()) -> Acknowledgement:
    """Return the acknowledgement of `document` as of `now`."""
    notified_at, method = notification.status(document, now)
    return Acknowledgement(
        document.id, document.person_id, document.type, document.delivery,
        document.made_available_at, document.first_consulted_at, notified_at,
        notified_at.astimezone(notification.PARIS).date() if notified_at else None, method,
        alerts)


def alerts_of(db_session: Session, documents: list[Document]) -> dict[str, tuple[Alert, ...]]:
    """The deposit alerts of each document (one query), so OFPRA sees a permanent failure."""
    if not documents:
        return {}
    rows = db_session.execute(
        select(OutboxMessage.person_id, OutboxMessage.created_at, OutboxMessage.channel,
               OutboxMessage.sent_at, OutboxMessage.failed_at)
        .where(OutboxMessage.template == ALERT_TEMPLATE,
               OutboxMessage.person_id.in_({document.person_id for document in documents}),
               OutboxMessage.created_at.in_({document.made_available_at
                                             for document in documents}))
        .order_by(OutboxMessage.id)
    ).all()
    found: dict[tuple[int | None, datetime], list[Alert]] = {}
    for person_id, created_at, channel, sent_at, failed_at in rows:
        state = "sent" if sent_at else "failed" if failed_at else "pending"
        found.setdefault((person_id, created_at), []).append(
            Alert(str(channel), state, sent_at or failed_at))
    return {document.id: tuple(found.get((document.person_id, document.made_available_at), []))
            for document in documents}


def for_document(db_session: Session, document_id: str, now: datetime) -> Acknowledgement | None:
    """Return the document's acknowledgement, or None if there is no such document."""
    document = db_session.get(Document, document_id)
    if document is None:
        return None
    return of(document, now, alerts_of(db_session, [document])[document.id])


def listing(db_session: Session, now: datetime, *, person_id: int | None = None,
            deposited_from: date | None = None, deposited_until: date | None = None,
            page: int = 1, page_size: int = 50) -> Page:
    """Return one page of acknowledgements, oldest deposit first (then by id: a stable order).

    `deposited_from` and `deposited_until` are days in Paris, both included.
    """
    conditions = []
    if person_id is not None:
        conditions.append(Document.person_id == person_id)
    if deposited_from is not None:
        conditions.append(Document.made_available_at >= _paris_midnight(deposited_from))
    if deposited_until is not None:
        conditions.append(
            Document.made_available_at < _paris_midnight(deposited_until + timedelta(days=1)))
    total = db_session.scalar(select(func.count()).select_from(Document).where(*conditions))
    documents = list(db_session.scalars(
        select(Document).where(*conditions)
        .order_by(Document.made_available_at, Document.id)
        .limit(page_size).offset((page - 1) * page_size)))
    alerts = alerts_of(db_session, documents)
    return Page([of(document, now, alerts[document.id]) for document in documents],
                int(total or 0))


def _paris_midnight(day: date) -> datetime:
    """The first instant of `day` in Paris (midnight is never skipped there)."""
    return notification.first_instant_showing(datetime.combine(day, time()))
