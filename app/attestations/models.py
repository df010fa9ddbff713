"""Attestations issued to a person, and their revocations (an attestation is never edited)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class Attestation(Base):
    __tablename__ = "attestation"

    id: Mapped[str] = mapped_column(String(36), primary_key=True,
                                    default=lambda: str(uuid.uuid4()))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    scope: Mapped[str] = mapped_column(String(32))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    key_id: Mapped[str] = mapped_column(String(64))
    # SHA-256 of the record's facts when issued: when they change, the attestation is revoked.
    record_digest: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_attestation_person_id_scope", "person_id", "scope"),)


class AttestationRevocation(Base):
    __tablename__ = "attestation_revocation"

    attestation_id: Mapped[str] = mapped_column(ForeignKey("attestation.id"), primary_key=True)
    revoked_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    reason: Mapped[str] = mapped_column(String(64))
