"""Accounts, activation notices, one-time codes and sign-in throttles.

Nothing here stores a secret in clear: passwords are argon2id hashes; connection keys and
codes are HMAC-SHA256 digests under the application's SECRET_KEY (they are random, so a fast
keyed hash suffices); throttles are keyed by an HMAC of the identifier, so a throttle row says
nothing of whether the identifier exists.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, str_enum, utcnow
from app.people.models import Person


class Account(Base):
    __tablename__ = "account"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    email_verified_at: Mapped[datetime | None]
    phone: Mapped[str | None] = mapped_column(String(20))  # E.164
    phone_verified_at: Mapped[datetime | None]
    language: Mapped[str] = mapped_column(String(8), default="fr")
    activated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Bumped on password change and sign-out everywhere: older sessions stop being valid.
    session_generation: Mapped[int] = mapped_column(default=0)

    person: Mapped[Person] = relationship()


class ActivationNotice(Base):
    """The paper notice's one-time connection key, issued by OFPRA (or the GUDA)."""

    __tablename__ = "activation_notice"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    key_digest: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    issued_by: Mapped[str] = mapped_column(String(100))


class CodePurpose(enum.StrEnum):
    VERIFY_EMAIL = "verify_email"
    VERIFY_PHONE = "verify_phone"
    RESET_PASSWORD = "reset_password"  # noqa: S105 (a purpose name, not a password)


class OneTimeCode(Base):
    """A short code sent to a contact: to verify it, or to reset the password."""

    __tablename__ = "one_time_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    purpose: Mapped[CodePurpose] = mapped_column(str_enum(CodePurpose, "code_purpose"))
    # The contact the code was sent to (it must still be that contact when the code is used).
    sent_to: Mapped[str] = mapped_column(String(254))
    code_digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)


class Throttle(Base):
    """Failures of activation or sign-in for one identifier (keyed), slowing then locking it."""

    __tablename__ = "throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]
