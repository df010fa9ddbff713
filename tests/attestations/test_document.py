"""The PDF: A4, in French, its QR code read back by a real decoder, its token in the metadata."""

from __future__ import annotations

from datetime import date

import pytest

from app.attestations import document, signing
from tests import factories
from tests.attestations.conftest import SCOPES, check, issue, pages_of, qr_texts, render, text_of


@pytest.mark.parametrize("scope", SCOPES)
def test_every_sandbox_attestation_is_read_back_from_the_printed_page(
        app, db_session, people, scope, capsys) -> None:
    versions = {}
    for key, person in people.items():
        issued = issue(app, db_session, person, scope)
        pdf = render(app, issued)
        # As a phone reads it: the page rendered at 144 dpi, then a QR decoder.
        assert qr_texts(pdf) == [issued.token], key
        assert check(app, db_session, qr_texts(pdf)[0]).verdict == "valid"
        assert document.tokens_in(pdf) == [issued.token]
        versions[key] = document.qr_code(issued.token).version
    with capsys.disabled():
        print(f"\n{scope}: QR versions {min(versions.values())}..{max(versions.values())} "
              f"(error correction {signing.QR_ERROR})")
    assert max(versions.values()) <= 27


def test_the_page_is_a4_in_french_and_names_the_holder(app, db_session, people) -> None:
    issued = issue(app, db_session, people["established-family"], "civil_status")
    pdf = render(app, issued)
    assert pdf.startswith(b"%PDF-")
    sizes = [(round(page.get_width()), round(page.get_height())) for page in pages_of(pdf)]
    assert sizes == [(595, 842)]
    text = text_of(pdf)
    for expected in ("RÉPUBLIQUE FRANÇAISE",
                     "Office français de protection des réfugiés et apatrides",
                     "Attestation\u00a0: État civil et famille",
                     "Nom de naissance\u00a0: MUKAMANA", "Nom d’usage\u00a0: HABIMANA",
                     "Prénoms\u00a0: Espérance Marie-Claire",
                     "Date de naissance\u00a0: 30 juin 1984",
                     "Acte de naissance n° 2019-N-000452, établi le 30 septembre 2019",
                     "Parent\u00a0: inconnu",
                     "Enfant\u00a0: Ishimwe David HABIMANA, naissance\u00a0: 19 août 2016",
                     f"Attestation n° {issued.terms.id}",
                     "http://localhost/verify"):
        assert " ".join(expected.split()) in text, expected
    assert "valable jusqu’au" in text.lower()
    assert b"/Keywords (" + issued.token.encode() + b")" in pdf
    assert len(pdf) < 30_000


def test_a_name_outside_the_pdf_fonts_keeps_its_letters_in_the_signed_facts(
        app, db_session) -> None:
    person = factories.person(db_session, birth_name="ŞAHIN", given_names=["Gülşen"],
                              protections=[("refugee", date(2020, 1, 1), None)])
    issued = issue(app, db_session, person, "protection_status")
    pdf = render(app, issued)
    assert "Nom de naissance : SAHIN" in text_of(pdf)  # text_of makes every space one
    assert "Prénoms : Gülsen" in text_of(pdf)
    assert check(app, db_session, qr_texts(pdf)[0]).attestation.holder.birth_name == "ŞAHIN"


def test_tokens_are_found_in_a_file_only_where_they_are_whole() -> None:
    token = "eyJhbGciOiJFUzI1NiJ9.eyJoIjp7fX0." + "A" * 86
    assert document.tokens_in(b"%PDF /Keywords (" + token.encode() + b") x " +
                              token.encode()) == [token]
    assert document.tokens_in(b"%PDF nothing here eyJ.eyJ.short") == []
