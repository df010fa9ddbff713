"""Access-token verification for the API: local, cached, no database round trip per call.

Tokens are RFC 9068 JWTs signed by OFPRA's access-token key. A verified token is cached until
it expires (a partner reuses one token for its whole lifetime, so the signature is checked
once). Revocations are read from the database at most every REVOCATION_CACHE_SECONDS.

A token from the authorization code flow is bound to a person through a consent: its `sub` is
a pairwise pseudonym and its `consent_id` names the consent. With such a token the body names
no one (the consent's person is the subject), and identifiers in it are refused.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app, g, request
from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy import select

from app import errors
from app.oauth.models import RevokedToken
from schemas import lookups

CACHE_SIZE = 10_000


@dataclass(frozen=True)
class Caller:
    """Who is calling: the client, its scopes, and the person when a person is present.

    `consent_id` is set only for a person-bound token (authorization code flow): the consent
    the person gave, whose person every answer is about; `subject` is then their pseudonym.
    """

    client_id: str
    scopes: frozenset[str]
    jti: str
    expires_at: float
    subject: str
    consent_id: str | None = None


class Verifier:
    def __init__(self, app: Flask) -> None:
        self.issuer = app.config["OAUTH_ISSUER"]
        self.audience = app.config["API_AUDIENCE"]
        self.keys = app.extensions["ofpra.keys"]
        self.db = app.extensions["ofpra.db"]
        self.revocation_ttl = app.config["REVOCATION_CACHE_SECONDS"]
        self._cache: dict[str, Caller] = {}
        self._revoked: frozenset[str] = frozenset()
        self._revoked_read_at = float("-inf")
        self._lock = threading.Lock()

    def verify(self, token: str) -> Caller:
        """Return the caller of a valid token; raise Unauthenticated otherwise."""
        now = time.time()
        caller = self._cache.get(token)
        if caller is None:
            caller = self._decode(token, now)
            if len(self._cache) >= CACHE_SIZE:
                self._cache = {t: c for t, c in self._cache.items() if c.expires_at > now}
            self._cache[token] = caller
        if caller.expires_at <= now:
            self._cache.pop(token, None)
            raise errors.Unauthenticated("The access token has expired.")
        if caller.jti in self._revoked_jtis(now):
            raise errors.Unauthenticated("The access token was revoked.")
        return caller

    def _decode(self, token: str, now: float) -> Caller:
        try:
            decoded = jwt.decode(token, self.keys.key_set("access-token"),
                                 algorithms=[self.keys.algorithm("access-token")])
        except (JoseError, ValueError) as error:
            raise errors.Unauthenticated("The access token is not valid.") from error
        if decoded.header.get("typ", "").lower() not in ("at+jwt", "application/at+jwt"):
            raise errors.Unauthenticated("This is not an access token (typ must be at+jwt).")
        registry = jwt.JWTClaimsRegistry(
            now=int(now), leeway=5,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.audience},
            exp={"essential": True}, iat={"essential": True},
            jti={"essential": True}, client_id={"essential": True},
            sub={"essential": True},
        )
        try:
            registry.validate(decoded.claims)
        except JoseError as error:
            raise errors.Unauthenticated("The access token is not valid.") from error
        claims: dict[str, Any] = decoded.claims
        consent_id = claims.get("consent_id")
        if consent_id is not None and (not isinstance(consent_id, str) or not consent_id):
            raise errors.Unauthenticated("The access token is not valid.")
        return Caller(str(claims["client_id"]), frozenset(str(claims.get("scope", "")).split()),
                      str(claims["jti"]), float(claims["exp"]), str(claims["sub"]), consent_id)

    def _revoked_jtis(self, now: float) -> frozenset[str]:
        if now - self._revoked_read_at >= self.revocation_ttl:
            with self._lock:
                if now - self._revoked_read_at >= self.revocation_ttl:
                    with self.db.sessions() as db_session:
                        jtis = db_session.scalars(select(RevokedToken.jti).where(
                            RevokedToken.expires_at > datetime.now(UTC))).all()
                    self._revoked = frozenset(jtis)
                    self._revoked_read_at = now
        return self._revoked

    def forget(self) -> None:
        """Drop cached verifications and revocations (tests, key rotation)."""
        self._cache.clear()
        self._revoked_read_at = float("-inf")


def verifier() -> Verifier:
    return current_app.extensions["ofpra.tokens"]  # type: ignore[no-any-return]


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise errors.Unauthenticated("Send the access token as 'Authorization: Bearer <token>'.")
    return token.strip()


def require(scope: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Admit only a valid token carrying `scope`; the caller is then in `g.caller`.

    For a person-bound token, the body is then parsed as naming no one (schemas.lookups).
    """

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            caller = verifier().verify(bearer_token())
            if scope not in caller.scopes:
                raise errors.InsufficientScope(
                    f"This question needs the '{scope}' scope.",
                    headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", '
                                                 f'scope="{scope}"'})
            g.caller = caller
            with lookups.person_bound(caller.consent_id is not None):
                return view(*args, **kwargs)

        return wrapper

    return decorate


def init_app(app: Flask) -> None:
    app.extensions["ofpra.tokens"] = Verifier(app)
