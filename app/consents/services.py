"""Consents given by a person to a partner, checked against what its habilitation allows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.partners.models import Habilitation, HabilitationScope, Partner
from consent import ledger
from consent.models import Consent, Method


class NotConsentable(ledger.ConsentError):
    """The partner's habilitation does not ask consent for this scope, or not for so long."""


def consentable_scopes(db_session: Session, partner: Partner,
                       today: date) -> dict[str, int]:
    """Scopes this partner may ask with consent today, with the longest consent in days."""
    rows = db_session.execute(
        select(HabilitationScope.scope, HabilitationScope.max_consent_days)
        .join(Habilitation)
        .where(Habilitation.partner_id == partner.id, HabilitationScope.consent_required,
               Habilitation.valid_from <= today)
        .where((Habilitation.valid_until.is_(None)) | (Habilitation.valid_until >= today))
    ).all()
    allowed: dict[str, int] = {}
    for scope, days in rows:
        allowed[scope] = max(allowed.get(scope, 0), days or 0)
    return allowed


def give(db_session: Session, *, person_id: int, partner: Partner, scopes: Sequence[str],
         days: int, purpose: str, method: Method, collected_by: str, now: datetime,
         today: date) -> Consent:
    """Record a consent within the habilitation's limits; raise NotConsentable otherwise."""
    allowed = consentable_scopes(db_session, partner, today)
    for scope in scopes:
        if scope not in allowed:
            raise NotConsentable(f"{partner.name} does not ask consent for {scope}")
        if days > allowed[scope]:
            raise NotConsentable(f"a consent for {scope} lasts at most {allowed[scope]} days")
    if days < 1:
        raise NotConsentable("a consent lasts at least one day")
    return ledger.give(db_session, person_id=person_id, partner_id=partner.id, scopes=scopes,
                       purpose=purpose, granted_at=now, expires_at=now + timedelta(days=days),
                       method=method, collected_by=collected_by)
