"""Every page of the accounts: the strict policy, French and English, and a light first visit."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from tests.accounts.forms import page, submit
from tests.web.test_assets import BUDGET, first_visit
from tests.web.test_pages import STRICT_CSP

PUBLIC = ["/activate", "/activate/by-post", "/signin", "/reset"]
SIGNED_IN = ["/espace", "/account", "/account/contact/email", "/account/contact/phone",
             "/account/language", "/account/password", "/activate/contacts",
             "/activate/language", "/activate/done"]
# One title per page and language: the page is wholly translated, not only its frame.
TITLES = {
    "/activate": ("Activer votre espace personnel", "Activate your personal space"),
    "/activate/by-post": ("Vos courriers arrivent par la poste", "Your letters come by post"),
    "/signin": ("Connectez-vous à votre espace personnel", "Sign in to your personal space"),
    "/reset": ("Mot de passe oublié\u00a0?", "Forgot your password?"),
    "/espace": ("Mon espace personnel", "My personal space"),
    "/account": ("Mon compte", "My account"),
    "/account/contact/email": ("Votre adresse e-mail", "Your e-mail address"),
    "/account/contact/phone": ("Votre numéro de portable", "Your mobile number"),
    "/account/language": ("Choisissez votre langue", "Choose your language"),
    "/account/password": ("Choisissez un nouveau mot de passe", "Choose a new password"),
    "/activate/contacts": ("Comment l’OFPRA peut-il vous prévenir qu’un courrier est "
                           "arrivé\u00a0?", "How can OFPRA tell you a letter arrived?"),
    "/activate/language": ("Choisissez votre langue", "Choose your language"),
    "/activate/done": ("Votre espace personnel est prêt", "Your personal space is ready"),
}


def check(browser: FlaskClient, path: str, language: str) -> str:
    with browser.get(path, headers={"Accept-Language": language}) as response:
        body = response.get_data(as_text=True)
        assert response.status_code == 200, path
        assert response.headers["Content-Security-Policy"] == STRICT_CSP
        assert response.headers["Cache-Control"] == "no-store"
    assert f'<html lang="{language}"' in body
    assert "<script" not in body and "<style" not in body and " style=" not in body
    assert re.search(r"\son[a-z]+=", body) is None
    return body


@pytest.mark.parametrize("path", PUBLIC)
def test_public_pages_in_french_and_english(browser: FlaskClient, path: str) -> None:
    french, english = TITLES[path]
    assert f"<h1>{french}</h1>" in check(browser, path, "fr")
    assert f"<h1>{english}</h1>" in check(browser, path, "en")


@pytest.mark.parametrize("path", SIGNED_IN)
def test_signed_in_pages_in_french_and_english(signed_in: FlaskClient, path: str) -> None:
    french, english = TITLES[path]
    assert f"<h1>{french}</h1>" in check(signed_in, path, "fr")
    # The account's language wins over the browser's: the person chooses English.
    submit(signed_in, "/account/language", {"language": "en"})
    with signed_in.get(path, headers={"Accept-Language": "fr"}) as response:
        assert '<html lang="en"' in response.get_data(as_text=True)
    assert f"<h1>{english}</h1>" in check(signed_in, path, "en")


@pytest.mark.parametrize("path", ["/activate/password", "/reset/confirm", "/reset/password",
                                  "/activate/verify/email"])
def test_steps_out_of_order_send_back_to_their_start(browser: FlaskClient, path: str) -> None:
    response = browser.get(path)
    assert response.status_code in (302, 303)


def test_every_form_of_the_accounts_posts_a_token(signed_in: FlaskClient) -> None:
    for path in SIGNED_IN:
        body = page(signed_in, path)[1]
        forms = re.findall(r"<form\b.*?</form>", body, re.S)
        assert forms, path
        for form in forms:
            assert 'method="post"' in form and 'name="csrf_token"' in form, path


@pytest.mark.parametrize("path", ["/signin", "/activate", "/reset"])
def test_a_first_visit_stays_under_300_kb(browser: FlaskClient, path: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    sizes = first_visit(browser, path)
    total = sum(sizes.values())
    with capsys.disabled():
        print(f"\nfirst visit of {path}: {total:,} bytes in {len(sizes)} files "
              f"(HTML {sizes[path]:,})")
    assert total < BUDGET
    assert any("form.min.css" in url for url in sizes)


@pytest.mark.parametrize("path", SIGNED_IN)
def test_signed_in_pages_stay_under_300_kb_too(signed_in: FlaskClient, path: str) -> None:
    assert sum(first_visit(signed_in, path).values()) < BUDGET
