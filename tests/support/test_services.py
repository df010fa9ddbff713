"""Staff accounts: created without a password, a set-password link used once, sign-in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy.orm import Session

from app.accounts.errors import InvalidCredentials, Throttled, WeakPassword
from app.support import services
from app.support.models import StaffAccount, SupportStructure
from tests.support.conftest import STAFF_PASSWORD

NOW = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


def test_a_new_account_has_no_password(staff_service: services.Staff,
                                       spada: SupportStructure) -> None:
    staff = staff_service.add_staff(spada.id, "  Someone@Example.ORG ", "Someone")
    assert staff.email == "someone@example.org"
    assert staff.password_hash.startswith(services.UNUSABLE)
    with pytest.raises(InvalidCredentials):
        staff_service.authenticate("someone@example.org", staff.password_hash, NOW)


def test_addresses_are_checked(staff_service: services.Staff, spada: SupportStructure) -> None:
    with pytest.raises(services.InvalidEmail):
        staff_service.add_staff(spada.id, "not an address", "X")
    with pytest.raises(services.UnknownStructure):
        staff_service.add_staff(999999, "x@example.org", "X")
    staff_service.add_staff(spada.id, "x@example.org", "X")
    with pytest.raises(services.DuplicateEmail):
        staff_service.add_staff(spada.id, "X@example.org", "X again")


def test_the_link_sets_the_password_once(staff_service: services.Staff,
                                         spada: SupportStructure) -> None:
    staff = staff_service.add_staff(spada.id, "w@example.org", "W")
    token = staff_service.link_token(staff)
    with pytest.raises(WeakPassword):
        staff_service.set_password(token, "azerty123456")
    generation = staff.session_generation
    assert staff_service.set_password(token, STAFF_PASSWORD) is staff
    assert staff.session_generation == generation + 1
    assert staff_service.authenticate("W@example.org", STAFF_PASSWORD, NOW) is staff
    with pytest.raises(services.InvalidLink):
        staff_service.set_password(token, "another long sentence here")


def test_a_link_expires_and_cannot_be_forged(staff_service: services.Staff,
                                             spada: SupportStructure) -> None:
    staff = staff_service.add_staff(spada.id, "w@example.org", "W")
    with time_machine.travel(datetime.now(UTC) - timedelta(hours=services.LINK_HOURS, seconds=1),
                             tick=False):
        old = staff_service.link_token(staff)
    with pytest.raises(services.InvalidLink):
        staff_service.staff_for_link(old)
    for forged in ("", "abc", staff_service.link_token(staff)[:-2] + "xx"):
        with pytest.raises(services.InvalidLink):
            staff_service.staff_for_link(forged)
    staff_service.deactivate(staff)
    with pytest.raises(services.InvalidLink):
        staff_service.staff_for_link(staff_service.link_token(staff))


def test_sign_in_is_throttled_per_address(staff_service: services.Staff,
                                          worker: StaffAccount) -> None:
    for _ in range(3):
        with pytest.raises(InvalidCredentials):
            staff_service.authenticate(worker.email, "wrong password", NOW)
    # After 3 failures, even the right password waits (and the address's case changes nothing).
    with pytest.raises(Throttled) as waited:
        staff_service.authenticate(worker.email.upper(), STAFF_PASSWORD, NOW)
    assert waited.value.retry_after == 1
    later = NOW + timedelta(seconds=2)
    assert staff_service.authenticate(worker.email, STAFF_PASSWORD, later) is worker
    # Unknown addresses are counted (and refused) the same way.
    with pytest.raises(InvalidCredentials):
        staff_service.authenticate("nobody@example.org", STAFF_PASSWORD, NOW)


def test_a_closed_account_cannot_sign_in(staff_service: services.Staff, worker: StaffAccount,
                                         db_session: Session) -> None:
    staff_service.deactivate(worker)
    with pytest.raises(InvalidCredentials):
        staff_service.authenticate(worker.email, STAFF_PASSWORD, NOW)
