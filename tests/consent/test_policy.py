from datetime import date

from consent import policy
from consent.policy import Basis, Grant, Reason

TODAY = date(2026, 11, 23)


def never():
    raise AssertionError("the ledger must not be read when the legal basis suffices")


def test_legal_basis_allows_without_reading_consents():
    grants = [Grant(1, "protection_status", False, date(2020, 1, 1), None)]
    decision = policy.decide(grants, "protection_status", TODAY, never)
    assert decision == policy.Decision(Basis.LEGAL_BASIS, 1)
    assert decision.allowed


def test_scope_not_granted():
    grants = [Grant(1, "protection_status", False, date(2020, 1, 1), None)]
    decision = policy.decide(grants, "civil_status", TODAY, never)
    assert decision.reason is Reason.SCOPE_NOT_GRANTED and not decision.allowed


def test_habilitation_not_in_force_before_or_after():
    expired = [Grant(1, "civil_status", False, date(2020, 1, 1), date(2026, 11, 22))]
    future = [Grant(2, "civil_status", False, date(2026, 11, 24), None)]
    assert policy.decide(expired, "civil_status", TODAY, never).reason is \
        Reason.HABILITATION_NOT_IN_FORCE
    assert policy.decide(future, "civil_status", TODAY, never).reason is \
        Reason.HABILITATION_NOT_IN_FORCE
    last_day = [Grant(3, "civil_status", False, date(2020, 1, 1), TODAY)]
    assert policy.decide(last_day, "civil_status", TODAY, never).allowed


def test_consent_required():
    grants = [Grant(7, "civil_status", True, date(2020, 1, 1), None)]
    assert policy.decide(grants, "civil_status", TODAY, lambda: None) == policy.Decision(
        None, 7, reason=Reason.CONSENT_REQUIRED)
    assert policy.decide(grants, "civil_status", TODAY, lambda: "c-1") == policy.Decision(
        Basis.CONSENT, 7, "c-1")


def test_a_legal_basis_in_force_wins_over_a_consent_habilitation():
    grants = [Grant(7, "civil_status", True, date(2020, 1, 1), None),
              Grant(8, "civil_status", False, date(2020, 1, 1), None)]
    assert policy.decide(grants, "civil_status", TODAY, never) == policy.Decision(
        Basis.LEGAL_BASIS, 8)
