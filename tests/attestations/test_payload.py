"""The claims carry the very record `repository.record` builds, and nothing else."""

from __future__ import annotations

from datetime import date

import pytest

from app.attestations import payload
from app.db import Raw
from app.people import repository
from tests.attestations.conftest import SCOPES

TERMS = payload.Terms("http://localhost", "8d3c1f9e-0000-4000-8000-000000000001",
                      date(2026, 1, 5), date(2026, 4, 5))


@pytest.mark.parametrize("scope", SCOPES)
def test_every_sandbox_record_comes_back_whole_from_its_claims(db_session, people,
                                                               scope) -> None:
    raw = Raw(db_session)
    for key, person in people.items():
        record = repository.record(raw, scope, person.id, TERMS.issued_on)
        holder = payload.holder(repository.identity(raw, person.id))
        claims = payload.claims(TERMS, scope, holder, record)
        assert payload.read(claims) == (TERMS, scope, holder, record), key
        # Nothing is said that the record does not say: no file number, no nationality.
        text = payload.canonical(claims).decode()
        for secret in (person.ofpra_number, person.agdref_number, person.nationality,
                       person.country_of_origin):
            assert secret is None or secret not in text, key


def test_the_claims_are_compact_and_spelled_as_documented(db_session, people) -> None:
    raw = Raw(db_session)
    person = people["established-family"]
    record = repository.record(raw, "civil_status", person.id, TERMS.issued_on)
    holder = payload.holder(repository.identity(raw, person.id))
    claims = payload.claims(TERMS, "civil_status", holder, record)
    assert claims["v"] == 1 and claims["q"] == "cs"
    assert (claims["on"], claims["to"]) == ("2026-01-05", "2026-04-05")
    assert claims["h"] == {"n": "MUKAMANA", "u": "HABIMANA", "g": ["Espérance", "Marie-Claire"],
                           "s": "F", "b": "1984-06-30"}
    assert claims["r"]["a"][0] == {"k": "birth", "no": "2019-N-000452", "d": "2019-09-30"}
    assert claims["r"]["f"][:2] == [{"k": "parent", "n": "MUKAMANA", "g": ["Jean"], "b": "1950"},
                                    {"k": "parent", "x": True}]


def test_the_digest_follows_the_facts_not_the_date(db_session, people) -> None:
    raw = Raw(db_session)
    person = people["refugee-active"]
    holder = payload.holder(repository.identity(raw, person.id))

    def digest(on: date) -> str:
        return payload.digest("protection_status", holder,
                              repository.record(raw, "protection_status", person.id, on))

    assert digest(date(2026, 1, 5)) == digest(date(2027, 6, 1))  # same facts, other day
    assert digest(date(2021, 3, 1)) != digest(date(2021, 3, 2))  # protected from that day
    assert len(digest(date(2026, 1, 5))) == 64


@pytest.mark.parametrize("change", [
    {"v": 2}, {"q": "xx"}, {"on": "5 janvier"}, {"h": {"n": "X"}}, {"r": {"p": "yes"}},
    {"h": {"n": "X", "g": "Amina", "s": "F", "b": "1990"}},
    {"h": {"n": "X", "g": [], "s": "F", "b": "1990-13"}},
])
def test_claims_of_another_shape_are_refused(change) -> None:
    claims = {"v": 1, "iss": "http://localhost", "id": "a", "on": "2026-01-05",
              "to": "2026-04-05", "q": "ps",
              "h": {"n": "X", "g": [], "s": "F", "b": "1990"}, "r": {"p": False}}
    assert payload.read(claims)[1] == "protection_status"
    with pytest.raises(payload.Malformed):
        payload.read({**claims, **change})
