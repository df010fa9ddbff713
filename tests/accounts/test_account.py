"""The account page: contacts (each proved by a code), language, password."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import db
from app.accounts.models import Account, OneTimeCode
from app.notify.models import OutboxMessage
from tests.accounts.conftest import PASSWORD
from tests.accounts.forms import alerts, field_errors, page, submit, text


def last_code(db_session: Session, recipient: str) -> str:
    message = db_session.scalars(select(OutboxMessage).where(
        OutboxMessage.recipient == recipient).order_by(OutboxMessage.id.desc())).first()
    assert message is not None
    return str(message.context["code"])


def reload(db_session: Session, account: Account) -> Account:
    db_session.expire_all()
    found = db_session.get(Account, account.id)
    assert found is not None
    return found


def test_the_account_page_lists_contacts_language_and_password(signed_in: FlaskClient) -> None:
    status, body = page(signed_in, "/account")
    assert status == 200
    assert "<h1>Mon compte</h1>" in body
    assert body.count("<p class=\"fr-mb-1w\">Aucun.</p>") == 2
    assert "vous ne pourrez pas obtenir seul(e) un nouveau mot de passe" in body
    assert '<span lang="fr">Français</span>' in body
    assert 'href="/account/password"' in body
    assert 'action="/account/signout-everywhere"' in body


def test_adding_and_verifying_an_email(signed_in: FlaskClient, account: Account,
                                       db_session: Session) -> None:
    response = submit(signed_in, "/account/contact/email",
                      {"value": " Amina@Example.ORG ", "password": PASSWORD})
    assert response.status_code == 303
    assert response.headers["Location"] == "/account/verify/email"
    assert reload(db_session, account).email == "amina@example.org"
    message = db_session.scalars(select(OutboxMessage).where(
        OutboxMessage.recipient == "amina@example.org")).one()
    assert message.channel.value == "email" and message.template == "verification_code"
    assert message.context == {"code": message.context["code"], "minutes": 15}
    assert len(message.context["code"]) == 6 and message.context["code"].isdigit()
    # Only a digest of the code is kept.
    stored = db_session.scalars(select(OneTimeCode).where(
        OneTimeCode.account_id == account.id)).one()
    assert message.context["code"] not in stored.code_digest and len(stored.code_digest) == 64

    status, body = page(signed_in, "/account/verify/email")
    assert "Nous avons envoyé un code de 6 chiffres par e-mail à\u00a0:" in body
    response = submit(signed_in, "/account/verify/email", {"code": "000000"
                      if message.context["code"] != "000000" else "111111"})
    assert response.status_code == 422
    assert field_errors(text(response), "code") == [
        "Ce code n’est pas le bon. Vérifiez-le et essayez encore (il reste 4 essais)."]
    response = submit(signed_in, "/account/verify/email",
                      {"code": " ".join(message.context["code"])})
    assert response.headers["Location"] == "/account"
    assert alerts(page(signed_in, "/account")[1]) == ["Merci : ce contact est vérifié."]
    assert reload(db_session, account).email_verified_at is not None


def test_changing_a_contact_asks_for_the_password(signed_in: FlaskClient, account: Account,
                                                  db_session: Session) -> None:
    account.activated_at -= timedelta(hours=1)  # the activation's grace is over
    db_session.commit()
    response = submit(signed_in, "/account/contact/phone",
                      {"value": "07 98 76 54 32", "password": "pas le mien du tout"})
    assert response.status_code == 422
    assert field_errors(text(response), "password") == [
        "Ce n’est pas votre mot de passe. Tapez le mot de passe que vous utilisez pour vous "
        "connecter."]
    assert reload(db_session, account).phone is None
    response = submit(signed_in, "/account/contact/phone",
                      {"value": "07 98 76 54 32", "password": PASSWORD})
    assert response.headers["Location"] == "/account/verify/phone"
    assert reload(db_session, account).phone == "+33798765432"


def test_invalid_contacts_are_explained(signed_in: FlaskClient) -> None:
    response = submit(signed_in, "/account/contact/phone",
                      {"value": "01 23 45 67 89", "password": PASSWORD})
    assert field_errors(text(response), "value") == [
        "Tapez un numéro de portable : 06 ou 07 suivi de 8 chiffres, ou un numéro international "
        "qui commence par +."]
    response = submit(signed_in, "/account/contact/email",
                      {"value": "amina@", "password": PASSWORD})
    assert field_errors(text(response), "value") == [
        "Tapez une adresse e-mail comme nom@example.org."]
    assert 'type="email"' in text(response) and 'autocomplete="email"' in text(response)


def test_a_code_works_5_times_then_never(signed_in: FlaskClient, account: Account,
                                        db_session: Session) -> None:
    submit(signed_in, "/account/contact/email", {"value": "a@example.org", "password": PASSWORD})
    code = last_code(db_session, "a@example.org")
    wrong = "123456" if code != "123456" else "654321"
    for remaining in (4, 3, 2, 1):
        response = submit(signed_in, "/account/verify/email", {"code": wrong})
        assert f"il reste {remaining} essais" in text(response)
    response = submit(signed_in, "/account/verify/email", {"code": wrong})
    assert field_errors(text(response), "code") == [
        "Ce code ne marche plus. Demandez un nouveau code."]
    response = submit(signed_in, "/account/verify/email", {"code": code})
    assert response.status_code == 422  # the right code, too late
    assert reload(db_session, account).email_verified_at is None


def test_a_code_expires_after_15_minutes_and_a_new_one_replaces_it(
        signed_in: FlaskClient, account: Account, db_session: Session) -> None:
    with time_machine.travel(db.utcnow(), tick=False) as traveller:
        submit(signed_in, "/account/contact/email",
               {"value": "a@example.org", "password": PASSWORD})
        first = last_code(db_session, "a@example.org")
        traveller.shift(timedelta(minutes=14))
        response = submit(signed_in, "/account/verify/email", {"resend": "1"})
        assert response.status_code == 200
        assert alerts(text(response)) == [
            "Un nouveau code a été envoyé. Seul le dernier code reçu marche."]
        second = last_code(db_session, "a@example.org")
        if first != second:
            response = submit(signed_in, "/account/verify/email", {"code": first})
            assert response.status_code == 422  # replaced
        for _ in range(2):  # the session stays alive; the code does not
            traveller.shift(timedelta(minutes=8))
            assert page(signed_in, "/account")[0] == 200
        response = submit(signed_in, "/account/verify/email", {"code": second})
        assert field_errors(text(response), "code") == [
            "Ce code ne marche plus. Demandez un nouveau code."]


def test_codes_are_limited_per_hour(signed_in: FlaskClient, db_session: Session) -> None:
    submit(signed_in, "/account/contact/email", {"value": "a@example.org", "password": PASSWORD})
    for _ in range(4):
        assert submit(signed_in, "/account/verify/email", {"resend": "1"}).status_code == 200
    response = submit(signed_in, "/account/verify/email", {"resend": "1"})
    assert response.status_code == 422
    assert alerts(text(response)) == ["Vous avez demandé beaucoup de codes en peu de temps. "
                                      "Attendez une heure, puis demandez encore."]
    assert len(db_session.scalars(select(OutboxMessage).where(
        OutboxMessage.recipient == "a@example.org")).all()) == 5


def test_removing_a_contact(signed_in: FlaskClient, account: Account,
                            db_session: Session) -> None:
    submit(signed_in, "/account/contact/email", {"value": "a@example.org", "password": PASSWORD})
    response = submit(signed_in, "/account/contact/email/remove", {}, form_page="/account")
    assert response.headers["Location"] == "/account"
    found = reload(db_session, account)
    assert found.email is None and found.email_verified_at is None


def test_changing_the_language(signed_in: FlaskClient, account: Account,
                               db_session: Session) -> None:
    response = submit(signed_in, "/account/language", {"language": "en"})
    assert response.headers["Location"] == "/account"
    assert reload(db_session, account).language == "en"
    assert "<h1>My account</h1>" in page(signed_in, "/account")[1]
    response = submit(signed_in, "/account/language", {"language": "xx"})
    assert response.status_code == 422
    assert alerts(text(response)) == ["Choose one of the languages of the list."]


def test_a_weak_new_password_is_refused(signed_in: FlaskClient, account: Account,
                                        db_session: Session) -> None:
    response = submit(signed_in, "/account/password", {
        "current": PASSWORD, "password": "123456789012", "confirmation": "123456789012"})
    assert response.status_code == 422
    assert field_errors(text(response), "password") == [
        "Ce mot de passe est trop courant : les personnes qui attaquent les comptes l’essaient "
        "en premier."]
    assert reload(db_session, account).session_generation == 0
