"""Who does a lookup name? `found`, `not_found` or `ambiguous`, never a guess.

Names are compared after normalisation (case, accents, hyphens and apostrophes, order of given
names), never fuzzily: "Marie-Hélène" matches "MARIE HELENE", "Hélène Marie" too, "Marie-Helen"
does not.
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date


class Outcome(enum.StrEnum):
    FOUND = "found"
    NOT_FOUND = "not_found"
    AMBIGUOUS = "ambiguous"


@dataclass(frozen=True)
class Lookup:
    ofpra_number: str | None = None
    agdref_number: str | None = None
    birth_date: str | None = None  # YYYY, YYYY-MM or YYYY-MM-DD as the partner knows it
    birth_name: str | None = None
    given_names: tuple[str, ...] | None = None

    def canonical(self) -> str:
        """The normalised inputs, the text the journal's keyed pseudonym is computed over."""
        names = " ".join(sorted(name_tokens(self.given_names or ())))
        return "|".join([self.ofpra_number or "", self.agdref_number or "",
                         self.birth_date or "", normalise(self.birth_name or ""), names])


@dataclass(frozen=True)
class Candidate:
    """What matching needs to know of a person."""

    id: int
    birth_name: str
    usage_name: str | None
    given_names: Sequence[str]
    birth_date: date
    birth_date_precision: str


def normalise(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    for separator in "-'’‐‑.":
        bare = bare.replace(separator, " ")
    return " ".join(bare.casefold().split())


def name_tokens(names: Iterable[str]) -> list[str]:
    return [token for name in names for token in normalise(name).split()]


def birth_date_agrees(given: str, stored: date, precision: str) -> bool:
    """Compare at the precision both sides know: a year-only act agrees with any day of it."""
    parts = given.split("-")
    known = {"year": 1, "month": 2, "day": 3}[precision]
    stored_parts = [f"{stored.year:04d}", f"{stored.month:02d}", f"{stored.day:02d}"]
    depth = min(len(parts), known)
    if len(parts) < known and precision == "day":
        # The partner knows less than the act: not enough to confirm a strong identifier.
        return False
    return parts[:depth] == stored_parts[:depth]


def agrees(lookup: Lookup, candidate: Candidate) -> bool:
    if lookup.birth_date and not birth_date_agrees(
        lookup.birth_date, candidate.birth_date, candidate.birth_date_precision
    ):
        return False
    if lookup.birth_name:
        wanted = normalise(lookup.birth_name)
        names = {normalise(candidate.birth_name)}
        if candidate.usage_name:
            names.add(normalise(candidate.usage_name))
        if wanted not in names:
            return False
    if lookup.given_names:
        if sorted(name_tokens(lookup.given_names)) != sorted(name_tokens(candidate.given_names)):
            return False
    return True


def decide(lookup: Lookup, candidates: Iterable[Candidate]) -> tuple[Outcome, Candidate | None]:
    """Return (found, the person), (not_found, None) or (ambiguous, None)."""
    matching = [candidate for candidate in candidates if agrees(lookup, candidate)]
    if not matching:
        return Outcome.NOT_FOUND, None
    if len(matching) > 1:
        return Outcome.AMBIGUOUS, None
    return Outcome.FOUND, matching[0]
