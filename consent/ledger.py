"""The consent ledger: give, withdraw, expire — each an event appended, nothing overwritten."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from consent.models import Consent, ConsentEvent, EventKind, Method


class ConsentError(Exception):
    """A ledger operation that the consent's state does not allow."""


class ConsentNotFound(ConsentError):
    pass


class ConsentClosed(ConsentError):
    """The consent was already withdrawn or has expired."""


class State(enum.StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


def give(session: Session, *, person_id: int, partner_id: int, scopes: Sequence[str],
         purpose: str, granted_at: datetime, expires_at: datetime, method: Method,
         collected_by: str) -> Consent:
    """Record a consent and its `given` event; return the consent."""
    if not scopes:
        raise ConsentError("a consent names at least one scope")
    if expires_at <= granted_at:
        raise ConsentError("a consent must expire after it is granted")
    consent = Consent(person_id=person_id, partner_id=partner_id, scopes=" ".join(sorted(scopes)),
                      purpose=purpose, granted_at=granted_at, expires_at=expires_at,
                      method=method, collected_by=collected_by)
    session.add(consent)
    session.flush()
    session.add(ConsentEvent(consent_id=consent.id, kind=EventKind.GIVEN, at=granted_at,
                             actor=collected_by))
    session.flush()
    return consent


def state(consent: Consent, at: datetime) -> State:
    """The consent's state at `at`, from its events and its expiry."""
    for event in consent.events:
        if event.kind == EventKind.WITHDRAWN and event.at <= at:
            return State.WITHDRAWN
    if at >= consent.expires_at:
        return State.EXPIRED
    return State.ACTIVE


def withdraw(session: Session, consent_id: str, *, at: datetime, actor: str) -> ConsentEvent:
    """Append a `withdrawn` event; refuse if the consent is not active at `at`."""
    consent = session.get(Consent, consent_id)
    if consent is None:
        raise ConsentNotFound(consent_id)
    current = state(consent, at)
    if current is not State.ACTIVE:
        raise ConsentClosed(f"consent {consent_id} is {current}")
    event = ConsentEvent(consent_id=consent_id, kind=EventKind.WITHDRAWN, at=at, actor=actor)
    session.add(event)
    session.flush()
    return event


def record_expiries(session: Session, now: datetime) -> int:
    """Append an `expired` event to every consent past its expiry that has none; return how many.

    The policy reads `expires_at` itself, so an expiry bites at once; this keeps the ledger's
    history complete for the person and the DPO.
    """
    closed = exists().where(
        and_(ConsentEvent.consent_id == Consent.id,
             ConsentEvent.kind.in_([EventKind.WITHDRAWN, EventKind.EXPIRED]))
    )
    due = session.scalars(select(Consent).where(Consent.expires_at <= now, ~closed)).all()
    for consent in due:
        session.add(ConsentEvent(consent_id=consent.id, kind=EventKind.EXPIRED,
                                 at=consent.expires_at, actor="system"))
    session.flush()
    return len(due)


def active_consent_id(session: Session, *, person_id: int, partner_id: int, scope: str,
                      at: datetime) -> str | None:
    """Return the id of a consent covering `scope` at `at`, or None if withdrawn or expired."""
    withdrawn = exists().where(
        and_(ConsentEvent.consent_id == Consent.id, ConsentEvent.kind == EventKind.WITHDRAWN,
             ConsentEvent.at <= at)
    )
    candidates = session.execute(
        select(Consent.id, Consent.scopes).where(
            Consent.person_id == person_id, Consent.partner_id == partner_id,
            Consent.granted_at <= at, Consent.expires_at > at, ~withdrawn,
        ).order_by(Consent.granted_at.desc())
    ).all()
    for consent_id, scopes in candidates:
        if scope in scopes.split():
            return str(consent_id)
    return None


def in_force(session: Session, *, consent_id: str, partner_id: int, scope: str,
             at: datetime) -> int | None:
    """Return the person of consent `consent_id` if it covers `scope` for `partner_id` at `at`.

    None if the consent is unknown, given to another partner, lacks the scope, is not yet
    granted, has expired or was withdrawn: a person-bound token answers only while its own
    consent is in force.
    """
    withdrawn = exists().where(
        and_(ConsentEvent.consent_id == Consent.id, ConsentEvent.kind == EventKind.WITHDRAWN,
             ConsentEvent.at <= at)
    )
    row = session.execute(
        select(Consent.person_id, Consent.scopes).where(
            Consent.id == consent_id, Consent.partner_id == partner_id,
            Consent.granted_at <= at, Consent.expires_at > at, ~withdrawn,
        )
    ).one_or_none()
    if row is None or scope not in row.scopes.split():
        return None
    return int(row.person_id)


def for_person(session: Session, person_id: int) -> list[Consent]:
    """Every consent the person gave, newest first."""
    return list(session.scalars(
        select(Consent).where(Consent.person_id == person_id)
        .order_by(Consent.granted_at.desc())
    ).all())


__all__ = ["ConsentError", "ConsentNotFound", "ConsentClosed", "Method", "State", "give",
           "withdraw", "record_expiries", "active_consent_id", "in_force", "for_person",
           "state"]
