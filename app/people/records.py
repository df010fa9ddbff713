"""The three records, built here and nowhere else.

The partner API serialises them, the personal space shows them, attestations seal them: a
record never exists in two versions. Builders take plain facts (see repository.py), so that
the hot path and the ORM-backed pages give the very same object. Nationality, country of
origin, grounds and reasons of end are not among the facts: no record can leak them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from app.people.models import Relation


@dataclass(frozen=True)
class ProtectionFacts:
    kind: str
    granted_on: date
    ended_on: date | None


@dataclass(frozen=True)
class FileFacts:
    status: str
    family_form_received_on: date | None
    expected_by: date | None
    established_on: date | None


@dataclass(frozen=True)
class IdentityFacts:
    birth_name: str
    usage_name: str | None
    given_names: Sequence[str]
    sex: str
    birth_date: date
    birth_date_precision: str


@dataclass(frozen=True)
class ActFacts:
    kind: str
    number: str
    established_on: date


@dataclass(frozen=True)
class RelativeFacts:
    relation: str
    unknown: bool
    birth_name: str | None
    given_names: Sequence[str] | None
    birth_date: date | None
    birth_date_precision: str | None


@dataclass(frozen=True)
class ProtectionStatusRecord:
    as_of: date
    protected: bool
    protection: str | None
    protected_since: date | None


@dataclass(frozen=True)
class CivilStatusProgressRecord:
    as_of: date
    status: str
    family_form_received_on: date | None
    expected_by: date | None
    within_delay: bool | None
    established_on: date | None


@dataclass(frozen=True)
class Identity:
    birth_name: str
    usage_name: str | None
    given_names: list[str]
    sex: str
    birth_date: str
    birth_date_precision: str


@dataclass(frozen=True)
class Relative:
    relation: str
    unknown: bool
    birth_name: str | None = None
    given_names: list[str] | None = None
    birth_date: str | None = None
    birth_date_precision: str | None = None


@dataclass(frozen=True)
class Act:
    kind: str
    number: str
    established_on: date


@dataclass(frozen=True)
class CivilStatusRecord:
    as_of: date
    established: bool
    identity: Identity | None = None
    acts: list[Act] = field(default_factory=list)
    family: list[Relative] = field(default_factory=list)


Record = ProtectionStatusRecord | CivilStatusProgressRecord | CivilStatusRecord


def partial_date(value: date, precision: str) -> str:
    """Write a date only as far as it is known; never invent a month or a day."""
    text = value.isoformat()
    return {"year": text[:4], "month": text[:7], "day": text}[precision]


def protection_status(protections: Sequence[ProtectionFacts],
                      as_of: date) -> ProtectionStatusRecord:
    """Is the person protected on `as_of`? A protection counts from its grant to its end."""
    in_force = [
        protection for protection in protections
        if protection.granted_on <= as_of
        and (protection.ended_on is None or as_of < protection.ended_on)
    ]
    if not in_force:
        return ProtectionStatusRecord(as_of, False, None, None)
    current = max(in_force, key=lambda protection: protection.granted_on)
    return ProtectionStatusRecord(as_of, True, current.kind, current.granted_on)


def civil_status_progress(file: FileFacts | None, as_of: date) -> CivilStatusProgressRecord:
    """Is OFPRA establishing the civil status, since when, and within its delay on `as_of`?"""
    if file is None:
        return CivilStatusProgressRecord(as_of, "none", None, None, None, None)
    within = None
    if file.status != "established" and file.expected_by is not None:
        within = as_of <= file.expected_by
    return CivilStatusProgressRecord(
        as_of, file.status, file.family_form_received_on, file.expected_by, within,
        file.established_on,
    )


def civil_status(identity: IdentityFacts, file: FileFacts | None, acts: Sequence[ActFacts],
                 relatives: Sequence[RelativeFacts], as_of: date) -> CivilStatusRecord:
    """The definitive identity and family links, once OFPRA has established them."""
    if file is None or file.status != "established":
        return CivilStatusRecord(as_of, False)
    order = {Relation.PARENT.value: 0, Relation.SPOUSE.value: 1, Relation.CHILD.value: 2}
    family = [
        Relative(relative.relation, True) if relative.unknown else Relative(
            relative.relation, False, relative.birth_name,
            list(relative.given_names or []),
            partial_date(relative.birth_date, relative.birth_date_precision or "day")
            if relative.birth_date else None,
            relative.birth_date_precision if relative.birth_date else None,
        )
        for relative in sorted(relatives, key=lambda relative: order[relative.relation])
    ]
    return CivilStatusRecord(
        as_of,
        True,
        Identity(identity.birth_name, identity.usage_name, list(identity.given_names),
                 identity.sex, partial_date(identity.birth_date, identity.birth_date_precision),
                 identity.birth_date_precision),
        [Act(act.kind, act.number, act.established_on) for act in acts],
        family,
    )
