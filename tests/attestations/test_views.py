"""My attestations: the three records, a PDF per record, for the signed-in holder only."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.attestations import document
from app.attestations.models import Attestation
from tests import factories
from tests.attestations.conftest import PAGE, account, check, csrf_token_of, fetch, sign_in
from tests.web.test_assets import first_visit

STRICT = "default-src 'none'"


def page(browser, **kwargs) -> str:
    status, body, headers = fetch(browser, PAGE, **kwargs)
    assert status == 200, body[:300]
    assert headers["Content-Security-Policy"].startswith(STRICT)
    text = body.decode()
    assert "<script" not in text and "<style" not in text
    return text


def download(browser, scope: str, token: str):  # type: ignore[no-untyped-def]
    return browser.post(f"{PAGE}/{scope}", data={"csrf_token": token})


def test_a_visitor_is_sent_to_sign_in(browser) -> None:
    response = browser.get(PAGE)
    assert response.status_code == 302
    assert response.headers["Location"] == "/signin?next=%2Fespace%2Fattestations"
    assert browser.post(f"{PAGE}/protection_status").status_code in (302, 400)


def test_the_page_shows_the_three_records_each_with_its_download(browser, signed_in) -> None:
    text = page(browser)
    assert "<h1>Mes attestations</h1>" in text
    assert "Elle est en français, la langue de vos documents d’état civil" in text
    assert "Elle est valable 90 jours." in text
    assert "Protection\u00a0: oui — statut de réfugié depuis le 2 mars 2021" in text
    assert "Dossier d’état civil à l’OFPRA\u00a0: documents en préparation" in text
    assert "État civil établi par l’OFPRA\u00a0: non" in text
    assert "Nom de naissance\u00a0: NOORI" in text
    for scope in ("protection_status", "civil_status_progress", "civil_status"):
        assert f'action="{PAGE}/{scope}"' in text
    assert text.count(">Télécharger une attestation<") == 3
    assert "Vous n’avez encore téléchargé aucune attestation." in text


def test_the_page_explains_in_the_persons_language(browser, db_session, refugee) -> None:
    sign_in(browser, account(db_session, refugee, language="en"))
    text = page(browser)
    assert "<h1>My attestations</h1>" in text
    assert "It is in French, the language of your civil-status documents" in text
    assert "Protected: yes — refugee since March 2, 2021" in text


def test_the_dashboard_links_to_it(browser, signed_in) -> None:
    _status, body, _headers = fetch(browser, "/espace")
    assert f'href="{PAGE}"' in body.decode()


def test_downloading_gives_a_pdf_about_the_signed_in_person(app, browser, db_session,
                                                            signed_in, refugee) -> None:
    token = csrf_token_of(page(browser))
    response = download(browser, "protection_status", token)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert re.fullmatch(r'attachment; filename="attestation-ofpra-protection-status-'
                        r'\d{4}-\d{2}-\d{2}\.pdf"', response.headers["Content-Disposition"])
    assert response.headers["Cache-Control"] == "no-store"
    (qr,) = document.tokens_in(response.data)
    result = check(app, db_session, qr)
    assert result.verdict == "valid"
    assert result.attestation.holder.birth_name == "NOORI"
    rows = db_session.scalars(select(Attestation)).all()
    assert [(row.id, row.person_id) for row in rows] == [(result.attestation.terms.id,
                                                         refugee.id)]
    text = page(browser)
    assert "Valable jusqu’au" in text and "La télécharger à nouveau" in text


def test_a_download_needs_the_forms_token_and_a_known_record(browser, signed_in) -> None:
    assert browser.post(f"{PAGE}/protection_status").status_code == 400
    token = csrf_token_of(page(browser))
    assert download(browser, "nationality", token).status_code == 404


def test_only_the_holder_downloads_an_attestation_again(app, browser, db_session,
                                                        signed_in, refugee) -> None:
    token = csrf_token_of(page(browser))
    first = document.tokens_in(download(browser, "civil_status", token).data)[0]
    attestation_id = check(app, db_session, first).attestation.terms.id
    status, body, headers = fetch(browser, f"{PAGE}/{attestation_id}.pdf")
    assert status == 200 and headers["Content-Type"] == "application/pdf"
    again = check(app, db_session, document.tokens_in(body)[0])
    assert again.verdict == "valid" and again.attestation.terms.id == attestation_id
    # Someone else, signed in: as if it did not exist.
    stranger = factories.person(db_session, birth_name="AUTRE")
    sign_in(browser, account(db_session, stranger))
    assert fetch(browser, f"{PAGE}/{attestation_id}.pdf")[0] == 404
    assert "NOORI" not in page(browser)
    # Nobody signed in: the sign-in page.
    browser.delete_cookie("session")
    assert fetch(browser, f"{PAGE}/{attestation_id}.pdf")[0] == 302


def test_the_page_adds_little_to_what_the_phone_already_holds(browser, signed_in,
                                                              capsys) -> None:
    shared = first_visit(browser, "/")
    sizes = first_visit(browser, PAGE)
    added = {url: size for url, size in sizes.items() if url not in shared}
    with capsys.disabled():
        print(f"\n{PAGE}: adds {sum(added.values()):,} bytes; "
              f"{sum(sizes.values()):,} bytes with an empty cache")
    assert sum(added.values()) < 40_000
    assert sum(sizes.values()) < 300_000
