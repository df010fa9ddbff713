"""What the authorization server must remember: used assertion ids and revoked tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
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
