"""What the authorization server remembers and decides: used assertion ids, revoked access
tokens, and for the person present, the consent screen, the consent and its single-use code.

Nothing here commits: the view that called it is the request's one commit point.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from joserfc import jwk, jwt
from joserfc.errors import JoseError
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from app.consents import services as consents
from app.db import Raw
from app.oauth.models import AuthorizationCode, RevokedToken, UsedAssertion
from app.partners.models import Habilitation, Partner
from app.people import records, repository
from consent import ledger
from consent.models import Consent, Method

ACCESS_TOKEN_TYPES = ("at+jwt", "application/at+jwt")


def remember_assertion(db_session: Session, client_id: str, jti: str,
                       expires_at: datetime) -> bool:
    """Record a client assertion's `jti`; return False if this client already used it.

    The unique constraint on (client_id, jti) decides, not a prior read, so two requests racing
    with the same assertion cannot both pass: the second waits for the first and then fails.
    """
    db_session.execute(delete(UsedAssertion).where(
        UsedAssertion.client_id == client_id, UsedAssertion.expires_at < datetime.now(UTC)))
    savepoint = db_session.begin_nested()
    try:
        db_session.add(UsedAssertion(client_id=client_id, jti=jti, expires_at=expires_at))
        db_session.flush()
    except IntegrityError:
        savepoint.rollback()
        return False
    savepoint.commit()
    return True


def read_access_token(token: str, keys: jwk.KeySet, algorithm: str, issuer: str,
                      audience: str, now: int) -> dict[str, Any] | None:
    """Return the claims of a live access token this server issued, or None for any other."""
    try:
        decoded = jwt.decode(token, keys, algorithms=[algorithm])
        if str(decoded.header.get("typ", "")).lower() not in ACCESS_TOKEN_TYPES:
            return None
        jwt.JWTClaimsRegistry(
            now=now, leeway=0,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True}, iat={"essential": True}, jti={"essential": True},
            client_id={"essential": True}, sub={"essential": True},
        ).validate(decoded.claims)
    except (JoseError, ValueError):
        return None
    return decoded.claims


def is_revoked(db_session: Session, jti: str) -> bool:
    return db_session.scalar(select(RevokedToken.jti).where(RevokedToken.jti == jti)) is not None


def revoke(db_session: Session, jti: str, client_id: str, expires_at: datetime) -> None:
    """Record that the access token `jti` is revoked until it expires (idempotent)."""
    savepoint = db_session.begin_nested()
    try:
        if db_session.get(RevokedToken, jti) is None:
            db_session.add(RevokedToken(jti=jti, client_id=client_id, expires_at=expires_at))
            db_session.flush()
    except IntegrityError:
        # Revoked meanwhile by a concurrent request: the outcome is the same.
        savepoint.rollback()
        return
    savepoint.commit()


# --- The person present: consent, code, pairwise subject ---------------------------------

# RFC 9700 and FAPI 2.0 bound a code's life; this service keeps it to 60 s.
CODE_LIFETIME = timedelta(seconds=60)
# A used or expired code is kept this long, so that its replay is recognised as such (and the
# token its first use gave is revoked) rather than taken for an unknown code.
CODE_KEPT = timedelta(hours=1)
# Who gave the consent, in the ledger: the person themself, signed in.
PERSON = "person"


def _mac(secret: str, purpose: str, *parts: str) -> str:
    message = "|".join((purpose, *parts)).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def code_digest(secret: str, code: str) -> str:
    """The only form in which a code is stored: HMAC-SHA256 under the application's secret."""
    return _mac(secret, "authorization-code", code)


def code_token_jti(secret: str, digest: str) -> str:
    """The `jti` of the access token a code gives, derived from the code, so that a replay
    of the code can revoke that token without the code's row naming it."""
    return _mac(secret, "authorization-code-token", digest)[:32]


def pairwise_subject(secret: str, client_id: str, person_id: int) -> str:
    """The token's `sub` for this person at this partner: stable for the pair, different for
    each partner, and nothing that OFPRA or another partner knows the person by."""
    return _mac(secret, "pairwise-subject", client_id, str(person_id))


@dataclass(frozen=True)
class Grantor:
    """The person who accepted, as Authlib's "user": the token's subject is their pseudonym."""

    person_id: int
    consent_id: str
    subject: str = ""
    jti: str = ""

    def get_user_id(self) -> str:
        return self.subject


@dataclass(frozen=True)
class Basis:
    legal_basis: str
    legal_basis_url: str
    purpose: str


@dataclass(frozen=True)
class ConsentScreen:
    """What the person is shown before accepting: who, what exactly, why, for how long."""

    partner_name: str
    records: tuple[tuple[str, records.Record], ...]
    bases: tuple[Basis, ...]
    days: int
    until: datetime


# The partner does not (or no longer) ask consent for these scopes.
NotConsentable = consents.NotConsentable


