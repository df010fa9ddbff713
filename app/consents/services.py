"""Consents given by a person to a partner, checked against what its habilitation allows.

Also what the person's consent page reads: the partners that may ask with consent today
(`offers`), the choices of duration, and the person's consents with their state (`history`).
Nothing here commits: the CLI command or the view does, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session, selectinload

from app.partners.models import Habilitation, HabilitationScope, Partner
from app.partners.services import PARIS
from consent import ledger
from consent.models import Consent, EventKind, Method

# What the person may choose, in days: 1 month, 3 months, 6 months, 1 year — those the
# habilitation allows. Short consents are the default of data minimisation.
DURATIONS = (30, 90, 180, 365)


class NotConsentable(ledger.ConsentError):
    """The partner's habilitation does not ask consent for this scope, or not for so long."""


class AlreadyGiven(ledger.ConsentError):
    """A consent to this partner for this scope is already active."""


class UnknownPartner(ledger.ConsentError):
    """No active partner has this id."""


def _in_force(today: date) -> tuple[ColumnElement[bool], ...]:
    return (Habilitation.valid_from <= today,
            or_(Habilitation.valid_until.is_(None), Habilitation.valid_until >= today))


def consent_limits(db_session: Session, partner_id: int, today: date) -> dict[str, int]:
    """Scopes this partner may ask with consent today, with the longest consent in days."""
    rows = db_session.execute(
        select(HabilitationScope.scope, HabilitationScope.max_consent_days)
        .join(Habilitation)
        .where(Habilitation.partner_id == partner_id, HabilitationScope.consent_required,
               *_in_force(today))
    ).all()
    allowed: dict[str, int] = {}
    for scope, days in rows:
        allowed[scope] = max(allowed.get(scope, 0), days or 0)
    return allowed


def consentable_scopes(db_session: Session, partner: Partner,
                       today: date) -> dict[str, int]:
    """Scopes this partner may ask with consent today, with the longest consent in days."""
    return consent_limits(db_session, partner.id, today)


def check_consentable(allowed: dict[str, int], partner_name: str, scopes: Sequence[str],
                      days: int) -> None:
    """Raise NotConsentable unless every scope may be consented to for `days` days."""
    for scope in scopes:
        if scope not in allowed:
            raise NotConsentable(f"{partner_name} does not ask consent for {scope}")
        if days > allowed[scope]:
            raise NotConsentable(f"a consent for {scope} lasts at most {allowed[scope]} days")
    if days < 1:
        raise NotConsentable("a consent lasts at least one day")


def give(db_session: Session, *, person_id: int, partner: Partner, scopes: Sequence[str],
         days: int, purpose: str, method: Method, collected_by: str, now: datetime,
         today: date) -> Consent:
    """Record a consent within the habilitation's limits; raise NotConsentable otherwise."""
    check_consentable(consentable_scopes(db_session, partner, today), partner.name, scopes,
                      days)
    return ledger.give(db_session, person_id=person_id, partner_id=partner.id, scopes=scopes,
                       purpose=purpose, granted_at=now, expires_at=now + timedelta(days=days),
                       method=method, collected_by=collected_by)


def duration_choices(max_days: int) -> tuple[int, ...]:
    """The durations offered under a limit of `max_days`: the usual ones, else the limit."""
    if max_days < 1:
        return ()
    return tuple(days for days in DURATIONS if days <= max_days) or (max_days,)


# --- what the person's consent page shows ---------------------------------------------------

@dataclass(frozen=True)
class OfferedScope:
    scope: str
    max_days: int
    durations: tuple[int, ...]


@dataclass(frozen=True)
class Offer:
    """A partner that may ask with consent today, under one habilitation, and for what."""

    partner_id: int
    partner_name: str
    partner_kind: str
    siret: str
    habilitation_id: int
    legal_basis: str
    legal_basis_url: str
    purpose: str
    retention_days: int
    scopes: tuple[OfferedScope, ...]


def offers(db_session: Session, today: date) -> list[Offer]:
    """Every active partner that may ask with consent today, by name, one entry per habilitation.

    A scope granted by several habilitations of one partner is offered once, under the one
    that allows the longest consent (the one `give` checks against).
    """
    rows = db_session.execute(
        select(Partner.id, Partner.name, Partner.kind, Partner.siret, Habilitation.id,
               Habilitation.legal_basis, Habilitation.legal_basis_url, Habilitation.purpose,
               Habilitation.retention_days, HabilitationScope.scope,
               HabilitationScope.max_consent_days)
        .join(Habilitation, Habilitation.partner_id == Partner.id)
        .join(HabilitationScope, HabilitationScope.habilitation_id == Habilitation.id)
        .where(Partner.active, HabilitationScope.consent_required, *_in_force(today))
        .order_by(Partner.name, Partner.id, Habilitation.id, HabilitationScope.scope)
    ).all()
    best: dict[tuple[int, str], tuple[int, int]] = {}
    for row in rows:
        key, days = (row[0], row[9]), row[10] or 0
        if days >= 1 and (key not in best or days > best[key][1]):
            best[key] = (row[4], days)
    found: dict[int, Offer] = {}
    for (partner_id, name, kind, siret, habilitation_id, basis, url, purpose, retention,
         scope, _days) in rows:
        chosen = best.get((partner_id, scope))
        if chosen is None or chosen[0] != habilitation_id:
            continue
        offered = OfferedScope(scope, chosen[1], duration_choices(chosen[1]))
        offer = found.get(habilitation_id)
        found[habilitation_id] = Offer(
            partner_id, name, kind.value, siret, habilitation_id, basis, url, purpose,
            retention, (*offer.scopes, offered) if offer else (offered,))
    return list(found.values())


