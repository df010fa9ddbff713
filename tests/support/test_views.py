"""The support structures' pages: sign-in, the people followed, and never a document."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.notify.models import Channel, OutboxMessage
from app.people.models import Person
from app.support import services
from app.support.models import Domiciliation, StaffAccount, StructureKind, SupportStructure
from app.vault.models import DecisionOutcome, Document, DocumentType, NotificationMethod
from tests import factories
from tests.consents.conftest import account, sign_in
from tests.support.conftest import (
    STAFF_PASSWORD,
    STRICT_CSP,
    SUPPORT,
    csrf_token_of,
    fetch,
    staff_sign_in,
)
from tests.vault import builders

PARIS = ZoneInfo("Europe/Paris")
NBSP = "\u00a0"
SIGNIN = f"{SUPPORT}/connexion"
RECIPIENT = "abebe.tesfaye@example.org"


def text(body: bytes) -> str:
    without_tags = re.sub(r"<[^>]+>", " ", body.decode())
    return re.sub(r"\s+", " ", without_tags.replace(NBSP, " ").replace("\u202f", " "))


def token_of(client: FlaskClient, url: str = SIGNIN) -> str:
    return csrf_token_of(fetch(client, url)[1].decode())


def post(client: FlaskClient, url: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    with client.post(url, data=data) as response:
        return response.status_code, response.get_data(as_text=True), dict(response.headers)


# --- signing in ------------------------------------------------------------------------------

def test_the_page_needs_a_staff_session(browser: FlaskClient) -> None:
    status, _body, headers = fetch(browser, SUPPORT)
    assert status == 302
    assert headers["Location"] == f"{SIGNIN}?next=%2Faccompagnement"


def test_a_person_session_is_not_a_staff_session(browser: FlaskClient, db_session: Session,
                                                 followed: Person) -> None:
    sign_in(browser, account(db_session, followed))
    status, _body, headers = fetch(browser, SUPPORT)
    assert (status, headers["Location"]) == (302, f"{SIGNIN}?next=%2Faccompagnement")


@pytest.mark.parametrize(("language", "heading"), [
    ("fr", "Connexion : structures d’accompagnement"),
    ("en", "Sign in: support structures")])
def test_the_sign_in_page_in_both_languages(browser: FlaskClient, db_session: Session,
                                            language: str, heading: str) -> None:
    status, body, headers = fetch(browser, SIGNIN, headers={"Accept-Language": language})
    assert status == 200
    assert headers["Content-Security-Policy"] == STRICT_CSP
    assert f'<html lang="{language}"' in body.decode()
    assert heading in text(body)
    assert "<script" not in body.decode()


def test_signing_in_and_out(browser: FlaskClient, worker: StaffAccount) -> None:
    token = token_of(browser)
    status, body, _headers = post(browser, SIGNIN, {"csrf_token": token, "email": worker.email,
                                                   "password": "not the password at all"})
    assert status == 422
    assert "L’adresse e-mail ou le mot de passe n’est pas bon." in text(body.encode())
    status, _body, headers = post(browser, SIGNIN, {
        "csrf_token": token, "email": "  " + worker.email.upper(), "password": STAFF_PASSWORD,
        "next": SUPPORT + "?page=1"})
    assert (status, headers["Location"]) == (303, SUPPORT + "?page=1")
    with browser.session_transaction() as session:
        assert session["staff_id"] == worker.id
        assert "account_id" not in session
    status, body, _headers = fetch(browser, SUPPORT)
    assert status == 200
    assert "Connecté : Claire Martin, SPADA de Rennes" in text(body)
    status, _body, headers = post(browser, f"{SUPPORT}/deconnexion",
                                  {"csrf_token": csrf_token_of(body.decode())})
    assert (status, headers["Location"]) == (303, SIGNIN)
    assert fetch(browser, SUPPORT)[0] == 302


def test_the_forms_need_their_token(browser: FlaskClient, worker: StaffAccount) -> None:
    status, _body, _headers = post(browser, SIGNIN, {"email": worker.email,
                                                     "password": STAFF_PASSWORD})
    assert status == 400


def test_too_many_failures_wait(browser: FlaskClient, worker: StaffAccount) -> None:
    token = token_of(browser)
    for _ in range(3):
        post(browser, SIGNIN, {"csrf_token": token, "email": worker.email, "password": "nope"})
    status, body, headers = post(browser, SIGNIN, {"csrf_token": token, "email": worker.email,
                                                   "password": STAFF_PASSWORD})
    assert status == 429
    assert headers["Retry-After"] == "1"
    assert "Trop d’essais" in body


def test_a_closed_account_loses_its_session(browser: FlaskClient, worker: StaffAccount,
                                            staff_service: services.Staff) -> None:
    staff_sign_in(browser, worker)
    assert fetch(browser, SUPPORT)[0] == 200
    staff_service.deactivate(worker)
    assert fetch(browser, SUPPORT)[0] == 302
    with browser.session_transaction() as session:
        assert "staff_id" not in session


def test_an_idle_session_ends(browser: FlaskClient, worker: StaffAccount) -> None:
    staff_sign_in(browser, worker)
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=16)):
        assert fetch(browser, SUPPORT)[0] == 302


def test_the_set_password_link(browser: FlaskClient, staff_service: services.Staff,
                               spada: SupportStructure) -> None:
    staff = staff_service.add_staff(spada.id, "new@spada.example.org", "Nouvel Intervenant")
    url = f"{SUPPORT}/mot-de-passe/{staff_service.link_token(staff)}"
    status, body, headers = fetch(browser, url)
    assert status == 200
    assert headers["Content-Security-Policy"] == STRICT_CSP
    assert "Choisissez votre mot de passe" in text(body)
    token = csrf_token_of(body.decode())
    status, page, _headers = post(browser, url, {"csrf_token": token, "password": STAFF_PASSWORD,
                                                 "confirmation": "something else"})
    assert status == 422
    status, page, _headers = post(browser, url, {"csrf_token": token, "password": "azerty123456",
                                                 "confirmation": "azerty123456"})
    assert status == 422
    status, _page, headers = post(browser, url, {"csrf_token": token,
                                                 "password": STAFF_PASSWORD,
                                                 "confirmation": STAFF_PASSWORD})
    assert (status, headers["Location"]) == (303, SUPPORT)
    assert fetch(browser, SUPPORT)[0] == 200
    # Used once: the link no longer works.
    status, body, _headers = fetch(browser, url)
    assert status == 404
    assert "Ce lien ne fonctionne plus" in text(body)
    assert fetch(browser, f"{SUPPORT}/mot-de-passe/forged")[0] == 404


# --- the people followed ---------------------------------------------------------------------

@pytest.fixture()
def dossier(app: Flask, db_session: Session, followed: Person, spada: SupportStructure
            ) -> dict[str, Document]:
    """Abebe Tesfaye's letters: a convocation he opened, a decision waiting unopened, a failed
    e-mail; and people the SPADA does not follow."""
    convocation = builders.document(
        app, db_session, followed, datetime(2026, 5, 4, 9, 0, tzinfo=PARIS),
        type=DocumentType.CONVOCATION, title="Convocation secrète n° 77",
        interview_at=datetime(2026, 5, 28, 14, 30, tzinfo=PARIS),
        interview_place="OFPRA, Fontenay-sous-Bois")
    convocation.first_consulted_at = convocation.notified_at = \
        datetime(2026, 5, 5, 18, 0, tzinfo=PARIS)
    convocation.notification_method = NotificationMethod.CONSULTATION
    decision = builders.document(
        app, db_session, followed, datetime(2026, 6, 1, 12, 0, tzinfo=PARIS),
        type=DocumentType.DECISION, title="Décision de rejet — motif confidentiel",
        decision_outcome=DecisionOutcome.REFUSAL)
    db_session.add(OutboxMessage(
        channel=Channel.EMAIL, person_id=followed.id, recipient=RECIPIENT,
        template="document_deposited", language="fr", context={},
        failed_at=datetime(2026, 6, 1, 10, 5, tzinfo=UTC),
        last_error="550 5.1.1 mailbox unavailable"))
    # Someone domiciled elsewhere, and someone whose domiciliation here has ended.
    elsewhere = SupportStructure(name="CADA de Brest", kind=StructureKind.CADA, city="Brest")
    db_session.add(elsewhere)
    db_session.flush()
    stranger = factories.person(db_session, birth_name="Ailleurs", given_names=["Nadia"])
    db_session.add(Domiciliation(person_id=stranger.id, structure_id=elsewhere.id,
                                 since=date(2026, 1, 1)))
    former = factories.person(db_session, birth_name="Parti", given_names=["Omar"])
    db_session.add(Domiciliation(person_id=former.id, structure_id=spada.id,
                                 since=date(2025, 1, 1), until=date(2026, 3, 1)))
    builders.document(app, db_session, stranger, datetime(2026, 6, 1, 12, 0, tzinfo=PARIS))
    db_session.flush()
    return {"convocation": convocation, "decision": decision}


def staff_page_at(browser: FlaskClient, worker: StaffAccount, moment: datetime,
                  language: str = "fr") -> tuple[int, bytes, dict[str, str]]:
    with time_machine.travel(moment, tick=False):
        staff_sign_in(browser, worker)
        return fetch(browser, SUPPORT, headers={"Accept-Language": language})


def test_the_structure_sees_dates_never_titles(browser: FlaskClient, worker: StaffAccount,
                                               dossier: dict[str, Document]) -> None:
    # Day 14 of the decision, unopened, an alert failed: the person is to be contacted.
    status, body, headers = staff_page_at(browser, worker,
                                          datetime(2026, 6, 15, 12, 0, tzinfo=PARIS))
    assert status == 200
    assert headers["Content-Security-Policy"] == STRICT_CSP
    assert headers["Cache-Control"] == "no-store"
    html = body.decode()
    page = text(body)
    assert "Personnes suivies : 1." in page
    assert "Abebe TESFAYE" not in page and "Abebe Tesfaye" in page
    assert "Nadia" not in page and "Omar" not in page
    assert "Domicilié chez vous depuis le 5 janvier 2026." in page
    assert "Entretien le 28 mai 2026, 14:30. Lieu : OFPRA, Fontenay-sous-Bois." in page
    assert ("Convocation à un entretien : déposé dans l’espace le 4 mai 2026, 09:00. "
            "Ouvert, donc reçu, le 5 mai 2026, 18:00.") in page
    assert ("Décision : déposé dans l’espace le 1 juin 2026, 12:00. Pas encore ouvert : il "
            "comptera comme reçu le 16 juin 2026, 12:00.") in page
    assert "Par e-mail : échec le 1 juin 2026, 12:05." in page
    assert "À contacter" in page
    assert "Une alerte n’a pas pu parvenir à cette personne" in page
    # Never a title, an outcome, an alert's recipient or its error.
    for secret in ("Convocation secrète", "motif confidentiel", "rejet", "Rejet", "refusal",
                   RECIPIENT, "550", "mailbox", builders.TITLE):
        assert secret not in html
    # No link to any document.
    assert "/espace/documents" not in html


def test_after_day_15_no_more_highlight(browser: FlaskClient, worker: StaffAccount,
                                        dossier: dict[str, Document]) -> None:
    _status, body, _headers = staff_page_at(browser, worker,
                                            datetime(2026, 6, 16, 12, 0, tzinfo=PARIS))
    page = text(body)
    assert ("Décision : déposé dans l’espace le 1 juin 2026, 12:00. Non ouvert : compte comme "
            "reçu depuis le 16 juin 2026, 12:00.") in page
    assert "À contacter" not in page
    assert "Par e-mail : échec le 1 juin 2026, 12:05." in page


def test_the_page_in_english(browser: FlaskClient, worker: StaffAccount,
                             dossier: dict[str, Document]) -> None:
    status, body, headers = staff_page_at(browser, worker,
                                          datetime(2026, 6, 10, 12, 0, tzinfo=PARIS), "en")
    assert status == 200
    assert headers["Content-Security-Policy"] == STRICT_CSP
    page = text(body)
    assert '<html lang="en"' in body.decode()
    assert "People followed: 1." in page
    assert "Interview on May 28, 2026, 2:30 PM. Place: OFPRA, Fontenay-sous-Bois." in page
    assert ("Decision: put in the space on June 1, 2026, 12:00 PM. Not opened yet: it will "
            "count as received on June 16, 2026, 12:00 PM.") in page
    assert "By e-mail: failed on June 1, 2026, 12:05 PM." in page
    assert "To contact" in page
    assert "motif confidentiel" not in body.decode()


def test_an_empty_structure(browser: FlaskClient, staff_service: services.Staff,
                            db_session: Session) -> None:
    empty = SupportStructure(name="HUDA de Vannes", kind=StructureKind.HUDA, city="Vannes")
    db_session.add(empty)
    db_session.flush()
    staff = staff_service.add_staff(empty.id, "h@huda.example.org", "H")
    staff_sign_in(browser, staff)
    _status, body, _headers = fetch(browser, SUPPORT)
    assert "Personne n’est domicilié auprès de votre structure aujourd’hui." in text(body)


# --- never a document ------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", ["", "/{id}", "/{id}/lettre.pdf", "/{id}/telecharger"])
@pytest.mark.parametrize("also_person", [False, True])
def test_staff_get_403_on_every_document_route(
        browser: FlaskClient, db_session: Session, worker: StaffAccount, followed: Person,
        dossier: dict[str, Document], suffix: str, also_person: bool) -> None:
    decision = dossier["decision"]
    if also_person:
        # A person's keys beside the worker's in one cookie (never made by the pages: each
        # sign-in starts a fresh session) change nothing.
        sign_in(browser, account(db_session, followed))
        with browser.session_transaction() as session:
            now = int(datetime.now(UTC).timestamp())
            session.update(staff_id=worker.id, staff_generation=worker.session_generation,
                           staff_seen=now, staff_since=now)
    else:
        staff_sign_in(browser, worker)
    url = "/espace/documents" + suffix.format(id=decision.id)
    status, body, headers = fetch(browser, url)
    assert status == 403
    assert headers["Content-Security-Policy"] == STRICT_CSP
    assert headers["Content-Type"].startswith("text/html")
    assert "Les structures d’accompagnement ne peuvent pas ouvrir les courriers" in text(body)
    assert b"%PDF" not in body
    assert b"motif confidentiel" not in body
    db_session.expire_all()
    assert db_session.scalars(select(Document.first_consulted_at)
                              .where(Document.id == decision.id)).one() is None


def test_staff_signing_in_ends_a_person_session(browser: FlaskClient, db_session: Session,
                                                worker: StaffAccount, followed: Person) -> None:
    sign_in(browser, account(db_session, followed))
    assert fetch(browser, "/espace/documents")[0] == 200
    post(browser, SIGNIN, {"csrf_token": token_of(browser), "email": worker.email,
                           "password": STAFF_PASSWORD})
    with browser.session_transaction() as session:
        assert "account_id" not in session and session["staff_id"] == worker.id
    assert fetch(browser, "/espace/documents")[0] == 403


@pytest.mark.parametrize(("language", "heading"), [
    ("fr", "Les structures d’accompagnement ne peuvent pas ouvrir les courriers"),
    ("en", "Support structures cannot open documents")])
def test_the_refusal_in_both_languages(browser: FlaskClient, worker: StaffAccount,
                                       language: str, heading: str) -> None:
    staff_sign_in(browser, worker)
    status, body, headers = fetch(browser, "/espace/documents",
                                  headers={"Accept-Language": language})
    assert status == 403
    assert headers["Content-Security-Policy"] == STRICT_CSP
    assert f'<html lang="{language}"' in body.decode()
    assert f"<h1>{heading}</h1>" in body.decode()


@pytest.mark.parametrize(("language", "heading"), [
    ("fr", "Choisissez votre mot de passe"), ("en", "Choose your password")])
def test_the_set_password_page_in_both_languages(
        browser: FlaskClient, staff_service: services.Staff, spada: SupportStructure,
        language: str, heading: str) -> None:
    staff = staff_service.add_staff(spada.id, "lang@spada.example.org", "L")
    status, body, headers = fetch(browser, f"{SUPPORT}/mot-de-passe/"
                                           f"{staff_service.link_token(staff)}",
                                  headers={"Accept-Language": language})
    assert status == 200
    assert headers["Content-Security-Policy"] == STRICT_CSP
    assert f"<h1>{heading}</h1>" in body.decode()
    assert "<script" not in body.decode()
