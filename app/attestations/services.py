"""Issuing an attestation, issuing it again, and checking one a clerk was shown.

The record comes from `repository.record`, as the API answers it and the personal space shows
it; the attestation adds its holder and its terms, and a row (`Attestation`) keeps the digest of
its facts, so that `revocation.revoke_stale` can tell when they change. Nothing here commits.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from joserfc import jwk
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.attestations import payload, signing
from app.attestations.models import Attestation, AttestationRevocation
from app.db import Raw
from app.oauth.keys import KeyStore
from app.partners.services import PARIS
from app.people import records, repository


class Verdict(enum.StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    FORGED = "forged"


@dataclass(frozen=True)
class Issued:
    """A signed attestation: what the PDF shows and its QR code carries (`token`)."""

    terms: payload.Terms
    scope: str
    holder: payload.Holder
    record: records.Record
    key_id: str
    token: str


@dataclass(frozen=True)
class Check:
    """What a verifier learns from a token: the verdict and, unless forged, the signed facts."""

    verdict: Verdict
    reason: str | None = None
    attestation: Issued | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class Line:
    """One of the person's attestations, as their page lists it."""

    id: str
    scope: str
    issued_at: datetime
    valid_until: date
    state: Verdict
    revoked_at: datetime | None


def paris_day(moment: datetime) -> date:
    return moment.astimezone(PARIS).date()


def expiry(valid_until: date) -> datetime:
    """The moment an attestation valid until `valid_until` (inclusive) stops: midnight, Paris."""
    return datetime.combine(valid_until + timedelta(days=1), time(), tzinfo=PARIS)


def holder(raw: Raw, person_id: int) -> payload.Holder:
    return payload.holder(repository.identity(raw, person_id))


def issue(db_session: Session, keys: KeyStore, *, person_id: int, scope: str, now: datetime,
          validity_days: int, issuer: str) -> Issued:
    """Sign today's record of `scope` for the person, valid `validity_days` after today.

    Adds the Attestation row (flushed, not committed). Raises ValueError for an unknown scope.
    """
    if scope not in payload.QUESTIONS:
        raise ValueError(f"unknown scope {scope}")
    raw = Raw(db_session)
    today = paris_day(now)
    record = repository.record(raw, scope, person_id, today)
    person = holder(raw, person_id)
    key = keys.signing_key(signing.PURPOSE)
    valid_until = today + timedelta(days=validity_days)
    attestation = Attestation(person_id=person_id, scope=scope, issued_at=now,
                              expires_at=expiry(valid_until), key_id=key.kid,
                              record_digest=payload.digest(scope, person, record))
    db_session.add(attestation)
    db_session.flush()
    return _signed(payload.Terms(issuer, attestation.id, today, valid_until), scope, person,
                   record, key)


def reissue(db_session: Session, keys: KeyStore, *, person_id: int, attestation_id: str,
            now: datetime, issuer: str) -> Issued | None:
    """The same attestation again (same id, dates and facts, signed anew by the same key).

    Returns None if it is not this person's, is revoked or expired, its facts as of its date
    have changed since, or its key was retired.
    """
    attestation = db_session.scalars(select(Attestation).where(
        Attestation.id == attestation_id, Attestation.person_id == person_id)).first()
    if attestation is None or attestation.expires_at <= now \
            or db_session.get(AttestationRevocation, attestation.id) is not None:
        return None
    key = next((key for key in keys.keys(signing.PURPOSE) if key.kid == attestation.key_id),
               None)
    if key is None:
        return None
    raw = Raw(db_session)
    issued_on = paris_day(attestation.issued_at)
    record = repository.record(raw, attestation.scope, person_id, issued_on)
    person = holder(raw, person_id)
    if payload.digest(attestation.scope, person, record) != attestation.record_digest:
        return None
    valid_until = paris_day(attestation.expires_at) - timedelta(days=1)
    return _signed(payload.Terms(issuer, attestation.id, issued_on, valid_until),
                   attestation.scope, person, record, key)


def _signed(terms: payload.Terms, scope: str, person: payload.Holder, record: records.Record,
            key: jwk.Key) -> Issued:
    if key.kid is None:
        raise ValueError("an attestation key without a kid cannot be published")
    token = signing.sign(payload.claims(terms, scope, person, record), key)
    return Issued(terms, scope, person, record, key.kid, token)


def check(db_session: Session, keys: jwk.KeySet, token: str, *, now: datetime,
          issuer: str) -> Check:
    """The verdict on a token: forged, revoked, expired or valid, in that order of precedence.

    Forged covers every way a token can fail to be one of OFPRA's: the signature (see
    `signing.verify`), claims we do not write, another issuer, or an id OFPRA never issued
    with that key (a stolen key would still be caught here).
    """
    token = signing.clean(token)
    try:
        key_id, claims = signing.verify(token, keys)
        terms, scope, person, record = payload.read(claims)
    except signing.Forged as error:
        return Check(Verdict.FORGED, error.reason)
    except payload.Malformed:
        return Check(Verdict.FORGED, "malformed_claims")
    if terms.issuer != issuer:
        return Check(Verdict.FORGED, "wrong_issuer")
    row = db_session.get(Attestation, terms.id)
    if row is None or row.key_id != key_id or row.scope != scope:
        return Check(Verdict.FORGED, "unknown_attestation")
    signed = Issued(terms, scope, person, record, key_id, token)
    revocation = db_session.get(AttestationRevocation, terms.id)
    if revocation is not None:
        return Check(Verdict.REVOKED, attestation=signed, revoked_at=revocation.revoked_at)
    if paris_day(now) > terms.valid_until:
        return Check(Verdict.EXPIRED, attestation=signed)
    return Check(Verdict.VALID, attestation=signed)


def history(db_session: Session, person_id: int, now: datetime, limit: int = 20) -> list[Line]:
    """The person's latest attestations, newest first, each with its state today."""
    rows = db_session.execute(
        select(Attestation.id, Attestation.scope, Attestation.issued_at,
               Attestation.expires_at, AttestationRevocation.revoked_at)
        .outerjoin(AttestationRevocation,
                   AttestationRevocation.attestation_id == Attestation.id)
        .where(Attestation.person_id == person_id)
        .order_by(Attestation.issued_at.desc(), Attestation.id)
        .limit(limit)
    ).all()
    return [
        Line(row.id, row.scope, row.issued_at, paris_day(row.expires_at) - timedelta(days=1),
             Verdict.REVOKED if row.revoked_at is not None
             else Verdict.EXPIRED if row.expires_at <= now else Verdict.VALID,
             row.revoked_at)
        for row in rows
    ]