@dataclass(frozen=True)
class ConsentLine:
    """One consent as the person reads it, with its state now."""

    id: str
    partner_id: int
    partner_name: str
    scopes: tuple[str, ...]
    purpose: str
    granted_at: datetime
    expires_at: datetime
    method: str
    state: ledger.State
    withdrawn_at: datetime | None


def history(db_session: Session, person_id: int, now: datetime) -> list[ConsentLine]:
    """Every consent the person gave, newest first, with its state at `now`."""
    rows = db_session.execute(
        select(Consent, Partner.name)
        .join(Partner, Partner.id == Consent.partner_id)
        .where(Consent.person_id == person_id)
        .options(selectinload(Consent.events))
        .order_by(Consent.granted_at.desc(), Consent.id)
    ).all()
    return [
        ConsentLine(
            consent.id, consent.partner_id, name, tuple(consent.scope_list), consent.purpose,
            consent.granted_at, consent.expires_at, consent.method.value,
            ledger.state(consent, now),
            next((event.at for event in consent.events
                  if event.kind == EventKind.WITHDRAWN and event.at <= now), None),
        )
        for consent, name in rows
    ]


# --- what the person does online ------------------------------------------------------------

def give_online(db_session: Session, *, person_id: int, partner_id: int, scope: str, days: int,
                now: datetime, today: date) -> Consent:
    """Record the person's own consent, given online, to one partner for one scope.

    The purpose is the habilitation's. Raises UnknownPartner, AlreadyGiven while a consent
    for this scope is active, or NotConsentable if the habilitation does not allow it.
    """
    partner = db_session.get(Partner, partner_id)
    if partner is None or not partner.active:
        raise UnknownPartner(str(partner_id))
    if days not in duration_choices(consent_limits(db_session, partner_id, today).get(scope, 0)):
        raise NotConsentable(f"{days} days is not a duration offered for {scope}")
    if ledger.active_consent_id(db_session, person_id=person_id, partner_id=partner_id,
                                scope=scope, at=now) is not None:
        raise AlreadyGiven(scope)
    habilitation = habilitation_asking(db_session, partner_id, [scope], today)
    return give(db_session, person_id=person_id, partner=partner, scopes=[scope], days=days,
                purpose=habilitation.purpose if habilitation else "", method=Method.ONLINE,
                collected_by="person", now=now, today=today)


def withdraw_online(db_session: Session, *, person_id: int, consent_id: str,
                    now: datetime) -> None:
    """Withdraw one of the person's own consents; it bites on the partner's next call.

    Raises ConsentNotFound if the consent is not this person's, ConsentClosed if it is no
    longer active.
    """
    consent = db_session.get(Consent, consent_id)
    if consent is None or consent.person_id != person_id:
        raise ledger.ConsentNotFound(consent_id)
    ledger.withdraw(db_session, consent_id, at=now, actor="person")


def habilitation_asking(db_session: Session, partner_id: int, scopes: Sequence[str],
                       on: date) -> Habilitation | None:
    """The habilitation under which this partner asks consent for `scopes` on date `on`.

    The one allowing the longest consent when several do; None if none is in force.
    """
    return db_session.scalars(
        select(Habilitation).join(HabilitationScope)
        .where(Habilitation.partner_id == partner_id, HabilitationScope.scope.in_(scopes),
               HabilitationScope.consent_required, *_in_force(on))
        .order_by(HabilitationScope.max_consent_days.desc(), Habilitation.id)
    ).first()


def habilitation_for(db_session: Session, consent: Consent) -> Habilitation | None:
    """The habilitation under which this consent was asked: in force on its grant date.

    Falls back on the partner's most recent one asking consent for its scopes, if that
    habilitation has ended since. None if the partner never had one.
    """
    granted = consent.granted_at.astimezone(PARIS).date()
    found = habilitation_asking(db_session, consent.partner_id, consent.scope_list, granted)
    if found is not None:
        return found
    return db_session.scalars(
        select(Habilitation).join(HabilitationScope)
        .where(Habilitation.partner_id == consent.partner_id,
               HabilitationScope.scope.in_(consent.scope_list),
               HabilitationScope.consent_required)
        .order_by(Habilitation.valid_from.desc(), Habilitation.id.desc())
    ).first()
