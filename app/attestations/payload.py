"""What an attestation's QR code says: a record, its holder, and the attestation's own terms.

The claims are the record built by `app.people.records` (never another version of it),
written small enough for a QR code a phone reads from paper: one- or two-letter names, dates as
YYYY-MM-DD, nothing that is null or implied. They lose nothing: `read` gives back the very
record `repository.record` built, and the verify page renders it with the same macros as the
personal space (`site/records.html`).

| claim | meaning |
| --- | --- |
| `v` | format version: 1 |
| `iss` | issuer: OFPRA's service (its public URL) |
| `id` | attestation id (also in the revocation list) |
| `on` | issued on (Paris date); the record's `as_of` |
| `to` | last day of validity, inclusive (Paris date) |
| `q` | the question: `ps` protection status, `csp` civil-status progress, `cs` civil status |
| `h` | holder: `n` birth name, `u` usage name, `g` given names, `s` sex, `b` birth date |
| `r` | the record, by question (below) |

Partial dates (a birth date known to the year or the month) are written as far as known:
YYYY, YYYY-MM or YYYY-MM-DD.

- `ps`: `p` protected; `k` protection (refugee, subsidiary_protection, stateless); `d` since.
- `csp`: `st` status; `rc` family form received on; `by` expected by; `in` within the delay;
  `es` established on.
- `cs`: `e` established; `a` acts (`k` kind, `no` number, `d` established on); `f` family
  (`k` relation, `x` unknown, `n` birth name, `g` given names, `b` birth date as known). When
  established, the identity is the holder's.

`digest` is SHA-256 of the canonical JSON of `q`, `h` and `r`: the facts, without the dates of
the attestation, so an attestation whose record reads differently today is stale.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from app.people import records

VERSION = 1
QUESTIONS = {"protection_status": "ps", "civil_status_progress": "csp", "civil_status": "cs"}
SCOPES = {short: scope for scope, short in QUESTIONS.items()}


class Malformed(ValueError):
    """The claims do not have the shape this module writes."""


@dataclass(frozen=True)
class Holder:
    """Whom the attestation is about, as OFPRA writes their name (Latin script)."""

    birth_name: str
    usage_name: str | None
    given_names: list[str]
    sex: str
    birth_date: str  # as far as known: YYYY, YYYY-MM or YYYY-MM-DD
    birth_date_precision: str


@dataclass(frozen=True)
class Terms:
    """The attestation's own facts: who signed, which one, when, until when."""

    issuer: str
    id: str
    issued_on: date
    valid_until: date  # inclusive


def holder(identity: records.IdentityFacts) -> Holder:
    """The holder as the attestation names them, from the person's identity facts."""
    return Holder(identity.birth_name, identity.usage_name, list(identity.given_names),
                  identity.sex,
                  records.partial_date(identity.birth_date, identity.birth_date_precision),
                  identity.birth_date_precision)


def claims(terms: Terms, scope: str, person: Holder, record: records.Record) -> dict[str, Any]:
    """The claims an attestation signs (raises KeyError for an unknown scope)."""
    return {"v": VERSION, "iss": terms.issuer, "id": terms.id,
            "on": terms.issued_on.isoformat(), "to": terms.valid_until.isoformat(),
            **_facts(scope, person, record)}


def digest(scope: str, person: Holder, record: records.Record) -> str:
    """SHA-256 (hex) of the facts, canonical: the same facts always give the same digest."""
    return hashlib.sha256(canonical(_facts(scope, person, record))).hexdigest()


