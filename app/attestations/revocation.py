"""Revoking attestations whose facts changed, and the signed list that tells offline verifiers.

An attestation says what OFPRA would answer on the day it was issued. When the facts behind
it change (a protection ends, the civil status is established, a name is corrected, the
expected date of the documents passes), the record it carries is no longer the one OFPRA would
give: `revoke_stale` revokes it (reason `facts_changed`). Whoever changes facts calls it in the
same transaction; `flask attestations revoke-stale` runs it as a job for the changes that come
with time alone. Nothing here commits.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.attestations import payload, services, signing
from app.attestations.models import Attestation, AttestationRevocation
from app.db import Raw
from app.oauth.keys import KeyStore
from app.people import repository

FACTS_CHANGED = "facts_changed"


def revoke_stale(db_session: Session, person_id: int | None, now: datetime) -> int:
    """Revoke the person's live attestations (everyone's if None) whose facts differ today.

    Compares each live (unexpired, unrevoked) attestation's record_digest with the digest of
    the record as it reads on `now`'s date in Paris; returns how many were revoked.
    """
    # The caller's changes must be visible to the plain-SQL reads of the records.
    db_session.flush()
    query = (
        select(Attestation)
        .outerjoin(AttestationRevocation,
                   AttestationRevocation.attestation_id == Attestation.id)
        .where(AttestationRevocation.attestation_id.is_(None), Attestation.expires_at > now)
        .order_by(Attestation.person_id, Attestation.scope, Attestation.id)
    )
    if person_id is not None:
        query = query.where(Attestation.person_id == person_id)
    raw = Raw(db_session)
    today = services.paris_day(now)
    current: dict[tuple[int, str], str] = {}
    revoked = 0
    for attestation in db_session.scalars(query).all():
        key = (attestation.person_id, attestation.scope)
        if key not in current:
            record = repository.record(raw, attestation.scope, attestation.person_id, today)
            current[key] = payload.digest(attestation.scope,
                                          services.holder(raw, attestation.person_id), record)
        if current[key] != attestation.record_digest:
            db_session.add(AttestationRevocation(attestation_id=attestation.id, revoked_at=now,
                                                 reason=FACTS_CHANGED))
            revoked += 1
    db_session.flush()
    return revoked


def revoked_ids(db_session: Session, now: datetime) -> list[str]:
    """Ids of the revoked attestations not yet expired (an expired one is refused anyway)."""
    return list(db_session.scalars(
        select(AttestationRevocation.attestation_id)
        .join(Attestation, Attestation.id == AttestationRevocation.attestation_id)
        .where(Attestation.expires_at > now)
        .order_by(AttestationRevocation.attestation_id)
    ))


def published_list(db_session: Session, keys: KeyStore, *, now: datetime, issuer: str,
                   hours: float) -> dict[str, Any]:
    """The revocation list as published: a flattened JSON JWS over

    {"iss", "issued_at", "next_update", "revoked": [ids]}, signed with the attestation key;
    verifiers fetch a new one by `next_update`.
    """
    body = {
        "iss": issuer,
        "issued_at": _instant(now),
        "next_update": _instant(now + timedelta(hours=hours)),
        "revoked": revoked_ids(db_session, now),
    }
    return signing.sign_json(body, keys.signing_key(signing.PURPOSE))


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
