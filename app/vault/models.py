"""Documents deposited for a person, and the dates the law attaches to them.

A document's bytes live outside the database (storage.py), encrypted with a key of their own
that the master key wraps. `first_consulted_at` is written once, never overwritten; the
notification date follows from it or from the 15 days of CESEDA R.531-17 (notification.py).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, str_enum, utcnow


class DocumentType(enum.StrEnum):
    INTRODUCTION_LETTER = "introduction_letter"
    SIX_MONTH_LETTER = "six_month_letter"
    CONVOCATION = "convocation"
    CONVOCATION_CANCELLATION = "convocation_cancellation"
    INTERVIEW_TRANSCRIPT = "interview_transcript"
    DECISION = "decision"
    RENOTIFICATION = "renotification"
    OTHER_LETTER = "other_letter"


class DecisionOutcome(enum.StrEnum):
    REFUGEE_STATUS = "refugee_status"
    SUBSIDIARY_PROTECTION = "subsidiary_protection"
    STATELESSNESS = "statelessness"
    REFUSAL = "refusal"
    INADMISSIBILITY = "inadmissibility"
    CLOSURE = "closure"
    WITHDRAWAL = "withdrawal"


class Delivery(enum.StrEnum):
    ONLINE = "online"  # the personal space, with alerts
    POST = "post"  # excluded or taken out: the print queue


class NotificationMethod(enum.StrEnum):
    CONSULTATION = "consultation"  # opened by the person
    DEEMED = "deemed"  # 15 days after it was made available, never opened
    POST = "post"


class Document(Base):
    __tablename__ = "document"

    id: Mapped[str] = mapped_column(String(36), primary_key=True,
                                    default=lambda: str(uuid.uuid4()))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    type: Mapped[DocumentType] = mapped_column(str_enum(DocumentType, "document_type"))
    title: Mapped[str] = mapped_column(String(200))
    # Convocations: when and where the interview takes place.
    interview_at: Mapped[datetime | None]
    interview_place: Mapped[str | None] = mapped_column(String(300))
    decision_outcome: Mapped[DecisionOutcome | None] = mapped_column(
        str_enum(DecisionOutcome, "decision_outcome"))
    delivery: Mapped[Delivery] = mapped_column(str_enum(Delivery, "delivery"))
    made_available_at: Mapped[datetime]
    first_consulted_at: Mapped[datetime | None]
    notified_at: Mapped[datetime | None]
    notification_method: Mapped[NotificationMethod | None] = mapped_column(
        str_enum(NotificationMethod, "notification_method"))
    # Storage: where the ciphertext is, its AES-GCM nonce and wrapped key, the plaintext's hash.
    storage_key: Mapped[str] = mapped_column(String(200))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary(128))
    key_id: Mapped[str] = mapped_column(String(64))  # which master key wrapped it
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    # The same deposit sent twice is stored once: the client's key and the request's digest.
    deposited_by: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(128))
    request_digest: Mapped[str] = mapped_column(String(64))
    post_batch_id: Mapped[int | None] = mapped_column(ForeignKey("post_batch.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_document_person_id_made_available_at", "person_id", "made_available_at"),
        Index("uq_document_deposited_by_idempotency_key", "deposited_by", "idempotency_key",
              unique=True),
        # The deemed-notification job: what is online, unopened and not yet notified.
        Index("ix_document_due", "notified_at", "made_available_at"),
    )


class PostBatch(Base):
    """One PDF to print: an address sheet and the letter, for each document sent by post."""

    __tablename__ = "post_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))
    document_count: Mapped[int]
    storage_key: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