def canonical(value: Any) -> bytes:
    """JSON with sorted keys, no spaces, UTF-8: one byte string per value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def read(value: dict[str, Any]) -> tuple[Terms, str, Holder, records.Record]:
    """The terms, scope, holder and record the claims carry.

    Raises Malformed if they are not claims this module writes (another version, a missing or
    mistyped field).
    """
    try:
        if value["v"] != VERSION:
            raise Malformed(f"unknown version {value['v']!r}")
        terms = Terms(_text(value["iss"]), _text(value["id"]), _day(value["on"]),
                      _day(value["to"]))
        scope = SCOPES[value["q"]]
        person = _holder(value["h"])
        record = _RECORDS[scope](value["r"], terms.issued_on, person)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise Malformed(str(error)) from error
    return terms, scope, person, record


# Writing.

def _facts(scope: str, person: Holder, record: records.Record) -> dict[str, Any]:
    h: dict[str, Any] = {"n": person.birth_name, "g": person.given_names, "s": person.sex,
                         "b": person.birth_date}
    if person.usage_name is not None:
        h["u"] = person.usage_name
    return {"q": QUESTIONS[scope], "h": h, "r": _WRITERS[scope](record)}


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None and value != []}


def _write_protection(record: Any) -> dict[str, Any]:
    return _compact({"p": record.protected, "k": record.protection,
                     "d": _iso(record.protected_since)})


def _write_progress(record: Any) -> dict[str, Any]:
    return _compact({"st": record.status, "rc": _iso(record.family_form_received_on),
                     "by": _iso(record.expected_by), "in": record.within_delay,
                     "es": _iso(record.established_on)})


def _write_civil_status(record: Any) -> dict[str, Any]:
    if not record.established:
        return {"e": False}
    return _compact({
        "e": True,
        "a": [{"k": act.kind, "no": act.number, "d": act.established_on.isoformat()}
              for act in record.acts],
        "f": [{"k": relative.relation, "x": True} if relative.unknown else _compact(
            {"k": relative.relation, "n": relative.birth_name, "g": relative.given_names,
             "b": relative.birth_date}) for relative in record.family],
    })


_WRITERS = {"protection_status": _write_protection,
            "civil_status_progress": _write_progress,
            "civil_status": _write_civil_status}


# Reading: the signed facts back into the records module's own types.

def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("a string was expected")
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("a boolean was expected")
    return value


def _day(value: Any) -> date:
    return date.fromisoformat(_text(value))


def _maybe_day(value: Any) -> date | None:
    return None if value is None else _day(value)


def _names(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise TypeError("a list was expected")
    return [_text(name) for name in value]


def precision(partial: str) -> str:
    """How far a partial date (YYYY, YYYY-MM, YYYY-MM-DD) is known."""
    found = {4: "year", 7: "month", 10: "day"}.get(len(partial))
    if found is None:
        raise ValueError(f"not a partial date: {partial!r}")
    date.fromisoformat(partial + {"year": "-01-01", "month": "-01", "day": ""}[found])
    return found


def _holder(value: dict[str, Any]) -> Holder:
    usage = value.get("u")
    born = _text(value["b"])
    return Holder(_text(value["n"]), None if usage is None else _text(usage),
                  _names(value["g"]), _text(value["s"]), born, precision(born))


def _read_protection(value: dict[str, Any], as_of: date,
                     _person: Holder) -> records.ProtectionStatusRecord:
    kind = value.get("k")
    return records.ProtectionStatusRecord(as_of, _flag(value["p"]),
                                          None if kind is None else _text(kind),
                                          _maybe_day(value.get("d")))


def _read_progress(value: dict[str, Any], as_of: date,
                   _person: Holder) -> records.CivilStatusProgressRecord:
    within = value.get("in")
    return records.CivilStatusProgressRecord(
        as_of, _text(value["st"]), _maybe_day(value.get("rc")), _maybe_day(value.get("by")),
        None if within is None else _flag(within), _maybe_day(value.get("es")))


def _relative(value: dict[str, Any]) -> records.Relative:
    if value.get("x"):
        return records.Relative(_text(value["k"]), True)
    name, born = value.get("n"), value.get("b")
    return records.Relative(_text(value["k"]), False, None if name is None else _text(name),
                            _names(value.get("g", [])), None if born is None else _text(born),
                            None if born is None else precision(born))


def _read_civil_status(value: dict[str, Any], as_of: date,
                       person: Holder) -> records.CivilStatusRecord:
    if not _flag(value["e"]):
        return records.CivilStatusRecord(as_of, False)
    return records.CivilStatusRecord(
        as_of, True,
        records.Identity(person.birth_name, person.usage_name, person.given_names, person.sex,
                         person.birth_date, person.birth_date_precision),
        [records.Act(_text(act["k"]), _text(act["no"]), _day(act["d"]))
         for act in value.get("a", [])],
        [_relative(relative) for relative in value.get("f", [])],
    )


_RECORDS: dict[str, Callable[[dict[str, Any], date, Holder], records.Record]] = {
    "protection_status": _read_protection,
    "civil_status_progress": _read_progress,
    "civil_status": _read_civil_status,
}
