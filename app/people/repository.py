"""Reading people's facts for matching and records, in plain SQL (a hot path).

Every function takes a `db.Raw` bound to the caller's session, so reads and the journal entry
that follows them share one transaction.
"""

from __future__ import annotations

from app.db import Raw, as_date, as_json
from app.people import matching, records

_IDENTITY = (
    "SELECT id, birth_name, usage_name, given_names, birth_date, birth_date_precision, sex "
    "FROM person "
)


def _candidate(row: tuple) -> matching.Candidate:  # type: ignore[type-arg]
    return matching.Candidate(
        id=row[0], birth_name=row[1], usage_name=row[2], given_names=as_json(row[3]),
        birth_date=as_date(row[4]), birth_date_precision=row[5],  # type: ignore[arg-type]
    )


def candidates(raw: Raw, lookup: matching.Lookup) -> list[matching.Candidate]:
    """People carrying the lookup's strong identifier (several only for unmerged files)."""
    if lookup.ofpra_number:
        rows = raw.rows(_IDENTITY + "WHERE ofpra_number = :number", number=lookup.ofpra_number)
    else:
        rows = raw.rows(_IDENTITY + "WHERE agdref_number = :number", number=lookup.agdref_number)
    return [_candidate(row) for row in rows]


# The facts of the two frequent questions, read with the candidates in the same statement: one
# round trip instead of two. (civil_status, rarer, reads four tables after the match.)
_WITH_FACTS = {
    "protection_status": (
        "SELECT p.id, p.birth_name, p.usage_name, p.given_names, p.birth_date, "
        "p.birth_date_precision, p.sex, x.kind, x.granted_on, x.ended_on "
        "FROM person p LEFT JOIN protection x ON x.person_id = p.id "
    ),
    "civil_status_progress": (
        "SELECT p.id, p.birth_name, p.usage_name, p.given_names, p.birth_date, "
        "p.birth_date_precision, p.sex, x.status, x.family_form_received_on, x.expected_by, "
        "x.established_on FROM person p LEFT JOIN civil_status_file x ON x.person_id = p.id "
    ),
}
_ORDER = {"protection_status": "ORDER BY p.id, x.granted_on", "civil_status_progress": ""}


class Found:
    """Candidates for a lookup, with the facts of a scope when one statement could read them."""

    def __init__(self, scope: str) -> None:
        self.scope = scope
        self.candidates: list[matching.Candidate] = []
        self.facts: dict[int, list[tuple]] = {}  # type: ignore[type-arg]

    def record(self, raw: Raw, person_id: int, as_of: records.date) -> records.Record:
        """The scope's record for one of the candidates, from the facts already read."""
        rows = self.facts.get(person_id)
        if rows is None:
            return record(raw, self.scope, person_id, as_of)
        if self.scope == "protection_status":
            return records.protection_status(
                [records.ProtectionFacts(kind, as_date(granted), as_date(ended))  # type: ignore[arg-type]
                 for kind, granted, ended in rows if kind is not None], as_of)
        status, received, expected, established = rows[0]
        return records.civil_status_progress(
            None if status is None else records.FileFacts(
                status, as_date(received), as_date(expected), as_date(established)), as_of)


def candidates_with_facts(raw: Raw, lookup: matching.Lookup, scope: str) -> Found:
    """Like `candidates`, reading also the scope's facts of each candidate when it can."""
    found = Found(scope)
    select = _WITH_FACTS.get(scope)
    if select is None:
        found.candidates = candidates(raw, lookup)
        return found
    if lookup.ofpra_number:
        rows = raw.rows(select + "WHERE p.ofpra_number = :number " + _ORDER[scope],
                        number=lookup.ofpra_number)
    else:
        rows = raw.rows(select + "WHERE p.agdref_number = :number " + _ORDER[scope],
                        number=lookup.agdref_number)
    for row in rows:
        facts = found.facts.get(row[0])
        if facts is None:
            facts = found.facts[row[0]] = []
            found.candidates.append(_candidate(row))
        facts.append(row[7:])
    return found


def identity(raw: Raw, person_id: int) -> records.IdentityFacts:
    row = raw.rows(_IDENTITY + "WHERE id = :id", id=person_id)[0]
    return records.IdentityFacts(row[1], row[2], as_json(row[3]), row[6],
                                 as_date(row[4]), row[5])  # type: ignore[arg-type]


def protections(raw: Raw, person_id: int) -> list[records.ProtectionFacts]:
    rows = raw.rows(
        "SELECT kind, granted_on, ended_on FROM protection WHERE person_id = :id "
        "ORDER BY granted_on", id=person_id,
    )
    return [records.ProtectionFacts(kind, as_date(granted), as_date(ended))  # type: ignore[arg-type]
            for kind, granted, ended in rows]


def civil_status_file(raw: Raw, person_id: int) -> records.FileFacts | None:
    rows = raw.rows(
        "SELECT status, family_form_received_on, expected_by, established_on "
        "FROM civil_status_file WHERE person_id = :id", id=person_id,
    )
    if not rows:
        return None
    status, received, expected, established = rows[0]
    return records.FileFacts(status, as_date(received), as_date(expected), as_date(established))


def acts(raw: Raw, person_id: int) -> list[records.ActFacts]:
    rows = raw.rows(
        "SELECT kind, number, established_on FROM civil_act WHERE person_id = :id ORDER BY id",
        id=person_id,
    )
    return [records.ActFacts(kind, number, as_date(on))  # type: ignore[arg-type]
            for kind, number, on in rows]


def relatives(raw: Raw, person_id: int) -> list[records.RelativeFacts]:
    """Family links; a relative who is also a person of OFPRA's gives their own identity."""
    rows = raw.rows(
        "SELECT l.relation, l.unknown, "
        "COALESCE(r.birth_name, l.birth_name), COALESCE(r.given_names, l.given_names), "
        "COALESCE(r.birth_date, l.birth_date), "
        "COALESCE(r.birth_date_precision, l.birth_date_precision) "
        "FROM family_link l LEFT JOIN person r ON r.id = l.relative_id "
        "WHERE l.person_id = :id ORDER BY l.id",
        id=person_id,
    )
    return [
        records.RelativeFacts(relation, bool(unknown), name, as_json(given), as_date(born),
                              precision)
        for relation, unknown, name, given, born, precision in rows
    ]


def record(raw: Raw, scope: str, person_id: int, as_of: records.date) -> records.Record:
    """Build the record a scope names, for one person, as of a date."""
    if scope == "protection_status":
        return records.protection_status(protections(raw, person_id), as_of)
    if scope == "civil_status_progress":
        return records.civil_status_progress(civil_status_file(raw, person_id), as_of)
    if scope == "civil_status":
        return records.civil_status(identity(raw, person_id), civil_status_file(raw, person_id),
                                    acts(raw, person_id), relatives(raw, person_id), as_of)
    raise ValueError(f"unknown scope {scope}")
