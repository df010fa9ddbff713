"""The pages of the personal space: languages, the strict policy, error pages."""

from __future__ import annotations

import json
import re

import pytest
from flask import Flask, g
from flask.testing import FlaskClient

from app import errors, i18n
from app.site import pages
from tests.web.conftest import fetch

STRICT_CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
              "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
PAGES = ["/", "/accessibilite", "/mentions-legales"]


def html_lang(body: str) -> str:
    match = re.search(r'<html lang="([^"]+)" dir="(ltr|rtl)">', body)
    assert match, "no <html lang dir>"
    return match.group(1)


def test_home_is_in_french_by_default(browser: FlaskClient) -> None:
    status, body, headers = fetch(browser, "/")
    page = body.decode()
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert html_lang(page) == "fr"
    assert "<h1>Votre espace personnel</h1>" in page
    assert "Cet espace est pour les personnes protégées par l’OFPRA." in page
    # A {% trans %} block spanning lines is found in the catalogue (trimmed on both sides).
    assert "Un travailleur social ou une association peut vous aider" in page
    assert "Accessibilité\u00a0: non conforme" in page
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page


def test_home_is_in_english_for_an_english_browser(browser: FlaskClient) -> None:
    _status, body, _headers = fetch(browser, "/", headers={"Accept-Language": "en-GB,en;q=0.8"})
    page = body.decode()
    assert html_lang(page) == "en"
    assert "<h1>Your personal space</h1>" in page
    assert "A social worker or an association can help you use this space." in page
    assert "Accessibility: not compliant" in page
    # The State's brand block stays in French, and says so.
    assert '<p class="fr-logo" lang="fr">République<br>Française</p>' in page


def test_an_unsupported_language_falls_back_to_french(browser: FlaskClient) -> None:
    _status, body, _headers = fetch(browser, "/", headers={"Accept-Language": "de-DE,de"})
    assert html_lang(body.decode()) == "fr"


def test_the_language_cookie_wins_over_the_browser(browser: FlaskClient) -> None:
    browser.set_cookie("lang", "en")
    _status, body, _headers = fetch(browser, "/", headers={"Accept-Language": "fr"})
    assert html_lang(body.decode()) == "en"


def test_the_signed_in_account_language_wins(app: Flask) -> None:
    with app.test_request_context("/", headers={"Accept-Language": "fr",
                                                "Cookie": "lang=fr"}):
        g.account_language = "en"
        assert i18n.select_locale() == "en"


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_the_strict_policy_and_no_inline_code(browser: FlaskClient,
                                                        path: str) -> None:
    status, body, headers = fetch(browser, path)
    page = body.decode()
    assert status == 200
    assert headers["Content-Security-Policy"] == STRICT_CSP
    assert headers["Cache-Control"] == "no-store"
    assert "Accept-Language" in headers["Vary"]
    assert "<script" not in page
    assert "<style" not in page
    assert " style=" not in page
    assert re.search(r"\son[a-z]+=", page) is None  # no inline event handlers


def test_accessibility_statement_states_non_compliance(browser: FlaskClient) -> None:
    _status, body, _headers = fetch(browser, "/accessibilite")
    page = body.decode()
    assert "<h1>Déclaration d’accessibilité</h1>" in page
    assert "<strong>non conforme</strong> avec le RGAA 4.1.2" in page
    assert "aucun audit n’a encore été fait" in page
    assert "Défenseur des droits" in page


def test_legal_notices_name_the_publisher_and_the_cookies(browser: FlaskClient) -> None:
    _status, body, _headers = fetch(browser, "/mentions-legales",
                                    headers={"Accept-Language": "en"})
    page = body.decode()
    assert "<h1>Legal notices</h1>" in page
    assert "201 rue Carnot" in page
    assert "This site uses two cookies, and no others:" in page


def test_a_missing_page_is_a_page_for_a_browser(browser: FlaskClient) -> None:
    status, body, headers = fetch(browser, "/nulle-part")
    page = body.decode()
    assert status == 404
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Content-Security-Policy"] == STRICT_CSP
    assert html_lang(page) == "fr"
    assert "<h1>Cette page n’existe pas</h1>" in page


def test_a_wrong_method_on_a_page_is_a_page_too(browser: FlaskClient) -> None:
    status, body, headers = fetch(browser, "/language", headers={"Accept-Language": "en"})
    assert status == 405
    assert headers["Allow"] == "POST" or set(headers["Allow"].split(", ")) == {"POST",
                                                                               "OPTIONS"}
    assert "<h1>This action is not possible here</h1>" in body.decode()


@pytest.mark.parametrize("path", ["/v1/nothing", "/oauth/nothing", "/.well-known/nothing",
                                  "/static/nothing.css"])
def test_machine_paths_keep_problem_documents(browser: FlaskClient, path: str) -> None:
    status, body, headers = fetch(browser, path)
    assert status == 404
    assert headers["Content-Type"] == "application/problem+json"
    assert json.loads(body)["code"] == "no_such_resource"


def test_clients_that_accept_anything_get_problem_documents(client: FlaskClient) -> None:
    status, body, headers = fetch(client, "/nulle-part", headers={"Accept": "*/*"})
    assert status == 404
    assert headers["Content-Type"] == "application/problem+json"
    assert json.loads(body)["code"] == "no_such_resource"


def test_an_unexpected_error_page_gives_the_request_id(app: Flask) -> None:
    with app.test_request_context("/", headers={"Accept": "text/html",
                                                "Accept-Language": "en",
                                                "X-Request-ID": "req-0123456789"}):
        response = errors.page(RuntimeError("boom"), 500)
        assert response is not None
        page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert response.headers["Content-Security-Policy"] == STRICT_CSP
    assert "<h1>Sorry, something went wrong on our side</h1>" in page
    assert "<strong>req-0123456789</strong>" in page
    assert "boom" not in page


@pytest.mark.parametrize(("path", "expected"), [
    ("/", True), ("/accessibilite", True), ("/v1", False), ("/v1/civil-status", False),
    ("/v1beta", True), ("/openapi.json", False), ("/.well-known/jwks.json", False),
    ("/oauth/token", False), ("/static/dsfr/core/core.min.css", False),
])
def test_page_paths(path: str, expected: bool) -> None:
    assert pages.is_page_path(path) is expected
