from datetime import date

from app.people import records
from app.people.records import FileFacts, IdentityFacts, ProtectionFacts, RelativeFacts

TODAY = date(2026, 11, 23)


def test_protection_in_force_is_the_latest_granted():
    history = [ProtectionFacts("subsidiary_protection", date(2019, 1, 1), date(2022, 5, 1)),
               ProtectionFacts("refugee", date(2022, 5, 1), None)]
    assert records.protection_status(history, TODAY) == records.ProtectionStatusRecord(
        TODAY, True, "refugee", date(2022, 5, 1))


def test_protection_ended_is_not_protected_and_says_nothing_more():
    history = [ProtectionFacts("refugee", date(2016, 5, 4), date(2024, 1, 15))]
    assert records.protection_status(history, TODAY) == records.ProtectionStatusRecord(
        TODAY, False, None, None)
    # As of the day before the end, the same person was protected.
    assert records.protection_status(history, date(2024, 1, 14)).protected is True
    assert records.protection_status(history, date(2024, 1, 15)).protected is False


def test_protection_not_yet_granted():
    history = [ProtectionFacts("refugee", date(2027, 1, 1), None)]
    assert records.protection_status(history, TODAY).protected is False


def test_progress_within_delay_until_expected_date_inclusive():
    file = FileFacts("in_progress", date(2025, 1, 1), date(2026, 11, 23), None)
    assert records.civil_status_progress(file, TODAY).within_delay is True
    assert records.civil_status_progress(file, date(2026, 11, 24)).within_delay is False


def test_progress_without_file():
    assert records.civil_status_progress(None, TODAY) == records.CivilStatusProgressRecord(
        TODAY, "none", None, None, None, None)


def test_civil_status_not_established_gives_no_identity():
    identity = IdentityFacts("X", None, ["Y"], "F", date(1990, 1, 1), "year")
    record = records.civil_status(identity, FileFacts("in_progress", None, None, None), [], [],
                                  TODAY)
    assert record == records.CivilStatusRecord(TODAY, False)


def test_civil_status_partial_dates_and_unknown_parent():
    identity = IdentityFacts("WARSAME", None, ["Abdi"], "M", date(1994, 1, 1), "year")
    relatives = [RelativeFacts("child", False, "WARSAME", ["Ayan"], date(2020, 3, 1), "month"),
                 RelativeFacts("parent", True, None, None, None, None)]
    record = records.civil_status(identity, FileFacts("established", None, None, TODAY), [],
                                  relatives, TODAY)
    assert record.identity is not None
    assert record.identity.birth_date == "1994"
    # Parents come before children, whatever the order of the links.
    assert [relative.relation for relative in record.family] == ["parent", "child"]
    assert record.family[0] == records.Relative("parent", True)
    assert record.family[1].birth_date == "2020-03"
