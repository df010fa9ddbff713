"""Loading the sandbox people (sandbox/people.json): synthetic, documented, loaded by make run."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.people.models import (
    ActKind,
    CivilAct,
    CivilStatusFile,
    Enrolment,
    FamilyLink,
    FileStatus,
    Person,
    Precision,
    Protection,
    ProtectionKind,
    Relation,
    Sex,
)


def parse_partial(text: str) -> tuple[date, Precision]:
    """'1990' → (1990-01-01, year); '1990-05' → (1990-05-01, month); a full date → day."""
    parts = text.split("-")
    if len(parts) == 1:
        return date(int(parts[0]), 1, 1), Precision.YEAR
    if len(parts) == 2:
        return date(int(parts[0]), int(parts[1]), 1), Precision.MONTH
    return date.fromisoformat(text), Precision.DAY


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def read(path: Path) -> list[dict[str, Any]]:
    """The sandbox's people; entries marked `lookup_only` describe lookups of nobody."""
    return [entry for entry in json.loads(path.read_text())["people"]
            if not entry.get("lookup_only")]


def _existing(db_session: Session, entry: dict[str, Any]) -> Person | None:
    query = select(Person).where(Person.birth_name == entry["birth_name"])
    if entry.get("ofpra_number"):
        query = query.where(Person.ofpra_number == entry["ofpra_number"])
    else:
        query = query.where(Person.agdref_number == entry["agdref_number"])
    return db_session.scalars(query).first()


def load(db_session: Session, people: list[dict[str, Any]]) -> dict[str, Person]:
    """Add the sandbox people not yet present; return every sandbox key with its Person."""
    by_key: dict[str, Person] = {}
    fresh: list[dict[str, Any]] = []
    for entry in people:
        existing = _existing(db_session, entry)
        if existing is not None:
            by_key[entry["key"]] = existing
            continue
        born, precision = parse_partial(entry["birth_date"])
        person = Person(
            ofpra_number=entry.get("ofpra_number"), agdref_number=entry.get("agdref_number"),
            birth_name=entry["birth_name"], given_names=entry["given_names"],
            usage_name=entry.get("usage_name"), sex=Sex(entry["sex"]), birth_date=born,
            birth_date_precision=precision, nationality=entry.get("nationality"),
            country_of_origin=entry.get("country_of_origin"),
            enrolment=Enrolment(entry.get("enrolment", Enrolment.ELIGIBLE.value)),
        )
        db_session.add(person)
        by_key[entry["key"]] = person
        fresh.append(entry)
    db_session.flush()
    for entry in fresh:
        person = by_key[entry["key"]]
        for protection in entry.get("protections", []):
            db_session.add(Protection(
                person_id=person.id, kind=ProtectionKind(protection["kind"]),
                granted_on=_day(protection["granted_on"]),
                ended_on=_day(protection.get("ended_on")),
                end_reason=protection.get("end_reason"), grounds=protection.get("grounds"),
            ))
        file = entry.get("civil_status_file")
        if file:
            db_session.add(CivilStatusFile(
                person_id=person.id, status=FileStatus(file["status"]),
                family_form_received_on=_day(file.get("family_form_received_on")),
                expected_by=_day(file.get("expected_by")),
                established_on=_day(file.get("established_on")),
            ))
        for act in entry.get("acts", []):
            db_session.add(CivilAct(person_id=person.id, kind=ActKind(act["kind"]),
                                    number=act["number"],
                                    established_on=date.fromisoformat(act["established_on"])))
        for link in entry.get("family", []):
            relative = by_key.get(link["person"]) if link.get("person") else None
            born_on, born_precision = (parse_partial(link["birth_date"])
                                       if link.get("birth_date") else (None, None))
            db_session.add(FamilyLink(
                person_id=person.id, relation=Relation(link["relation"]),
                relative_id=relative.id if relative else None,
                unknown=bool(link.get("unknown")), birth_name=link.get("birth_name"),
                given_names=link.get("given_names"), birth_date=born_on,
                birth_date_precision=born_precision,
            ))
    db_session.flush()
    return by_key
