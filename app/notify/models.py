"""The outbox: a message is queued in the transaction that causes it, sent after commit.

Messages never carry a document's content: phones are often shared.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, str_enum, utcnow


class Channel(enum.StrEnum):
    EMAIL = "email"
    SMS = "sms"


class OutboxMessage(Base):
    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[Channel] = mapped_column(
        str_enum(Channel, "channel", length=8)
    )
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(254))
    # A template name and its parameters, rendered in `language` when sent.
    template: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]  # a permanent failure: no more attempts
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        # The worker's queue: what is neither sent nor failed, by due time.
        Index("ix_outbox_message_due", "sent_at", "failed_at", "next_attempt_at"),
    )
