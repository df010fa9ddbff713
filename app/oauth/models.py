"""What the authorization server must remember: used assertion ids and revoked tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, utcnow


class UsedAssertion(Base):
    """A client assertion's `jti`, kept until the assertion expires, so it is never replayed."""

    __tablename__ = "used_assertion"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(String(64))
    jti: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(index=True)

    __table_args__ = (UniqueConstraint("client_id", "jti"),)


class RevokedToken(Base):
    """An access token revoked before its expiry (RFC 7009)."""

    __tablename__ = "revoked_token"

    jti: Mapped[str] = mapped_column(String(128), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuthorizationCode(Base):
    """A single-use authorization code (≤ 60 s) for a person present on a partner's website.

    Bound to the client, the exact redirect URI, the PKCE S256 challenge, the person and the
    consent the person just gave; stored as a digest, never in clear.
    """

    __tablename__ = "authorization_code"

    code_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    consent_id: Mapped[str] = mapped_column(ForeignKey("consent.id"))
    redirect_uri: Mapped[str] = mapped_column(String(500))
    scope: Mapped[str] = mapped_column(String(200))
    code_challenge: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
