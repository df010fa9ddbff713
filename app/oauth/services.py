"""What the authorization server remembers: used assertion ids and revoked access tokens.

Nothing here commits: the view that called it is the request's one commit point.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from joserfc import jwk, jwt
from joserfc.errors import JoseError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.oauth.models import RevokedToken, UsedAssertion

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
