"""Sessions on shared phones: short, superseded by a password change, out of scripts' reach."""

from __future__ import annotations

import base64
import json
import re
import secrets
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app import create_app, db
from app.accounts import session as signed
from app.accounts.models import Account
from tests.accounts.conftest import PASSWORD, agdref
from tests.accounts.forms import alerts, page, submit
from tests.conftest import settings

NEW_PASSWORD = "trois oiseaux sur le toit"  # noqa: S105 (a test password)


def test_the_session_ends_after_15_idle_minutes(browser: FlaskClient, account: Account,
                                                app: Flask) -> None:
    assert app.config["SESSION_IDLE_MINUTES"] == 15
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(minutes=15)
    with time_machine.travel(db.utcnow(), tick=False) as traveller:
        submit(browser, "/signin", {"identifier": agdref(account),
                                    "password": PASSWORD})
        for _ in range(3):  # each request restarts the 15 minutes
            traveller.shift(timedelta(minutes=14))
            assert page(browser, "/espace")[0] == 200
        traveller.shift(timedelta(minutes=16))
        response = browser.get("/espace")
        assert response.status_code == 302
        assert response.headers["Location"] == "/signin?next=%2Fespace"
    with browser.session_transaction() as state:
        assert "account_id" not in state


def test_a_busy_session_still_ends_after_12_hours(browser: FlaskClient, account: Account,
                                                  app: Flask) -> None:
    with time_machine.travel(db.utcnow(), tick=False) as traveller:
        submit(browser, "/signin", {"identifier": agdref(account), "password": PASSWORD})
        for _ in range(12 * 6 - 1):  # a request every 10 minutes
            traveller.shift(timedelta(minutes=10))
            assert browser.get("/espace").status_code == 200
        traveller.shift(timedelta(minutes=10, seconds=1))
        assert browser.get("/espace").status_code == 302


def test_an_idle_session_is_over_even_if_the_cookie_came_back(browser: FlaskClient,
                                                              signed_in: FlaskClient) -> None:
    with signed_in.session_transaction() as state:
        state["seen"] -= 16 * 60
    assert signed_in.get("/espace").status_code == 302


def test_a_password_change_ends_the_other_sessions(app: Flask, signed_in: FlaskClient,
                                                   account: Account, db_session: Session
                                                   ) -> None:
    other = app.test_client()
    other.environ_base["HTTP_ACCEPT"] = signed_in.environ_base["HTTP_ACCEPT"]
    submit(other, "/signin", {"identifier": agdref(account), "password": PASSWORD})
    assert page(other, "/espace")[0] == 200

    response = submit(signed_in, "/account/password", {
        "current": PASSWORD, "password": NEW_PASSWORD, "confirmation": NEW_PASSWORD})
    assert response.headers["Location"] == "/account"
    status, body = page(signed_in, "/account")
    assert status == 200  # this session goes on, with the new generation
    assert alerts(body) == ["Votre mot de passe a été changé. Partout ailleurs, vous êtes "
                            "déconnecté(e)."]
    assert other.get("/espace").status_code == 302  # the other one is over
    db_session.expire_all()
    assert db_session.get(Account, account.id).session_generation == 1  # type: ignore[union-attr]


def test_signing_out_everywhere(app: Flask, signed_in: FlaskClient, account: Account) -> None:
    other = app.test_client()
    submit(other, "/signin", {"identifier": agdref(account), "password": PASSWORD})
    response = submit(signed_in, "/account/signout-everywhere", {}, form_page="/account")
    assert response.headers["Location"] == "/signin"
    assert signed_in.get("/espace").status_code == 302
    assert other.get("/espace").status_code == 302


def test_signing_in_starts_a_new_session(browser: FlaskClient, account: Account) -> None:
    page(browser, "/signin")
    with browser.session_transaction() as state:
        before = state["csrf"]
    submit(browser, "/signin", {"identifier": agdref(account),
                                "password": PASSWORD})
    page(browser, "/espace")
    with browser.session_transaction() as state:
        assert state["csrf"] != before  # no token (nor anything else) carried over
        assert state["account_id"] == account.id and state["generation"] == 0


def test_the_session_cookie_is_out_of_reach_of_scripts_and_other_sites(
        signed_in: FlaskClient, app: Flask) -> None:
    cookie = signed_in.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    assert cookie.http_only and cookie.same_site == "Lax" and cookie.path == "/"
    assert not cookie.secure  # ENV=test: plain http


def test_in_production_the_cookie_is_secure_and_host_bound(
        database_url: str, keys_dir: Path, tmp_path: Path) -> None:
    # Production refuses to start without its vault master key: give it one.
    master = json.dumps({"k1": base64.b64encode(secrets.token_bytes(32)).decode()})
    production = create_app(settings(database_url, keys_dir, tmp_path, ENV="production",
                                     TESTING=False, VAULT_MASTER_KEYS=master))
    try:
        client = production.test_client()
        response = client.get("/signin", base_url="https://localhost",
                              headers={"Accept": "text/html"})
        assert response.status_code == 200
        cookie = response.headers["Set-Cookie"]
        assert cookie.startswith("__Host-session=")
        attributes = {part.strip().split("=")[0] for part in cookie.split(";")[1:]}
        assert {"Secure", "HttpOnly", "Path", "SameSite", "Expires"} <= attributes
        assert "SameSite=Lax" in cookie and "Path=/" in cookie and "Domain" not in cookie
    finally:
        production.extensions["ofpra.db"].engine.dispose()


def test_the_account_language_applies_to_every_page(app: Flask, signed_in: FlaskClient,
                                                    account: Account, db_session: Session
                                                    ) -> None:
    submit(signed_in, "/account/language", {"language": "en"})
    status, body = page(signed_in, "/", headers={"Accept-Language": "fr"})
    assert '<html lang="en"' in body
    # The header's switcher, used while signed in, changes the account's language too.
    response = submit(signed_in, "/language", {"lang": "fr", "next": "/espace"},
                      form_page="/espace")
    assert response.headers["Location"] == "/espace"
    db_session.expire_all()
    assert db_session.get(Account, account.id).language == "fr"  # type: ignore[union-attr]
    assert '<html lang="fr"' in page(signed_in, "/espace", headers={"Accept-Language": "en"})[1]


@pytest.mark.parametrize(("target", "expected"), [
    ("/espace", "/espace"), ("/espace?page=2", "/espace?page=2"), (None, "/x"), ("", "/x"),
    ("https://evil.example", "/x"), ("//evil.example", "/x"), ("/\\evil", "/x"),
    ("/a\r\nSet-Cookie: x", "/x"), ("javascript:alert(1)", "/x"),
])
def test_safe_next(target: str | None, expected: str) -> None:
    assert signed.safe_next(target, "/x") == expected


def test_login_required_keeps_the_page_asked_for(browser: FlaskClient) -> None:
    response = browser.get("/account/contact/email?x=1")
    assert response.status_code == 302
    assert re.fullmatch(r"/signin\?next=%2Faccount%2Fcontact%2Femail%3Fx%3D1",
                        response.headers["Location"])
