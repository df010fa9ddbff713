"""What OFPRA's systems change about people: identity, protections, civil-status file, enrolment,
activation notices.

Nothing here knows of HTTP or commits: each function adds and flushes, and raises the feature
exceptions below (`app.backoffice.api` words them as problem documents). Values arrive checked
by `schemas.backoffice`; what needs the database (a number already taken, an end before its
grant) is checked here.

Attestations a person showed stay true only while the records they were made from do: after a
change of identity, protections or civil-status file, `_records_changed` revokes those that no
longer hold.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.accounts import keys
from app.accounts import services as accounts
from app.attestations import revocation
from app.people.models import (
    CivilStatusFile,
    Enrolment,
    Person,
    Protection,
    ProtectionKind,
)

# What partners' records are made of: changing one of these may outdate an attestation.
IDENTITY = frozenset({"ofpra_number", "agdref_number", "birth_name", "given_names",
                      "usage_name", "sex", "birth_date", "birth_date_precision"})


class BackofficeError(Exception):
    """Base of the back office's refusals; the message is the detail shown to OFPRA."""


class PersonNotFound(BackofficeError):
    """No person has this internal id."""


class ProtectionNotFound(BackofficeError):
    """This person has no protection with this id."""


class NumberTaken(BackofficeError):
    """Another person already has this OFPRA number."""


class ProtectionAlreadyEnded(BackofficeError):
    """The protection has an end already: it is not rewritten."""


