"""Appending to the journal, in the caller's transaction: no entry, no answer.

Each entry carries the SHA-256 of its canonical form; sealing (sealing.py) builds Merkle trees
over these hashes, so appending never waits on a global lock.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from app.db import Raw

FIELDS = ("at", "request_id", "partner_id", "client_id", "scope", "recipient", "outcome",
          "basis", "habilitation_id", "consent_id", "person_id", "subject_key")


@dataclass(frozen=True)
class Entry:
    at: datetime
    request_id: str
    partner_id: int | None
    client_id: str
    scope: str
    recipient: str | None
    outcome: str
    basis: str | None
    habilitation_id: int | None
    consent_id: str | None
    person_id: int | None
    subject_key: str

    def __post_init__(self) -> None:
        # The database gives `at` back in UTC: hash it in UTC, or verification would differ.
        if self.at.tzinfo is None:
            raise ValueError("a journal entry's time must be aware")
        if self.at.utcoffset():
            object.__setattr__(self, "at", self.at.astimezone(UTC))

    def values(self) -> dict[str, object]:
        # Not dataclasses.asdict: it deep-copies every field, on every request.
        return {name: getattr(self, name) for name in FIELDS}

    def canonical(self) -> bytes:
        values = self.values()
        values["at"] = self.at.isoformat(timespec="microseconds")
        return json.dumps([values[name] for name in FIELDS], separators=(",", ":")).encode()

    def digest(self) -> bytes:
        return hashlib.sha256(self.canonical()).digest()


def pseudonym(key: str, canonical_inputs: str) -> str:
    """A keyed pseudonym of lookup inputs: stable for equal inputs, irreversible without the key."""
    return hmac.new(key.encode(), canonical_inputs.encode(), hashlib.sha256).hexdigest()


_COLUMNS = ", ".join((*FIELDS, "entry_hash"))
_VALUES = ", ".join(":" + name for name in (*FIELDS, "entry_hash"))
# Built from constants only; the values are bound parameters.
_INSERT = f"INSERT INTO journal_entry ({_COLUMNS}) VALUES ({_VALUES})"  # noqa: S608


def append(raw: Raw, entry: Entry) -> None:
    """Insert the entry in the current transaction; the caller's commit makes it durable."""
    raw.execute(_INSERT, **entry.values(), entry_hash=entry.digest())
