"""Signing in and out through the pages, and the slow-down then lock of an identifier."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

import pytest
import time_machine
from argon2 import PasswordHasher
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import db
from app.accounts import passwords, throttle
from app.accounts.models import Account, Throttle
from tests.accounts.conftest import PASSWORD, agdref
from tests.accounts.forms import alerts, field_errors, page, submit, text

REFUSED = ("Le numéro ou le mot de passe n’est pas bon. Vérifiez-les et essayez encore. Après "
           "plusieurs erreurs, il faudra attendre avant d’essayer à nouveau.")
UNKNOWN = "7599999999"


def sign_in(browser: FlaskClient, identifier: str, password: str, **data: str):  # type: ignore[no-untyped-def]
    return submit(browser, "/signin", {"identifier": identifier, "password": password, **data})


def test_sign_in_with_either_number_then_sign_out(browser: FlaskClient, account: Account) -> None:
    response = sign_in(browser, agdref(account), PASSWORD)
    assert response.status_code == 303
    assert response.headers["Location"] == "/espace"
    status, body = page(browser, "/espace")
    assert status == 200
    assert "<h1>Mon espace personnel</h1>" in body
    assert 'action="/signout"' in body

    response = submit(browser, "/signout", {}, form_page="/espace")
    assert response.headers["Location"] == "/signin"
    status, body = page(browser, "/signin")
    assert alerts(body) == ["Vous êtes déconnecté(e). Sur un téléphone partagé, fermez aussi "
                            "le navigateur."]
    response = browser.get("/espace")
    assert response.status_code == 302
    assert response.headers["Location"] == "/signin?next=%2Fespace"

    ofpra = account.person.ofpra_number or ""
    spaced = " ".join(ofpra[i:i + 3] for i in range(0, 12, 3))
    assert sign_in(browser, spaced, PASSWORD).headers["Location"] == "/espace"


def test_signing_out_needs_the_form(browser: FlaskClient, signed_in: FlaskClient) -> None:
    assert signed_in.get("/signout").status_code == 405
    assert signed_in.post("/signout").status_code == 400  # no CSRF token: refused
    assert page(signed_in, "/espace")[0] == 200


def test_the_sign_in_form_is_labelled_for_browsers_and_password_managers(
        browser: FlaskClient) -> None:
    status, body = page(browser, "/signin")
    assert status == 200
    assert '<label class="fr-label" for="identifier">Numéro AGDREF ou numéro OFPRA' in body
    assert 'id="identifier" name="identifier" type="text" autocomplete="username" ' \
           'inputmode="numeric">' in body
    assert 'id="password" name="password" type="password" autocomplete="current-password">' \
        in body
    assert 'href="/reset">Mot de passe oublié\u00a0?</a>' in body
    assert 'href="/activate">' in body


@pytest.mark.parametrize(("target", "expected"), [
    ("/espace/acces", "/espace/acces"), ("https://evil.example/", "/espace"),
    ("//evil.example", "/espace"), ("/\\evil.example", "/espace"),
])
def test_sign_in_returns_to_a_page_of_this_site_only(browser: FlaskClient, account: Account,
                                                    target: str, expected: str) -> None:
    response = submit(browser, "/signin", {"identifier": agdref(account),
                                           "password": PASSWORD, "next": target},
                      form_page="/signin?next=" + target)
    assert response.headers["Location"] == expected


def test_a_wrong_password_and_an_unknown_number_get_the_same_answer(
        browser: FlaskClient, account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    verified: list[str] = []

    class Counting(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:  # noqa: A002
            verified.append(str(password))
            return super().verify(hash, password)

    monkeypatch.setattr(passwords, "HASHER", Counting(time_cost=1, memory_cost=8, parallelism=1))
    wrong = sign_in(browser, agdref(account), "pas le bon mot de passe")
    unknown = sign_in(browser, UNKNOWN, "pas le bon mot de passe")
    assert wrong.status_code == unknown.status_code == 422
    assert alerts(text(wrong)) == alerts(text(unknown)) == [REFUSED]
    # An argon2 verification in both cases: the answer takes as long.
    assert verified == ["pas le bon mot de passe", "pas le bon mot de passe"]


def test_a_malformed_number_is_explained(browser: FlaskClient) -> None:
    response = sign_in(browser, "abc", PASSWORD)
    assert response.status_code == 422
    assert field_errors(text(response), "identifier") == [
        "Tapez votre numéro AGDREF (10 chiffres) ou votre numéro OFPRA, comme il est écrit "
        "sur vos papiers."]


def attempts(browser: FlaskClient, identifier: str, count: int) -> list[tuple[int, list[str]]]:
    seen = []
    for _ in range(count):
        response = sign_in(browser, identifier, "pas le bon mot de passe")
        seen.append((response.status_code, alerts(text(response))))
    return seen


def test_failures_slow_down_then_lock_the_same_way_for_everyone(
        browser: FlaskClient, app, account: Account) -> None:
    answers = {}
    for identifier in (agdref(account), UNKNOWN):
        with time_machine.travel(db.utcnow(), tick=False) as traveller:
            seen = attempts(browser, identifier, 3)
            assert [status for status, _ in seen] == [422, 422, 422]
            # After 3 failures, each attempt waits: 1 s, then 2, 4, 8, 16, 32, 60 s...
            response = sign_in(browser, identifier, PASSWORD)
            assert response.status_code == 429
            assert response.headers["Retry-After"] == "1"
            assert alerts(text(response)) == [
                "Trop d’essais. Pour votre sécurité, attendez 1 seconde, puis essayez encore."]
            waits = []
            for failures in range(3, 10):
                traveller.shift(throttle.delay(failures))
                response = sign_in(browser, identifier, "pas le bon mot de passe")
                assert response.status_code == 422
                waits.append(throttle.delay(failures + 1).total_seconds())
            assert waits == [2, 4, 8, 16, 32, 60, 900]
            # 10 failures: locked for 15 minutes, even with the right password.
            traveller.shift(timedelta(minutes=14))
            response = sign_in(browser, identifier, PASSWORD)
            assert response.status_code == 429
            answers[identifier] = (response.headers["Retry-After"], alerts(text(response)))
            traveller.shift(timedelta(minutes=1))
            response = sign_in(browser, identifier, PASSWORD)
            assert response.status_code == (303 if identifier != UNKNOWN else 422)
    assert answers[agdref(account)] == answers[UNKNOWN] == (
        "60", ["Trop d’essais. Pour votre sécurité, attendez 1 minute, puis essayez encore."])


def test_a_success_forgets_the_failures(browser: FlaskClient, account: Account,
                                        app, db_session: Session) -> None:
    key = throttle.key(app.config["SECRET_KEY"], throttle.SIGN_IN, agdref(account))
    with time_machine.travel(db.utcnow(), tick=False) as traveller:
        attempts(browser, agdref(account), 3)
        db_session.expire_all()
        assert db_session.get(Throttle, key).failures == 3  # type: ignore[union-attr]
        traveller.shift(timedelta(seconds=1))
        assert sign_in(browser, agdref(account), PASSWORD).status_code == 303
        db_session.expire_all()
        assert db_session.get(Throttle, key) is None
    # The throttle is keyed by an HMAC: the table never holds the number.
    assert agdref(account) not in key


def test_failures_are_forgotten_after_a_quiet_day(browser: FlaskClient, account: Account) -> None:
    with time_machine.travel(db.utcnow(), tick=False) as traveller:
        attempts(browser, agdref(account), 9)
        traveller.shift(timedelta(hours=25))
        assert [status for status, _ in attempts(browser, agdref(account), 3)] \
            == [422, 422, 422]


def test_an_old_hash_is_replaced_at_sign_in(browser: FlaskClient, account: Account,
                                            db_session: Session, monkeypatch) -> None:
    old = account.password_hash
    stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    monkeypatch.setattr(passwords, "HASHER", stronger)
    assert passwords.needs_rehash(old)
    assert sign_in(browser, agdref(account), PASSWORD).status_code == 303
    db_session.expire_all()
    renewed = db_session.scalars(select(Account.password_hash).where(
        Account.id == account.id)).one()
    assert renewed != old and "$m=16,t=2,p=1$" in renewed
    assert not passwords.needs_rehash(renewed)


def test_the_sign_in_page_redirects_when_already_signed_in(signed_in: FlaskClient) -> None:
    response = signed_in.get("/signin")
    assert response.status_code == 303
    assert response.headers["Location"] == "/espace"
