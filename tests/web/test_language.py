"""The language switcher: a plain form, protected against forgery, never an open redirect."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Blueprint, Flask
from flask.testing import FlaskClient

from app.site import csrf
from tests.web.conftest import csrf_token_of, fetch


def switch(browser: FlaskClient, **form: str):  # type: ignore[no-untyped-def]
    with browser.post("/language", data=form) as response:
        return response


def test_switching_to_english_goes_back_and_is_remembered(browser: FlaskClient,
                                                          token: str) -> None:
    response = switch(browser, csrf_token=token, lang="en", next="/accessibilite")
    assert response.status_code == 303
    assert response.headers["Location"] == "/accessibilite"
    cookie = browser.get_cookie("lang")
    assert cookie is not None and cookie.value == "en"
    assert cookie.http_only and cookie.same_site == "Lax"
    _status, body, _headers = fetch(browser, "/accessibilite",
                                    headers={"Accept-Language": "fr"})
    assert '<html lang="en"' in body.decode()
    assert "<h1>Accessibility statement</h1>" in body.decode()


def test_the_switcher_is_a_form_with_a_token_and_each_language_named_in_itself(
        browser: FlaskClient) -> None:
    _status, body, _headers = fetch(browser, "/", headers={"Accept-Language": "en"})
    page = body.decode()
    assert '<form id="language" class="fr-mt-2w" method="post" action="/language"' in page
    assert 'name="csrf_token" value="' in page
    assert 'value="fr" lang="fr" class="fr-btn fr-btn--secondary">Français</button>' in page
    assert 'value="en" lang="en" class="fr-btn" aria-current="true">English</button>' in page


def test_without_a_token_the_switch_is_refused_in_plain_words(browser: FlaskClient) -> None:
    fetch(browser, "/")  # the session exists, the form does not carry its token
    response = switch(browser, lang="en", next="/")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "<h1>Ce formulaire n’est plus valable</h1>" in page
    assert "rechargez la page et essayez encore" in page
    assert browser.get_cookie("lang") is None


def test_a_token_from_another_session_is_refused(browser: FlaskClient, app: Flask) -> None:
    other = app.test_client()
    _status, body, _headers = fetch(other, "/")
    stolen = csrf_token_of(body.decode())
    fetch(browser, "/")
    assert switch(browser, csrf_token=stolen, lang="en").status_code == 400
    assert browser.get_cookie("lang") is None


def test_a_refused_form_is_a_page_even_for_clients_that_accept_anything(
        client: FlaskClient) -> None:
    with client.post("/language", data={"lang": "en"}, headers={"Accept": "*/*"}) as response:
        assert response.status_code == 400
        assert response.mimetype == "text/html"


@pytest.mark.parametrize("target", [
    "//evil.example", "https://evil.example", "http:evil.example", "/\\evil.example",
    "\\\\evil.example", "javascript:alert(1)", "evil.example", "/\r\nLocation: x", "",
])
def test_an_unsafe_next_is_not_followed(browser: FlaskClient, token: str, target: str) -> None:
    response = switch(browser, csrf_token=token, lang="en", next=target)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_an_unknown_language_changes_nothing(browser: FlaskClient, token: str) -> None:
    response = switch(browser, csrf_token=token, lang="xx", next="/")
    assert response.status_code == 303
    assert browser.get_cookie("lang") is None


def test_the_session_cookie_is_short_lived_and_out_of_reach_of_scripts(
        browser: FlaskClient, app: Flask) -> None:
    fetch(browser, "/")
    cookie = browser.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    assert cookie.http_only and cookie.same_site == "Lax"
    assert not cookie.secure  # ENV=test: plain http, as `make run` on 127.0.0.1
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(minutes=15)
    assert cookie.expires is not None


def test_static_files_never_set_the_session_cookie(browser: FlaskClient) -> None:
    fetch(browser, "/")
    with browser.get("/static/dsfr/LICENSE.md") as response:
        assert "Set-Cookie" not in response.headers


def _bare_app(env: str) -> Flask:
    app = Flask(__name__)
    app.config.update(ENV=env, SECRET_KEY="k" * 32)
    csrf.init_app(app)
    return app


def test_production_cookies_are_secure_and_host_bound() -> None:
    app = _bare_app("production")
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_NAME"] == "__Host-session"


def test_site_blueprints_and_protected_ones_check_the_token() -> None:
    app = _bare_app("test")
    site_vault = Blueprint("site_vault", __name__, url_prefix="/vault")
    portal = Blueprint("portal", __name__, url_prefix="/portal")
    csrf.protect(portal)
    unprotected = Blueprint("open", __name__, url_prefix="/open")
    for blueprint in (site_vault, portal, unprotected):
        blueprint.add_url_rule("/", "post", lambda: "done", methods=["POST"])
        app.register_blueprint(blueprint)
    client = app.test_client()
    assert client.post("/vault/").status_code == 400
    assert client.post("/portal/").status_code == 400
    assert client.post("/open/").status_code == 200
    with client.session_transaction() as session:
        session["csrf"] = "the-token-of-this-session"
    good, bad = {"csrf_token": "the-token-of-this-session"}, {"csrf_token": "another-token"}
    assert client.post("/vault/", data=good).status_code == 200
    assert client.post("/portal/", data=good).status_code == 200
    assert client.post("/vault/", data=bad).status_code == 400
