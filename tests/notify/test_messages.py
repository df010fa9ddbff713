"""The texts: in the person's language, from the catalogues, and saying nothing of the case."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from app.notify import messages

URL = "https://connect.ofpra.test/"

EXPECTED = {
    ("document_deposited", "fr"): (
        "Ofpra Connect : vous avez un nouveau courrier",
        "Un nouveau courrier de l'OFPRA est dans votre espace personnel. "
        f"Connectez-vous pour le lire : {URL}"),
    ("document_deposited", "en"): (
        "Ofpra Connect: you have a new letter",
        f"A new letter from OFPRA is in your personal space. Sign in to read it: {URL}"),
    ("consent_request", "fr"): (
        "Ofpra Connect : une demande de consentement",
        f"Une administration vous demande votre consentement dans votre espace personnel : {URL}"),
    ("consent_request", "en"): (
        "Ofpra Connect: a request for your consent",
        f"An administration asks for your consent in your personal space: {URL}"),
    ("verification_code", "fr"): (
        "Ofpra Connect : votre code",
        "Votre code Ofpra Connect : 123456. Il expire dans 15 minutes. "
        "Ne le communiquez jamais."),
    ("verification_code", "en"): (
        "Ofpra Connect: your code",
        "Your Ofpra Connect code: 123456. It expires in 15 minutes. Never share it."),
    ("password_reset_code", "fr"): (
        "Ofpra Connect : changer votre mot de passe",
        "Votre code pour changer votre mot de passe Ofpra Connect : 123456. Il expire dans "
        "15 minutes. Ne le communiquez jamais. Si vous ne l'avez pas demandé, ignorez ce "
        "message."),
    ("password_reset_code", "en"): (
        "Ofpra Connect: change your password",
        "Your code to change your Ofpra Connect password: 123456. It expires in 15 minutes. "
        "Never share it. If you did not ask for it, ignore this message."),
}


def context_of(template: str) -> dict[str, str]:
    return {"code": "123456"} if template.endswith("code") else {}


@pytest.mark.parametrize(("template", "language"), sorted(EXPECTED))
def test_each_template_in_french_and_english(app: Flask, template: str, language: str):
    with app.app_context():
        rendered = messages.render(template, language, context_of(template), public_url=URL)
    assert (rendered.subject, rendered.text) == EXPECTED[template, language]


def test_every_template_is_covered():
    assert {template for template, _language in EXPECTED} == set(messages.TEMPLATES)


@pytest.mark.parametrize(("language", "expected"), [
    ("en-GB", "en"), ("en_US", "en"), ("FR", "fr"),
    # No catalogue yet: French, as the pages.
    ("ps", "fr"), ("prs", "fr"), ("ar", "fr"),
])
def test_languages_without_a_catalogue_get_french(app: Flask, language: str, expected: str):
    with app.app_context():
        rendered = messages.render("document_deposited", language, {}, public_url=URL)
    assert rendered.text == EXPECTED["document_deposited", expected][1]


def test_emails_say_that_replies_are_not_read(app: Flask):
    with app.app_context():
        french = messages.render("consent_request", "fr", {}, public_url=URL, email=True)
        english = messages.render("consent_request", "en", {}, public_url=URL, email=True)
    assert french.text.endswith(
        "\n\nCe message est envoyé automatiquement : les réponses ne sont pas lues.")
    assert english.text.endswith("\n\nThis message was sent automatically: replies are not read.")


@pytest.mark.parametrize(("template", "language"), sorted(EXPECTED))
def test_texts_carry_nothing_but_the_link_and_the_code(template: str, language: str):
    # Every variable part of every text is the link or the code: no name, title or date.
    text = EXPECTED[template, language][1]
    rest = text.replace(URL, "").replace("123456", "")
    assert not re.search(r"\d", rest.replace("15 minutes", ""))
    assert set(messages.TEMPLATES[template].params) <= {"code", "minutes"}


def test_sms_texts_stay_in_the_gsm_alphabet():
    # Curly apostrophes or narrow spaces would make every SMS a costlier UCS-2 one.
    gsm = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
              "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
    for (_template, _language), (_subject, text) in EXPECTED.items():
        assert set(text) <= gsm, text