def consent_days(db_session: Session, partner: Partner, scopes: Sequence[str], today: date,
                 wanted: int) -> int:
    """Return how long a consent for `scopes` lasts: `wanted` days, within every scope's limit.

    Raises NotConsentable if a scope is not asked with consent by a habilitation in force.
    """
    allowed = consents.consentable_scopes(db_session, partner, today)
    missing = [scope for scope in scopes if allowed.get(scope, 0) < 1]
    if missing or not scopes:
        raise NotConsentable(f"{partner.name} does not ask consent for {' '.join(missing)}")
    return min(wanted, *(allowed[scope] for scope in scopes))


def _bases(partner: Partner, scopes: Sequence[str], today: date) -> tuple[Basis, ...]:
    """The habilitations in force under which the partner asks these scopes with consent."""
    found: list[Basis] = []
    for habilitation in partner.habilitations:
        in_force = habilitation.valid_from <= today and (
            habilitation.valid_until is None or today <= habilitation.valid_until)
        if in_force and any(item.scope in scopes and item.consent_required
                            for item in habilitation.scopes):
            basis = Basis(habilitation.legal_basis, habilitation.legal_basis_url,
                          habilitation.purpose)
            if basis not in found:
                found.append(basis)
    return tuple(found)


def _partner(db_session: Session, partner_id: int) -> Partner:
    partner = db_session.scalars(
        select(Partner).where(Partner.id == partner_id).options(
            selectinload(Partner.habilitations).selectinload(Habilitation.scopes))
    ).one_or_none()
    if partner is None:
        raise NotConsentable("this partner no longer exists")
    return partner


def consent_screen(db_session: Session, *, partner_id: int, person_id: int,
                   scopes: Sequence[str], wanted_days: int, now: datetime,
                   today: date) -> ConsentScreen:
    """Build what the person will be shown: the very records the partner would receive.

    Raises NotConsentable if the partner may not ask these scopes with consent today.
    """
    partner = _partner(db_session, partner_id)
    days = consent_days(db_session, partner, scopes, today, wanted_days)
    raw = Raw(db_session)
    shown = tuple((scope, repository.record(raw, scope, person_id, today)) for scope in scopes)
    return ConsentScreen(partner.name, shown, _bases(partner, scopes, today), days,
                         now + timedelta(days=days))


def accept(db_session: Session, *, partner_id: int, person_id: int, scopes: Sequence[str],
           days: int, now: datetime, today: date) -> Consent:
    """Record the consent the person just gave to the partner, signed in (flushed).

    Lasts `days` at most, never longer than the habilitation allows today; raises
    NotConsentable (or the ledger's ConsentError) if it cannot be given.
    """
    partner = _partner(db_session, partner_id)
    days = consent_days(db_session, partner, scopes, today, days)
    purpose = "\n".join(basis.purpose for basis in _bases(partner, scopes, today))
    return consents.give(db_session, person_id=person_id, partner=partner, scopes=scopes,
                         days=days, purpose=purpose, method=Method.AUTHORIZATION_CODE,
                         collected_by=PERSON, now=now, today=today)


def save_code(db_session: Session, *, digest: str, client_id: str, person_id: int,
              consent_id: str, redirect_uri: str, scope: str, code_challenge: str,
              now: datetime) -> AuthorizationCode:
    """Store a new code's digest and what it is bound to; it expires CODE_LIFETIME later."""
    db_session.execute(delete(AuthorizationCode).where(
        AuthorizationCode.expires_at < now - CODE_KEPT))
    code = AuthorizationCode(code_digest=digest, client_id=client_id, person_id=person_id,
                             consent_id=consent_id, redirect_uri=redirect_uri, scope=scope,
                             code_challenge=code_challenge, created_at=now,
                             expires_at=now + CODE_LIFETIME)
    db_session.add(code)
    db_session.flush()
    return code


class CodeState(enum.StrEnum):
    VALID = "valid"
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


def use_code(db_session: Session, digest: str, client_id: str,
             now: datetime) -> tuple[CodeState, AuthorizationCode | None]:
    """Mark the client's code used, once; say whether it was valid, used before, or expired.

    One conditional UPDATE decides, not a prior read, so two requests racing with the same
    code cannot both succeed: the second waits for the first's row lock, then finds it used.
    A code is used up by its first presentation even if that exchange then fails (wrong
    verifier or redirect URI): it is never tried twice.
    """
    marked = db_session.execute(
        update(AuthorizationCode)
        .where(AuthorizationCode.code_digest == digest, AuthorizationCode.client_id == client_id,
               AuthorizationCode.used_at.is_(None), AuthorizationCode.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    code = db_session.scalars(
        select(AuthorizationCode)
        .where(AuthorizationCode.code_digest == digest, AuthorizationCode.client_id == client_id)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if code is None:
        return CodeState.UNKNOWN, None
    if marked.rowcount == 1:  # type: ignore[attr-defined]  # a CursorResult for an UPDATE
        return CodeState.VALID, code
    if code.used_at is not None:
        return CodeState.USED, code
    return CodeState.EXPIRED, code


def consent_in_force(db_session: Session, consent_id: str, partner_id: int,
                     scopes: Sequence[str], at: datetime) -> bool:
    """Return whether consent `consent_id` still covers every scope for this partner."""
    return all(ledger.in_force(db_session, consent_id=consent_id, partner_id=partner_id,
                               scope=scope, at=at) is not None for scope in scopes)
