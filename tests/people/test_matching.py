from datetime import date

import pytest

from app.people import matching
from app.people.matching import Candidate, Lookup, Outcome


def person(id=1, birth_name="MUKAMANA", usage_name="HABIMANA",
           given_names=("Espérance", "Marie-Claire"), birth_date=date(1984, 6, 30),
           precision="day"):
    return Candidate(id, birth_name, usage_name, list(given_names), birth_date, precision)


@pytest.mark.parametrize(("given", "expected"), [
    ("Marie-Hélène", "marie helene"),
    ("  O'BRIEN ", "o brien"),
    ("ÇAĞLAR", "caglar"),
    ("Nguyễn", "nguyen"),
])
def test_normalise(given, expected):
    assert matching.normalise(given) == expected


@pytest.mark.parametrize("names", [
    ("Espérance", "Marie-Claire"),
    ("marie claire", "ESPERANCE"),
    ("Marie", "Claire", "Esperance"),
])
def test_given_names_in_any_order_and_form(names):
    assert matching.agrees(Lookup(ofpra_number="1", given_names=names), person())


@pytest.mark.parametrize("names", [("Esperanc", "Marie-Claire"), ("Espérance",),
                                   ("Espérance", "Marie-Claire", "Anne")])
def test_no_fuzziness_nor_subset(names):
    assert not matching.agrees(Lookup(ofpra_number="1", given_names=names), person())


def test_birth_name_or_usage_name():
    assert matching.agrees(Lookup(ofpra_number="1", birth_name="mukamana"), person())
    assert matching.agrees(Lookup(ofpra_number="1", birth_name="Habimana"), person())
    assert not matching.agrees(Lookup(ofpra_number="1", birth_name="Mukamama"), person())


@pytest.mark.parametrize(("given", "stored", "precision", "expected"), [
    ("1984-06-30", date(1984, 6, 30), "day", True),
    ("1984-06-29", date(1984, 6, 30), "day", False),
    ("1984-06", date(1984, 6, 30), "day", False),  # less than the act knows: not a confirmation
    ("1984", date(1984, 6, 30), "day", False),
    ("1994", date(1994, 1, 1), "year", True),
    ("1994-07-14", date(1994, 1, 1), "year", True),  # the act knows the year only
    ("1995-01-01", date(1994, 1, 1), "year", False),
    ("1994-03", date(1994, 3, 1), "month", True),
    ("1994-03-20", date(1994, 3, 1), "month", True),
    ("1994-04-01", date(1994, 3, 1), "month", False),
])
def test_birth_date_at_known_precision(given, stored, precision, expected):
    assert matching.birth_date_agrees(given, stored, precision) is expected


def test_decide_outcomes():
    a, b = person(1, given_names=("Reza",)), person(2, given_names=("Ali",))
    assert matching.decide(Lookup(agdref_number="1"), []) == (Outcome.NOT_FOUND, None)
    assert matching.decide(Lookup(agdref_number="1"), [a, b]) == (Outcome.AMBIGUOUS, None)
    assert matching.decide(Lookup(agdref_number="1", given_names=("ali",)), [a, b]) == \
        (Outcome.FOUND, b)


def test_canonical_inputs_ignore_name_form():
    one = Lookup(ofpra_number="9", birth_name="Mukamana", given_names=("Marie-Claire", "Espérance"))
    two = Lookup(ofpra_number="9", birth_name="MUKAMANA", given_names=("esperance", "marie claire"))
    assert one.canonical() == two.canonical()
    assert "9" in one.canonical() and "mukamana" in one.canonical()
