"""The accounts' services, without the pages: notices, refusals, contacts, codes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import db
from app.accounts import errors, keys, services
from app.accounts.models import Account, ActivationNotice
from app.notify.models import OutboxMessage
from app.people.models import Enrolment
from tests import factories
from tests.accounts.conftest import PASSWORD, agdref


@pytest.mark.parametrize(("typed", "expected"), [
    ("7500000005", "7500000005"), (" 75 00 00 00 05 ", "7500000005"),
    ("75.00.00.00.05", "7500000005"), ("7500-000-005", "7500000005"),
    ("900 000 000 001", "900000000001"),
])
def test_identifiers_are_normalised(typed: str, expected: str) -> None:
    assert services.normalise_identifier(typed) == expected


@pytest.mark.parametrize("typed", ["", "abc", "75AB", "1234567", "12345678901234567", "７５"])
def test_malformed_identifiers_are_refused(typed: str) -> None:
    with pytest.raises(errors.InvalidIdentifier):
        services.normalise_identifier(typed)


@pytest.mark.parametrize(("typed", "expected"), [
    ("06 12 34 56 78", "+33612345678"), ("07.98.76.54.32", "+33798765432"),
    ("+33 6 12 34 56 78", "+33612345678"), ("+33 (0)6 12 34 56 78", "+33612345678"),
    ("0033612345678", "+33612345678"), ("+44 7700 900123", "+447700900123"),
    ("+93 70 123 4567", "+93701234567"),
])
def test_mobile_numbers_are_normalised_to_e164(typed: str, expected: str) -> None:
    assert services.normalise_phone(typed) == expected


@pytest.mark.parametrize("typed", ["01 23 45 67 89", "+33 1 23 45 67 89", "0612", "6 12 34 56 78",
                                   "+0612345678", "hello"])
def test_landlines_and_garbage_are_refused(typed: str) -> None:
    with pytest.raises(errors.InvalidPhone):
        services.normalise_phone(typed)


@pytest.mark.parametrize("typed", ["a@b", "a b@example.org", "@example.org", "a@example.o",
                                   "x" * 65 + "@example.org"])
def test_bad_emails_are_refused(typed: str) -> None:
    with pytest.raises(errors.InvalidEmail):
        services.normalise_email(typed)


def test_a_notice_stores_only_a_digest(accounts: services.Accounts, db_session: Session) -> None:
    person = factories.person(db_session)
    now = db.utcnow()
    notice, key = accounts.issue_notice(person, "agent-42", now, valid_days=30)
    assert notice.key_digest == keys.digest(accounts.secret, "activation-key", key)
    assert key not in notice.key_digest
    assert notice.expires_at == now + timedelta(days=30)
    assert notice.issued_by == "agent-42" and notice.used_at is None


def test_no_notice_for_excluded_people_nor_twice_activated(accounts: services.Accounts,
                                                          db_session: Session,
                                                          account: Account) -> None:
    dublin = factories.person(db_session, enrolment=Enrolment.EXCLUDED_DUBLIN)
    with pytest.raises(errors.PersonExcluded) as refused:
        accounts.issue_notice(dublin, "agent-42", db.utcnow())
    assert refused.value.enrolment is Enrolment.EXCLUDED_DUBLIN
    with pytest.raises(errors.AlreadyActivated):
        accounts.issue_notice(account.person, "agent-42", db.utcnow())
    with pytest.raises(ValueError, match="valid 1 to 365 days"):
        accounts.issue_notice(factories.person(db_session), "agent-42", db.utcnow(), 366)


def test_activate_in_one_call(accounts: services.Accounts, notice_for) -> None:
    person, key = notice_for()
    account = accounts.activate(person.ofpra_number, keys.show_key(key), PASSWORD, db.utcnow(),
                                language="en")
    assert account.person_id == person.id and account.language == "en"
    assert account.session_generation == 0
    with pytest.raises(errors.KeyUsed):
        accounts.activate(person.ofpra_number, key, PASSWORD, db.utcnow())


def test_refusals_after_the_key_matched_come_in_this_order(accounts: services.Accounts,
                                                           notice_for, db_session) -> None:
    person, key = notice_for(enrolment=Enrolment.EXCLUDED_MINOR)
    notice = db_session.scalars(select(ActivationNotice).where(
        ActivationNotice.person_id == person.id)).one()
    notice.used_at = notice.expires_at = db.utcnow() - timedelta(days=1)
    with pytest.raises(errors.PersonExcluded):  # exclusion first: the most useful to know
        accounts.check_key(person.agdref_number, key, db.utcnow())
    person.enrolment = Enrolment.ELIGIBLE
    with pytest.raises(errors.KeyUsed):
        accounts.check_key(person.agdref_number, key, db.utcnow())
    notice.used_at = None
    with pytest.raises(errors.KeyExpired):
        accounts.check_key(person.agdref_number, key, db.utcnow())


def test_a_second_account_for_one_person_is_refused(accounts: services.Accounts,
                                                    notice_for, db_session) -> None:
    person, key = notice_for()
    notice = accounts.check_key(person.agdref_number, key, db.utcnow())
    db_session.add(Account(person_id=person.id, password_hash="x", language="fr",
                           activated_at=db.utcnow(), session_generation=0))
    db_session.flush()
    with pytest.raises(errors.AlreadyActivated):
        accounts.activate_notice(notice.id, PASSWORD, db.utcnow())


def test_shared_agdref_numbers_never_guess(accounts: services.Accounts, notice_for) -> None:
    first, first_key = notice_for(agdref_number="7599990001")
    second, second_key = notice_for(agdref_number="7599990001")
    accounts.activate("7599990001", first_key, PASSWORD, db.utcnow())
    accounts.activate("7599990001", second_key, PASSWORD, db.utcnow())
    with pytest.raises(errors.InvalidCredentials):
        accounts.authenticate("7599990001", PASSWORD, db.utcnow())
    assert accounts.authenticate(second.ofpra_number, PASSWORD, db.utcnow()).person_id \
        == second.id


def test_contacts_during_the_activation_need_no_password_then_do(
        accounts: services.Accounts, account: Account) -> None:
    now = db.utcnow()
    assert accounts.set_contact(account, services.Contact.PHONE, "0612345678", now) is True
    with pytest.raises(errors.WrongPassword):
        accounts.set_contact(account, services.Contact.PHONE, "0712345678",
                             now + services.ACTIVATION_GRACE + timedelta(seconds=1))


def test_an_already_verified_contact_is_not_sent_a_code_again(accounts: services.Accounts,
                                                              account: Account,
                                                              db_session: Session) -> None:
    now = db.utcnow()
    accounts.set_contact(account, services.Contact.EMAIL, "a@example.org", now)
    code = db_session.scalars(select(OutboxMessage.context)).one()["code"]
    accounts.verify_contact(account, services.Contact.EMAIL, code, now)
    assert accounts.set_contact(account, services.Contact.EMAIL, "A@example.org", now,
                                current_password=PASSWORD) is False
    assert len(db_session.scalars(select(OutboxMessage)).all()) == 1


def test_a_code_is_bound_to_the_contact_it_was_sent_to(accounts: services.Accounts,
                                                       account: Account,
                                                       db_session: Session) -> None:
    now = db.utcnow()
    accounts.set_contact(account, services.Contact.EMAIL, "a@example.org", now)
    code = db_session.scalars(select(OutboxMessage.context)).one()["code"]
    account.email = "b@example.org"  # changed by other means: the code is not for it
    with pytest.raises(errors.CodeExpired):
        accounts.verify_contact(account, services.Contact.EMAIL, code, now)


def test_reset_codes_go_to_every_verified_contact(accounts: services.Accounts, account: Account,
                                                  db_session: Session) -> None:
    now = db.utcnow()
    for kind, value in ((services.Contact.EMAIL, "a@example.org"),
                        (services.Contact.PHONE, "+33612345678")):
        accounts.set_contact(account, kind, value, now)
        code = db_session.scalars(select(OutboxMessage.context).where(
            OutboxMessage.recipient == value)).one()["code"]
        accounts.verify_contact(account, kind, code, now)
    accounts.request_reset(agdref(account), now)
    sent = db_session.scalars(select(OutboxMessage).where(
        OutboxMessage.template == "password_reset_code")).all()
    assert sorted((m.channel.value, m.recipient) for m in sent) == [
        ("email", "a@example.org"), ("sms", "+33612345678")]
    sms = next(m for m in sent if m.channel.value == "sms")
    assert accounts.check_reset_code(account.person.ofpra_number or "", sms.context["code"], now) \
        == account.id
    email = next(m for m in sent if m.channel.value == "email")
    with pytest.raises(errors.InvalidResetCode):  # one code served: the others stop
        accounts.check_reset_code(account.person.ofpra_number or "", email.context["code"], now)
