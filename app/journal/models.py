"""Journal entries (append-only) and the seals that close them into signed batches."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, utcnow


class JournalEntry(Base):
    """One answer or refusal. No foreign keys, on purpose: each would take a KEY SHARE lock on
    the referenced row at every insert (the partner's row is the same for all its calls, and
    the person's page is dirtied, then written whole to the WAL after each checkpoint), which
    measured as the cost that grows with the number of people (bench/README.md). The ids are
    written by the service from rows it has just read, and the seals make any later change
    of an entry detectable."""

    __tablename__ = "journal_entry"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    request_id: Mapped[str] = mapped_column(String(64))
    partner_id: Mapped[int | None] = mapped_column()
    client_id: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str | None] = mapped_column(String(14))
    # found, not_found, ambiguous, or refused:<code>.
    outcome: Mapped[str] = mapped_column(String(48))
    # legal_basis or consent; with the habilitation or the consent that allowed the answer.
    basis: Mapped[str | None] = mapped_column(String(16))
    habilitation_id: Mapped[int | None] = mapped_column()
    consent_id: Mapped[str | None] = mapped_column(String(36))
    # The person the answer was about, when one was found: for the person's own "who saw my data".
    person_id: Mapped[int | None] = mapped_column()
    # HMAC of the normalised lookup inputs: the same inputs give the same pseudonym, and
    # nothing in the journal gives the identifiers back.
    subject_key: Mapped[str] = mapped_column(String(64))
    # SHA-256 of the entry's canonical form, the leaf of its seal's Merkle tree.
    entry_hash: Mapped[bytes] = mapped_column(LargeBinary(32))

    __table_args__ = (
        Index("ix_journal_entry_person_id_id", "person_id", "id"),
        Index("ix_journal_entry_partner_id_at", "partner_id", "at"),
    )


class JournalSeal(Base):
    __tablename__ = "journal_seal"

    id: Mapped[int] = mapped_column(primary_key=True)
    first_entry_id: Mapped[int] = mapped_column(BigId)
    last_entry_id: Mapped[int] = mapped_column(BigId)
    entry_count: Mapped[int]
    merkle_root: Mapped[bytes] = mapped_column(LargeBinary(32))
    previous_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    # SHA-256 over (id, range, count, root, previous_hash, sealed_at): what the next seal chains to.
    seal_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    signature: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[datetime] = mapped_column(default=utcnow)