class Invalid(BackofficeError):
    """A value is valid alone but not with what is stored; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


# --- people ---------------------------------------------------------------------------------

def get(db_session: Session, person_id: int) -> Person:
    """Return the person; raise PersonNotFound."""
    person = db_session.get(Person, person_id)
    if person is None:
        raise PersonNotFound(f"No person has the id {person_id}.")
    return person


def find(db_session: Session, *, ofpra_number: str | None = None,
         agdref_number: str | None = None) -> list[Person]:
    """Return the people with this OFPRA number (at most one) or AGDREF number (duplicates
    exist until OFPRA merges them), oldest first; [] if none."""
    column, value = ((Person.ofpra_number, ofpra_number) if ofpra_number
                     else (Person.agdref_number, agdref_number))
    return list(db_session.scalars(select(Person).where(column == value).order_by(Person.id)))


def create(db_session: Session, identity: Mapping[str, Any], now: datetime) -> Person:
    """Add a person (enrolment eligible unless given); raise NumberTaken."""
    values = dict(identity)
    enrolment = values.pop("enrolment", None)
    _check_number_free(db_session, values.get("ofpra_number"), None)
    person = Person(**values)
    _apply_enrolment(person, enrolment or {"status": Enrolment.ELIGIBLE})
    with _number_race(db_session):
        db_session.add(person)
    return person


def update(db_session: Session, person_id: int, changes: Mapping[str, Any],
           now: datetime) -> Person:
    """Change the fields given (identity, postal address); raise PersonNotFound, NumberTaken,
    Invalid (neither number would remain)."""
    person = get(db_session, person_id)
    numbers = {name: changes.get(name, getattr(person, name))
               for name in ("ofpra_number", "agdref_number")}
    if not any(numbers.values()):
        field = "ofpra_number" if "ofpra_number" in changes else "agdref_number"
        raise Invalid(field, "A person keeps an OFPRA number or an AGDREF number.")
    if numbers["ofpra_number"] != person.ofpra_number:
        _check_number_free(db_session, numbers["ofpra_number"], person.id)
    changed = {name for name, value in changes.items() if getattr(person, name) != value}
    with _number_race(db_session):
        for name in changed:
            setattr(person, name, changes[name])
    if changed & IDENTITY:
        _records_changed(db_session, person.id, now)
    return person


def _check_number_free(db_session: Session, ofpra_number: str | None,
                       person_id: int | None) -> None:
    if ofpra_number is None:
        return
    holder = db_session.scalar(select(Person.id).where(Person.ofpra_number == ofpra_number))
    if holder is not None and holder != person_id:
        raise NumberTaken("Another person has this OFPRA number.")


@contextmanager
def _number_race(db_session: Session) -> Iterator[None]:
    # The changes made in the block are flushed in a savepoint: a concurrent request may take
    # the same OFPRA number between the check and the write; the unique constraint then
    # decides, and only this block is undone.
    try:
        with db_session.begin_nested():
            yield
    except IntegrityError as error:
        raise NumberTaken("Another person has this OFPRA number.") from error


# --- enrolment ------------------------------------------------------------------------------

def set_enrolment(db_session: Session, person_id: int, enrolment: Mapping[str, Any]) -> Person:
    """Record how the person's letters reach them from now on; raise PersonNotFound.

    Only the deposits made afterwards follow it: a document already deposited keeps the
    delivery it was made available with (its notification date depends on it).
    """
    person = get(db_session, person_id)
    _apply_enrolment(person, enrolment)
    db_session.flush()
    return person


def _apply_enrolment(person: Person, enrolment: Mapping[str, Any]) -> None:
    status = Enrolment(enrolment["status"])
    person.enrolment = status
    taken_out = status is Enrolment.TAKEN_OUT
    person.taken_out_on = enrolment.get("taken_out_on") if taken_out else None
    person.taken_out_reason = enrolment.get("taken_out_reason") if taken_out else None


# --- protections ----------------------------------------------------------------------------

def grant_protection(db_session: Session, person_id: int, *, kind: ProtectionKind,
                     granted_on: date, now: datetime) -> Protection:
    """Record a protection granted on `granted_on`; raise PersonNotFound.

    A protection already in force stays (records answer with the latest grant): OFPRA ends it
    itself when one replaces the other.
    """
    person = get(db_session, person_id)
    protection = Protection(person_id=person.id, kind=kind, granted_on=granted_on)
    db_session.add(protection)
    db_session.flush()
    _records_changed(db_session, person.id, now)
    return protection


def end_protection(db_session: Session, person_id: int, protection_id: int, *, ended_on: date,
                   end_reason: str, now: datetime) -> Protection:
    """End a protection: `ended_on` is the first day the person is no longer protected.

    Raises PersonNotFound, ProtectionNotFound, ProtectionAlreadyEnded, Invalid (before grant).
    """
    person = get(db_session, person_id)
    protection = db_session.scalars(
        select(Protection).where(Protection.id == protection_id,
                                 Protection.person_id == person.id).with_for_update()
    ).one_or_none()
    if protection is None:
        raise ProtectionNotFound(f"This person has no protection with the id {protection_id}.")
    if protection.ended_on is not None:
        raise ProtectionAlreadyEnded(
            f"This protection ended on {protection.ended_on.isoformat()}.")
    if ended_on < protection.granted_on:
        raise Invalid("ended_on", "Not before the protection was granted "
                                  f"({protection.granted_on.isoformat()}).")
    protection.ended_on = ended_on
    protection.end_reason = end_reason
    db_session.flush()
    _records_changed(db_session, person.id, now)
    return protection


# --- civil status ---------------------------------------------------------------------------

def set_civil_status_file(db_session: Session, person_id: int, values: Mapping[str, Any],
                          now: datetime) -> CivilStatusFile:
    """Create or replace the person's civil-status file; raise PersonNotFound."""
    person = get(db_session, person_id)
    file = db_session.scalars(select(CivilStatusFile).where(
        CivilStatusFile.person_id == person.id).with_for_update()).one_or_none()
    if file is None:
        file = CivilStatusFile(person_id=person.id)
        db_session.add(file)
    for name in ("status", "family_form_received_on", "expected_by", "established_on"):
        setattr(file, name, values.get(name))
    db_session.flush()
    _records_changed(db_session, person.id, now)
    return file


# --- activation notices ---------------------------------------------------------------------

@dataclass(frozen=True)
class IssuedNotice:
    """A notice to print, with its connection key: the only time the key exists in clear."""

    id: int
    person_id: int
    connection_key: str
    ofpra_number: str | None
    agdref_number: str | None
    issued_at: datetime
    expires_at: datetime


def issue_notice(db_session: Session, secret: str, person_id: int, *, issued_by: str,
                 valid_days: int, now: datetime) -> IssuedNotice:
    """Issue an activation notice; earlier unused ones stop working.

    Raises PersonNotFound, and app.accounts.errors.PersonExcluded (letters by post) or
    AlreadyActivated.
    """
    person = get(db_session, person_id)
    notice, key = accounts.Accounts(db_session, secret).issue_notice(
        person, issued_by, now, valid_days)
    return IssuedNotice(notice.id, person.id, keys.show_key(key), person.ofpra_number,
                        person.agdref_number, notice.issued_at, notice.expires_at)


# --- attestations ---------------------------------------------------------------------------

def _records_changed(db_session: Session, person_id: int, now: datetime) -> None:
    """Revoke the person's attestations that no longer say what the records say.

    The one call site, after every change of identity, protections or civil-status file.
    """
    revocation.revoke_stale(db_session, person_id, now)
