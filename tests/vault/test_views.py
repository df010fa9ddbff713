"""My documents: the list, a document's page with its deadlines, the letter itself."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import Account
from app.people.models import Person
from app.vault.models import Delivery, Document, DocumentType, NotificationMethod
from tests.consents.conftest import account, sign_in
from tests.vault import builders
from tests.vault.conftest import DOCUMENTS, STRICT_CSP, at, fetch

PARIS = ZoneInfo("Europe/Paris")
NBSP = "\u00a0"


def text(body: bytes) -> str:
    """The page as read: tags dropped, any run of spaces (non-breaking too) as one space."""
    without_tags = re.sub(r"<[^>]+>", " ", body.decode())
    return re.sub(r"\s+", " ", without_tags.replace(NBSP, " ").replace("\u202f", " "))


def stored(db_session: Session, document: Document) -> Document:
    db_session.expire(document)
    return db_session.scalars(select(Document).where(Document.id == document.id)).one()


def test_the_list_needs_a_signed_in_person(browser: FlaskClient) -> None:
    status, _body, headers = fetch(browser, DOCUMENTS)
    assert status == 302
    assert headers["Location"] == "/signin?next=%2Fespace%2Fdocuments"


def test_an_empty_list(browser: FlaskClient, signed_in: Account) -> None:
    status, body, headers = fetch(browser, DOCUMENTS)
    assert status == 200
    assert headers["Content-Security-Policy"] == STRICT_CSP
    assert headers["Cache-Control"] == "no-store"
    page = text(body)
    assert "Mes courriers" in page
    assert "Vous n’avez encore aucun courrier." in page


def test_the_space_links_to_the_letters(browser: FlaskClient, signed_in: Account) -> None:
    _status, body, _headers = fetch(browser, "/espace")
    assert f'href="{DOCUMENTS}"' in body.decode()
    assert "Mes courriers : ce que l’OFPRA m’a envoyé" in text(body)


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
def test_the_list_shows_types_dates_and_what_was_opened(
        app: Flask, browser: FlaskClient, db_session: Session, signed_in: Account,
        asylum_seeker: Person, zone: str) -> None:
    made = datetime(2026, 3, 14, 10, 0, tzinfo=PARIS)
    convocation = builders.document(app, db_session, asylum_seeker, made,
                                    type=DocumentType.CONVOCATION)
    builders.document(app, db_session, asylum_seeker, made + timedelta(days=1),
                      type=DocumentType.DECISION)
    convocation.first_consulted_at = convocation.notified_at = made + timedelta(hours=2)
    convocation.notification_method = NotificationMethod.CONSULTATION
    db_session.flush()
    # The server runs in another zone; the page speaks Paris time. Day 15 of the decision,
    # one second before its deemed instant (16 March 10:00 CET + 15 days = 30 March 10:00 CEST).
    moment = datetime(2026, 3, 30, 7, 59, 59, tzinfo=UTC).astimezone(ZoneInfo(zone))
    with at(browser, signed_in, moment):
        status, body, _headers = fetch(browser, DOCUMENTS)
    assert status == 200
    page = text(body)
    assert "Courriers : 2 en tout." in page
    # Newest first: the decision, not opened, and when it will count as received.
    assert page.index("Décision") < page.index("Convocation à un entretien")
    assert "Non ouvert" in page and "Ouvert" in page
    assert "Déposé dans votre espace le 15 mars 2026, 10:00" in page
    assert "il comptera quand même comme reçu le 30 mars 2026, 10:00" in page
    assert "Compte comme reçu le 14 mars 2026, 12:00 : vous l’avez ouvert." in page
    # Never a title in the list.
    assert builders.TITLE not in body.decode()


def test_after_day_15_the_list_says_it_counts_as_received(
        app: Flask, browser: FlaskClient, db_session: Session, signed_in: Account,
        asylum_seeker: Person) -> None:
    made = datetime(2026, 10, 10, 10, 0, tzinfo=PARIS)
    builders.document(app, db_session, asylum_seeker, made)
    with at(browser, signed_in, datetime(2026, 10, 25, 9, 0, 0, tzinfo=UTC)):
        _status, body, _headers = fetch(browser, DOCUMENTS)
    assert ("Compte comme reçu le 25 octobre 2026, 10:00 : 15 jours après son dépôt dans "
            "votre espace.") in text(body)


def test_the_list_in_english(app: Flask, browser: FlaskClient, db_session: Session,
                             asylum_seeker: Person) -> None:
    made = account(db_session, asylum_seeker, language="en")
    sign_in(browser, made)
    builders.document(app, db_session, asylum_seeker, datetime(2026, 6, 1, 12, 0, tzinfo=PARIS),
                      type=DocumentType.SIX_MONTH_LETTER)
    with at(browser, made, datetime(2026, 6, 2, tzinfo=UTC)):
        status, body, headers = fetch(browser, DOCUMENTS)
    assert status == 200
    assert headers["Content-Security-Policy"] == STRICT_CSP
    page = text(body)
    assert '<html lang="en"' in body.decode()
    assert "My letters" in page and "Letter after 6 months" in page
    assert "Put in your space on June 1, 2026, 12:00 PM" in page
    assert "it will count as received on June 16, 2026, 12:00 PM anyway" in page


def test_the_list_is_paginated(app: Flask, browser: FlaskClient, db_session: Session,
                               signed_in: Account, asylum_seeker: Person) -> None:
    start = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
    for number in range(21):
        builders.document(app, db_session, asylum_seeker, start + timedelta(days=number))
    _status, first, _headers = fetch(browser, DOCUMENTS)
    assert text(first).count("Déposé dans votre espace le") == 20
    status, second, _headers = fetch(browser, DOCUMENTS + "?page=2")
    assert status == 200
    assert text(second).count("Déposé dans votre espace le") == 1
    assert "1 janvier 2026" in text(second)
    assert fetch(browser, DOCUMENTS + "?page=3")[0] == 404
    assert fetch(browser, DOCUMENTS + "?page=-1")[0] == 404


def test_a_document_page_shows_the_title_and_the_convocation(
        app: Flask, browser: FlaskClient, db_session: Session, signed_in: Account,
        asylum_seeker: Person) -> None:
    document = builders.document(
        app, db_session, asylum_seeker, datetime(2026, 6, 1, 12, 0, tzinfo=PARIS),
        title="Convocation à l’entretien personnel",
        interview_at=datetime(2026, 6, 20, 9, 30, tzinfo=PARIS),
        interview_place="OFPRA, 201 rue Carnot, Fontenay-sous-Bois")
    with at(browser, signed_in, datetime(2026, 6, 2, tzinfo=UTC)):
        status, body, headers = fetch(browser, f"{DOCUMENTS}/{document.id}")
    assert status == 200
    assert headers["Content-Security-Policy"] == STRICT_CSP
    page = text(body)
    assert "Convocation à l’entretien personnel" in page
    assert "Entretien le 20 juin 2026, 09:30." in page
    assert "Lieu : OFPRA, 201 rue Carnot, Fontenay-sous-Bois." in page
    assert "Vous ne l’avez pas encore ouvert." in page
    assert f'href="{DOCUMENTS}/{document.id}/lettre.pdf"' in body.decode()
    assert "<script" not in body.decode() and "<style" not in body.decode()
    # Seeing the page is not opening the letter.
    assert stored(db_session, document).first_consulted_at is None


def test_opening_the_letter_streams_it_and_records_the_first_consultation(
        app: Flask, browser: FlaskClient, db_session: Session, signed_in: Account,
        asylum_seeker: Person) -> None:
    content = builders.pdf(pages=2)
    made = datetime(2026, 6, 1, 12, 0, tzinfo=PARIS)
    document = builders.document(app, db_session, asylum_seeker, made, content=content)
    opened = datetime(2026, 6, 3, 8, 15, tzinfo=UTC)
    with at(browser, signed_in, opened):
        status, body, headers = fetch(browser, f"{DOCUMENTS}/{document.id}/lettre.pdf")
    assert status == 200
    assert body == content
    assert len(PdfReader(io.BytesIO(body)).pages) == 2
    assert headers["Content-Type"] == "application/pdf"
    assert headers["Content-Length"] == str(len(content))
    assert headers["Content-Disposition"] == 'inline; filename="ofpra-convocation-2026-06-01.pdf"'
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Content-Type-Options"] == "nosniff"
    again = stored(db_session, document)
    assert (again.first_consulted_at, again.notified_at, again.notification_method) == \
        (opened, opened, NotificationMethod.CONSULTATION)
    # A download later changes nothing: written once.
    with at(browser, signed_in, opened + timedelta(days=1)):
        status, body, headers = fetch(browser, f"{DOCUMENTS}/{document.id}/telecharger")
    assert status == 200 and body == content
    assert headers["Content-Disposition"] == \
        'attachment; filename="ofpra-convocation-2026-06-01.pdf"'
    assert stored(db_session, document).first_consulted_at == opened
    # The page now says it.
    sign_in(browser, signed_in)
    _status, page, _headers = fetch(browser, f"{DOCUMENTS}/{document.id}")
    assert "Vous l’avez ouvert pour la première fois le 3 juin 2026, 10:15." in text(page)


def test_a_head_request_opens_nothing(app: Flask, browser: FlaskClient, db_session: Session,
                                      signed_in: Account, asylum_seeker: Person) -> None:
    document = builders.document(app, db_session, asylum_seeker,
                                 datetime(2026, 6, 1, 12, 0, tzinfo=PARIS))
    response = browser.head(f"{DOCUMENTS}/{document.id}/lettre.pdf")
    response.close()
    assert response.status_code == 200
    assert stored(db_session, document).first_consulted_at is None


def test_a_letter_that_cannot_be_decrypted_is_not_counted_as_opened(
        app: Flask, browser: FlaskClient, db_session: Session, signed_in: Account,
        asylum_seeker: Person) -> None:
    document = builders.document(app, db_session, asylum_seeker,
                                 datetime(2026, 6, 1, 12, 0, tzinfo=PARIS))
    vault = app.extensions["ofpra.vault"]
    ciphertext = bytearray(vault.store.get(document.storage_key))
    ciphertext[0] ^= 1
    vault.store.put(document.storage_key, bytes(ciphertext))
    status, body, _headers = fetch(browser, f"{DOCUMENTS}/{document.id}/lettre.pdf")
    assert status == 500
    assert b"%PDF" not in body
    assert stored(db_session, document).first_consulted_at is None


@pytest.mark.parametrize("suffix", ["", "/lettre.pdf", "/telecharger"])
def test_only_the_owner_sees_a_document(app: Flask, browser: FlaskClient, db_session: Session,
                                        signed_in: Account, other_person: Person,
                                        suffix: str) -> None:
    theirs = builders.document(app, db_session, other_person,
                               datetime(2026, 6, 1, 12, 0, tzinfo=PARIS))
    status, body, _headers = fetch(browser, f"{DOCUMENTS}/{theirs.id}{suffix}")
    assert status == 404
    assert builders.TITLE not in body.decode(errors="replace")
    assert b"%PDF" not in body
    assert stored(db_session, theirs).first_consulted_at is None
    assert fetch(browser, f"{DOCUMENTS}/no-such-document{suffix}")[0] == 404


def test_a_decision_shows_its_deadlines_once_opened(
        app: Flask, browser: FlaskClient, db_session: Session, signed_in: Account,
        asylum_seeker: Person) -> None:
    decision = builders.document(app, db_session, asylum_seeker,
                                 datetime(2026, 1, 20, 9, 0, tzinfo=PARIS),
                                 type=DocumentType.DECISION)
    url = f"{DOCUMENTS}/{decision.id}"
    with at(browser, signed_in, datetime(2026, 1, 25, 9, 0, tzinfo=UTC)):
        _status, before, _headers = fetch(browser, url)
    page = text(before)
    assert "Vos délais pour demander l’aide juridictionnelle" in page
    assert "Vos délais" in page and "au plus tard le" not in page
    # Opened on 31 January at 22:00 in Paris: the appeal runs to 28 February.
    with at(browser, signed_in, datetime(2026, 1, 31, 21, 0, tzinfo=UTC)):
        assert fetch(browser, url + "/lettre.pdf")[0] == 200
        _status, after, _headers = fetch(browser, url)
    page = text(after)
    assert "Vous avez reçu cette décision le 31 janvier 2026" in page
    assert ("Pour demander l’aide juridictionnelle (un avocat gratuit), au plus tard le "
            "15 février 2026") in page
    assert ("Pour faire un recours devant la CNDA (Cour nationale du droit d’asile), au plus "
            "tard le 28 février 2026") in page
    assert '<time datetime="2026-02-28">' in after.decode()


def test_a_decision_never_opened_gets_its_deadlines_from_day_15(
        app: Flask, browser: FlaskClient, db_session: Session, asylum_seeker: Person) -> None:
    made = account(db_session, asylum_seeker, language="en")
    sign_in(browser, made)
    decision = builders.document(app, db_session, asylum_seeker,
                                 datetime(2026, 3, 16, 23, 30, tzinfo=PARIS),
                                 type=DocumentType.DECISION)
    # Deemed on 31 March at 23:30 (CEST, after the clock change): appeal by 30 April.
    with at(browser, made, datetime(2026, 4, 2, tzinfo=UTC)):
        status, body, headers = fetch(browser, f"{DOCUMENTS}/{decision.id}")
    assert status == 200
    assert headers["Content-Security-Policy"] == STRICT_CSP
    page = text(body)
    assert "Counts as received on March 31, 2026, 11:30 PM: 15 days after it was put" in page
    assert "You received this decision on March 31, 2026" in page
    assert "To ask for legal aid (a free lawyer), at the latest on April 15, 2026" in page
    assert ("To appeal to the CNDA (national asylum court), at the latest on April 30, 2026"
            in page)


def test_a_letter_by_post_says_so_and_has_no_deadlines(
        app: Flask, browser: FlaskClient, db_session: Session, signed_in: Account,
        asylum_seeker: Person) -> None:
    decision = builders.document(app, db_session, asylum_seeker,
                                 datetime(2026, 6, 1, 12, 0, tzinfo=PARIS),
                                 type=DocumentType.DECISION, delivery=Delivery.POST)
    _status, body, _headers = fetch(browser, f"{DOCUMENTS}/{decision.id}")
    page = text(body)
    assert "Il vous sera envoyé par la poste." in page
    assert "au plus tard le" not in page


def test_the_pages_give_no_title_to_logs(app: Flask, browser: FlaskClient, db_session: Session,
                                         signed_in: Account, asylum_seeker: Person,
                                         caplog: pytest.LogCaptureFixture) -> None:
    document = builders.document(app, db_session, asylum_seeker,
                                 datetime(2026, 6, 1, 12, 0, tzinfo=PARIS))
    with caplog.at_level("DEBUG"):
        fetch(browser, DOCUMENTS)
        fetch(browser, f"{DOCUMENTS}/{document.id}")
        fetch(browser, f"{DOCUMENTS}/{document.id}/lettre.pdf")
    assert builders.TITLE not in caplog.text
    assert "%PDF" not in caplog.text
