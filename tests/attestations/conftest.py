"""Attestations under test: people, a signed-in holder, issuing, and reading a PDF back.

The QR code is read back as a clerk's phone would: the PDF page rendered to an image
(pypdfium2) and decoded by a real decoder (zxing-cpp), never by our own code.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pypdfium2
import pytest
import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.accounts.models import Account
from app.attestations import document, services
from app.oauth.keys import KeyStore
from app.people import sandbox
from app.people.models import Person
from tests import factories
from tests.consents.conftest import account, sign_in
from tests.web.conftest import (  # noqa: F401 (fixtures, shared with the page tests)
    BROWSER,
    csrf_token_of,
    fetch,
)

SANDBOX = Path(__file__).resolve().parents[2] / "sandbox" / "people.json"
SCOPES = ("protection_status", "civil_status_progress", "civil_status")
PAGE = "/espace/attestations"


@pytest.fixture()
def browser(client: FlaskClient) -> FlaskClient:
    client.environ_base["HTTP_ACCEPT"] = BROWSER
    return client


@pytest.fixture()
def refugee(db_session: Session) -> Person:
    """A refugee since 2021 whose civil-status documents are being prepared."""
    return factories.person(
        db_session, birth_name="NOORI", given_names=["Amina", "Zahra"],
        protections=[("refugee", date(2021, 3, 2), None)],
        civil_status_file=("in_progress", date(2021, 6, 1), date(2035, 6, 1)))


@pytest.fixture()
def signed_in(browser: FlaskClient, db_session: Session, refugee: Person) -> Account:
    made = account(db_session, refugee)
    sign_in(browser, made)
    return made


@pytest.fixture()
def people(db_session: Session) -> dict[str, Person]:
    """The sandbox's people, loaded."""
    loaded = sandbox.load(db_session, sandbox.read(SANDBOX))
    db_session.commit()
    return loaded


@pytest.fixture()
def own_keys(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KeyStore:
    """A key store of this test's own, so that rotating keys touches no other test."""
    store = KeyStore(tmp_path / "keys", generate=True)
    monkeypatch.setitem(app.extensions, "ofpra.keys", store)
    return store


def issue(app: Flask, db_session: Session, person: Person, scope: str,
          now: datetime | None = None) -> services.Issued:
    """Issue an attestation as the download view does (the row flushed, not committed)."""
    return services.issue(db_session, app.extensions["ofpra.keys"], person_id=person.id,
                          scope=scope, now=now or datetime.now(UTC),
                          validity_days=app.config["ATTESTATION_VALIDITY_DAYS"],
                          issuer=app.config["ATTESTATION_ISSUER"])


def render(app: Flask, issued: services.Issued) -> bytes:
    with app.test_request_context("/"):
        return document.render(issued, "http://localhost/verify")


def check(app: Flask, db_session: Session, token: str,
          now: datetime | None = None) -> services.Check:
    return services.check(db_session, app.extensions["ofpra.keys"].key_set("attestation"),
                          token, now=now or datetime.now(UTC),
                          issuer=app.config["ATTESTATION_ISSUER"])


def pages_of(pdf: bytes) -> Iterator[pypdfium2.PdfPage]:
    document_ = pypdfium2.PdfDocument(pdf)
    try:
        for index in range(len(document_)):
            page = document_[index]
            try:
                yield page
            finally:
                page.close()
    finally:
        document_.close()


def qr_texts(pdf: bytes, scale: float = 2) -> list[str]:
    """What a QR decoder reads on the PDF's first page, rendered at 72 * scale dpi."""
    for page in pages_of(pdf):
        bitmap = page.render(scale=scale)
        try:
            image = bitmap.to_pil()
        finally:
            bitmap.close()
        return [found.text for found in zxingcpp.read_barcodes(image)
                if found.format == zxingcpp.BarcodeFormat.QRCode]
    return []


def text_of(pdf: bytes) -> str:
    """The PDF's text, every run of whitespace made one space."""
    texts = []
    for page in pages_of(pdf):
        textpage = page.get_textpage()
        try:
            texts.append(textpage.get_text_range())
        finally:
            textpage.close()
    return " ".join(" ".join(texts).split())
