"""Password reset: a code sent to a verified contact; the page says the same in every case."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import db
from app.accounts import passwords, services
from app.accounts.models import Account, CodePurpose, OneTimeCode
from app.notify import senders, worker
from app.notify.models import Channel, OutboxMessage
from tests.accounts.conftest import PASSWORD, agdref
from tests.accounts.forms import alerts, field_errors, page, submit, text

NEW_PASSWORD = "le train part a midi pile"  # noqa: S105 (a test password)
SAME_ANSWER = ("Si ce compte existe et a une adresse e-mail ou un numéro de portable vérifié, un "
               "code de 6 chiffres y a été envoyé. Il marche pendant 15 minutes.")


@pytest.fixture()
def verified(account: Account, accounts: services.Accounts, db_session: Session) -> Account:
    """The account, with a verified e-mail address."""
    now = db.utcnow()
    accounts.set_contact(account, services.Contact.EMAIL, "amina@example.org", now)
    code = db_session.scalars(select(OutboxMessage).where(
        OutboxMessage.recipient == "amina@example.org")).one().context["code"]
    accounts.verify_contact(account, services.Contact.EMAIL, code, now)
    db_session.commit()
    return account


def reset_codes(db_session: Session) -> list[OutboxMessage]:
    return list(db_session.scalars(select(OutboxMessage).where(
        OutboxMessage.template == "password_reset_code").order_by(OutboxMessage.id)))


def ask(browser: FlaskClient, identifier: str):  # type: ignore[no-untyped-def]
    response = submit(browser, "/reset", {"identifier": identifier})
    assert response.status_code == 303
    assert response.headers["Location"] == "/reset/confirm"
    return page(browser, "/reset/confirm")[1]


def first_paragraph(body: str) -> str:
    start = body.index("<h1>")
    return " ".join(body[start:body.index("</p>", start)].split("<p>")[1].split())


def test_the_whole_reset(browser: FlaskClient, verified: Account, db_session: Session,
                         app: Flask) -> None:
    other = app.test_client()
    submit(other, "/signin", {"identifier": agdref(verified), "password": PASSWORD})

    body = ask(browser, agdref(verified))
    assert first_paragraph(body) == SAME_ANSWER
    [message] = reset_codes(db_session)
    assert message.recipient == "amina@example.org" and message.channel is Channel.EMAIL
    assert message.language == "fr"

    response = submit(browser, "/reset/confirm", {"code": message.context["code"]})
    assert response.headers["Location"] == "/reset/password"
    status, body = page(browser, "/reset/password")
    assert "<h1>Choisissez un nouveau mot de passe</h1>" in body
    response = submit(browser, "/reset/password",
                      {"password": NEW_PASSWORD, "confirmation": NEW_PASSWORD})
    assert response.headers["Location"] == "/espace"
    assert page(browser, "/espace")[0] == 200  # signed in here

    db_session.expire_all()
    account = db_session.get(Account, verified.id)
    assert account is not None and passwords.verify(account.password_hash, NEW_PASSWORD)
    assert account.session_generation == 1
    assert other.get("/espace").status_code == 302  # signed out everywhere else
    # The code served once; the reset cannot be replayed.
    assert browser.get("/reset/password").headers["Location"] == "/reset"
    response = submit(browser, "/reset", {"identifier": agdref(verified)})
    assert submit(browser, "/reset/confirm",
                  {"code": message.context["code"]}).status_code == 422


@pytest.mark.parametrize("case", ["unknown", "no contact", "unverified contact"])
def test_the_answer_is_the_same_when_no_code_is_sent(browser: FlaskClient, account: Account,
                                                     accounts, db_session: Session,
                                                     case: str) -> None:
    identifier = "7599999999" if case == "unknown" else agdref(account)
    if case == "unverified contact":
        accounts.set_contact(account, services.Contact.EMAIL, "a@example.org", db.utcnow())
        db_session.commit()
    body = ask(browser, identifier)
    assert first_paragraph(body) == SAME_ANSWER
    assert reset_codes(db_session) == []
    response = submit(browser, "/reset/confirm", {"code": "123456"})
    assert response.status_code == 422
    assert field_errors(text(response), "code") == [
        "Ce code n’est pas le bon, ou il ne marche plus. Vérifiez-le, ou demandez un nouveau "
        "code."]


def test_wrong_reset_codes_slow_down_like_sign_in(browser: FlaskClient, verified: Account,
                                                  db_session: Session) -> None:
    with time_machine.travel(db.utcnow(), tick=False):
        ask(browser, agdref(verified))
        code = reset_codes(db_session)[0].context["code"]
        wrong = "123456" if code != "123456" else "654321"
        statuses = [submit(browser, "/reset/confirm", {"code": wrong}).status_code
                    for _ in range(4)]
        assert statuses == [422, 422, 422, 429]
        response = submit(browser, "/reset/confirm", {"code": code})
        assert response.status_code == 429
        assert alerts(text(response)) == [
            "Trop d’essais. Pour votre sécurité, attendez 1 seconde, puis essayez encore."]


def test_a_reset_code_expires(browser: FlaskClient, verified: Account,
                              db_session: Session) -> None:
    ask(browser, agdref(verified))
    code = reset_codes(db_session)[0].context["code"]
    stored = db_session.scalars(select(OneTimeCode).where(
        OneTimeCode.purpose == CodePurpose.RESET_PASSWORD)).one()
    assert stored.expires_at - stored.created_at == timedelta(minutes=15)
    stored.expires_at = db.utcnow() - timedelta(seconds=1)  # 15 minutes later
    db_session.commit()
    assert submit(browser, "/reset/confirm", {"code": code}).status_code == 422


def test_a_reset_code_reaches_a_real_mailbox(browser: FlaskClient, verified: Account,
                                             db_session: Session, app: Flask,
                                             smtp_server) -> None:
    ask(browser, agdref(verified))
    sender = senders.SmtpSender("127.0.0.1", smtp_server.port, "Ofpra Connect <no-reply@localhost>")
    stats = worker.Worker(app, {Channel.EMAIL: sender}).run_once()
    assert stats.sent >= 1
    mails = [received for received in smtp_server.messages
             if "amina@example.org" in received.rcpt_tos]
    body = mails[-1].message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert mails[-1].message["Subject"] == "Ofpra Connect : changer votre mot de passe"
    code = next(word.strip(".") for word in body.split() if word.strip(".").isdigit()
                and len(word.strip(".")) == 6)
    assert verified.person.birth_name not in body  # an alert never names the person
    response = submit(browser, "/reset/confirm", {"code": code})
    assert response.headers["Location"] == "/reset/password"
