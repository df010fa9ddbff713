"""Activation through the pages, as a person does it with the paper notice."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import db
from app.accounts import keys, passwords
from app.accounts.models import Account, ActivationNotice
from app.notify.models import OutboxMessage
from app.people.models import Enrolment
from tests.accounts.conftest import PASSWORD
from tests.accounts.forms import alerts, field_errors, page, submit, text


def start(browser: FlaskClient, identifier: str, key: str, **kwargs):  # type: ignore[no-untyped-def]
    return submit(browser, "/activate", {"identifier": identifier, "key": key}, **kwargs)


def test_the_whole_activation(browser: FlaskClient, db_session: Session, notice_for) -> None:
    person, key = notice_for()
    # Typed as people type it: spaces in the number, small letters and spaces in the key.
    spaced = " ".join(person.agdref_number[i:i + 2] for i in range(0, 10, 2))
    response = start(browser, spaced, " ".join(keys.show_key(key).lower().split("-")))
    assert response.status_code == 303
    assert response.headers["Location"] == "/activate/password"
    with browser.session_transaction() as state:
        assert state["activation"]["notice"] > 0
        assert key not in str(dict(state))  # the key itself is never kept

    status, body = page(browser, "/activate/password")
    assert status == 200
    assert "Étape 2 sur 5" in body
    assert 'autocomplete="new-password"' in body
    response = submit(browser, "/activate/password",
                      {"password": PASSWORD, "confirmation": PASSWORD})
    assert response.status_code == 303
    assert response.headers["Location"] == "/activate/contacts"

    db_session.expire_all()
    account = db_session.scalars(select(Account).where(Account.person_id == person.id)).one()
    assert account.password_hash.startswith("$argon2id$")
    assert passwords.verify(account.password_hash, PASSWORD)
    assert account.language == "fr"
    notice = db_session.scalars(select(ActivationNotice).where(
        ActivationNotice.person_id == person.id)).one()
    assert notice.used_at is not None

    response = submit(browser, "/activate/contacts",
                      {"email": "Amina.T@Example.org", "phone": "06 12 34 56 78"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/activate/verify/email"
    sent = {message.channel.value: message for message in db_session.scalars(
        select(OutboxMessage).where(OutboxMessage.person_id == person.id))}
    assert sent["email"].recipient == "amina.t@example.org"
    assert sent["email"].template == "verification_code"
    assert sent["sms"].recipient == "+33612345678"
    assert sent["email"].language == "fr"

    status, body = page(browser, "/activate/verify/email")
    assert "amina.t@example.org" in body
    assert 'autocomplete="one-time-code"' in body and 'inputmode="numeric"' in body
    response = submit(browser, "/activate/verify/email", {"code": sent["email"].context["code"]})
    assert response.headers["Location"] == "/activate/verify/phone"
    response = submit(browser, "/activate/verify/phone", {"code": sent["sms"].context["code"]})
    assert response.headers["Location"] == "/activate/language"

    status, body = page(browser, "/activate/language")
    assert 'value="en" lang="en" class="fr-btn fr-btn--secondary">English</button>' in body
    response = submit(browser, "/activate/language", {"language": "en"})
    assert response.headers["Location"] == "/activate/done"

    status, body = page(browser, "/activate/done")
    assert '<html lang="en"' in body  # the account's language, from now on
    assert "<h1>Your personal space is ready</h1>" in body
    assert "Come and look at least every 15 days" in body

    db_session.expire_all()
    found = db_session.get(Account, account.id)
    assert found is not None
    account = found
    assert account.language == "en"
    assert account.email == "amina.t@example.org" and account.email_verified_at is not None
    assert account.phone == "+33612345678" and account.phone_verified_at is not None


def test_contacts_and_verification_can_wait(browser: FlaskClient, db_session: Session,
                                            notice_for) -> None:
    person, key = notice_for()
    start(browser, person.agdref_number, key)
    submit(browser, "/activate/password", {"password": PASSWORD, "confirmation": PASSWORD})
    response = submit(browser, "/activate/contacts", {"email": "", "phone": "", "skip": "1"})
    assert response.headers["Location"] == "/activate/language"
    response = submit(browser, "/activate/contacts", {"email": "a@example.org", "phone": ""})
    assert response.headers["Location"] == "/activate/verify/email"
    status, body = page(browser, "/activate/verify/email")
    assert '<a href="/activate/language">Plus tard</a>' in body
    assert db_session.scalars(select(OutboxMessage).where(
        OutboxMessage.person_id == person.id)).one().recipient == "a@example.org"


def test_the_activation_by_ofpra_number(browser: FlaskClient, notice_for) -> None:
    person, key = notice_for()
    response = start(browser, person.ofpra_number, key)
    assert response.headers["Location"] == "/activate/password"


@pytest.mark.parametrize("wrong", ["number", "key", "both", "other-person"])
def test_a_wrong_number_or_key_gets_one_refusal(browser: FlaskClient, notice_for,
                                                wrong: str) -> None:
    person, key = notice_for()
    other, other_key = notice_for()
    identifier = {"number": "7599999999", "key": person.agdref_number,
                  "both": "7599999999", "other-person": person.agdref_number}[wrong]
    typed = {"number": key, "key": keys.new_key(), "both": keys.new_key(),
             "other-person": other_key}[wrong]
    response = start(browser, identifier, typed)
    assert response.status_code == 422
    assert alerts(text(response)) == [
        "Ce numéro et cette clé de connexion ne vont pas ensemble. Vérifiez les deux sur "
        "votre notice : la clé a 16 lettres et chiffres, en 4 groupes."]


def test_the_fields_say_what_is_missing(browser: FlaskClient) -> None:
    response = start(browser, "75-AB", "")
    body = text(response)
    assert response.status_code == 422
    assert field_errors(body, "key") == [
        "Tapez la clé de connexion écrite sur votre notice : 16 lettres et chiffres."]
    assert 'aria-describedby="key-error"' in body and 'aria-invalid="true"' in body
    response = start(browser, "75-AB", "ABCD")
    assert field_errors(text(response), "identifier") == [
        "Tapez votre numéro AGDREF (10 chiffres) ou votre numéro OFPRA, comme il est écrit "
        "sur vos papiers."]
    assert "<title>Erreur\u00a0: Activer votre espace personnel" in text(response)


def test_a_used_key_is_refused_clearly(browser: FlaskClient, account: Account,
                                       notice_for, accounts, db_session) -> None:
    person, key = notice_for()
    browser_a = browser
    start(browser_a, person.agdref_number, key)
    submit(browser_a, "/activate/password", {"password": PASSWORD, "confirmation": PASSWORD})
    submit(browser_a, "/signout", {}, form_page="/espace")
    response = start(browser_a, person.agdref_number, key)
    assert response.status_code == 422
    assert alerts(text(response)) == [
        "Cette clé de connexion a déjà servi. Si vous avez créé votre espace, connectez-vous. "
        "Une clé ne sert qu’une seule fois."]


def test_an_expired_key_is_refused_clearly(browser: FlaskClient, notice_for) -> None:
    person, key = notice_for(now=db.utcnow() - timedelta(days=91), valid_days=90)
    response = start(browser, person.agdref_number, key)
    assert response.status_code == 422
    assert alerts(text(response)) == [
        "Cette clé de connexion n’est plus valable. Demandez une nouvelle notice à la "
        "structure qui vous aide, ou à l’OFPRA."]


def test_a_second_notice_replaces_the_first(browser: FlaskClient, notice_for, accounts,
                                            db_session) -> None:
    person, first = notice_for()
    _notice, second = accounts.issue_notice(person, "agent-test", db.utcnow())
    db_session.commit()
    assert start(browser, person.agdref_number, first).status_code == 422
    assert start(browser, person.agdref_number, second).status_code == 303


@pytest.mark.parametrize("enrolment", [Enrolment.EXCLUDED_DUBLIN, Enrolment.EXCLUDED_MINOR,
                                       Enrolment.EXCLUDED_OVERSEAS, Enrolment.TAKEN_OUT])
def test_excluded_people_are_told_their_letters_come_by_post(browser: FlaskClient, notice_for,
                                                             db_session, enrolment) -> None:
    person, key = notice_for(enrolment=enrolment)
    response = start(browser, person.agdref_number, key)
    assert response.status_code == 303
    assert response.headers["Location"] == "/activate/by-post"
    status, body = page(browser, "/activate/by-post")
    assert status == 200
    assert "<h1>Vos courriers arrivent par la poste</h1>" in body
    assert db_session.scalars(select(Account).where(Account.person_id == person.id)).all() == []
    # Without the key, nothing tells this person apart from anyone else.
    response = start(browser, person.agdref_number, keys.new_key())
    assert response.status_code == 422
    assert "poste" not in text(response)


def test_exclusion_after_the_first_step_still_stops_the_activation(
        browser: FlaskClient, notice_for, db_session) -> None:
    person, key = notice_for()
    start(browser, person.agdref_number, key)
    person.enrolment = Enrolment.TAKEN_OUT
    db_session.commit()
    response = submit(browser, "/activate/password",
                      {"password": PASSWORD, "confirmation": PASSWORD})
    assert response.headers["Location"] == "/activate/by-post"
    assert db_session.scalars(select(Account).where(Account.person_id == person.id)).all() == []


def test_the_password_step_expires(browser: FlaskClient, notice_for) -> None:
    person, key = notice_for()
    with time_machine.travel(db.utcnow(), tick=False) as traveller:
        start(browser, person.agdref_number, key)
        traveller.shift(timedelta(minutes=16))
        assert browser.get("/activate/password").headers["Location"] == "/activate"


@pytest.mark.parametrize(("password", "confirmation", "field", "message"), [
    ("court", "court", "password",
     "Utilisez au moins 12 caractères. Les espaces comptent : une petite phrase est facile à "
     "retenir."),
    ("motdepasse2024!", "motdepasse2024!", "password",
     "Ce mot de passe est trop courant : les personnes qui attaquent les comptes l’essaient "
     "en premier."),
    ("azertyuiop123456", "azertyuiop123456", "password",
     "Ce mot de passe est trop courant : les personnes qui attaquent les comptes l’essaient "
     "en premier."),
    (PASSWORD, PASSWORD + "x", "confirmation",
     "Les deux mots de passe ne sont pas les mêmes. Tapez deux fois le même mot de passe."),
])
def test_password_rules_are_explained(browser: FlaskClient, notice_for, password: str,
                                      confirmation: str, field: str, message: str) -> None:
    person, key = notice_for()
    start(browser, person.agdref_number, key)
    response = submit(browser, "/activate/password",
                      {"password": password, "confirmation": confirmation})
    assert response.status_code == 422
    assert field_errors(text(response), field) == [message]


def test_a_password_containing_the_number_is_refused(browser: FlaskClient, notice_for) -> None:
    person, key = notice_for()
    start(browser, person.agdref_number, key)
    password = f"mon numero {person.agdref_number}"
    response = submit(browser, "/activate/password",
                      {"password": password, "confirmation": password})
    assert field_errors(text(response), "password") == [
        "Ne mettez pas votre numéro AGDREF ni votre numéro OFPRA dans votre mot de passe."]


def test_wrong_keys_slow_down_the_same_way_for_unknown_numbers(browser: FlaskClient,
                                                               notice_for) -> None:
    person, _key = notice_for()
    answers = []
    for identifier in (person.agdref_number, "7599999999"):
        with time_machine.travel(db.utcnow(), tick=False):
            statuses = [start(browser, identifier, keys.new_key()).status_code
                        for _ in range(4)]
            assert statuses == [422, 422, 422, 429]
            response = start(browser, identifier, keys.new_key())
            answers.append((response.status_code, response.headers["Retry-After"],
                            alerts(text(response))))
    assert answers[0] == answers[1] == (429, "1", [
        "Trop d’essais. Pour votre sécurité, attendez 1 seconde, puis essayez encore."])
