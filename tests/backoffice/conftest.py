"""OFPRA's own client, partners, tokens, people with accounts, and PDFs built byte by byte."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from app.accounts.models import Account
from app.oauth import clients
from app.partners.models import Partner, PartnerKind
from app.people.models import Enrolment, Person
from tests import factories
from tests.oauth.conftest import (  # noqa: F401 (fixtures, shared with the OAuth tests)
    assertion,
    partner_keys,
)

BASE = "/backoffice/v1"
BACKOFFICE = {scope: False for scope in clients.BACKOFFICE_SCOPES}


def make_pdf(text: str = "Convocation a l'entretien", version: bytes = b"1.4",
             trailer: bytes = b"") -> bytes:
    """A one-page PDF showing `text`, with a correct cross-reference table (ISO 32000-1 7.5)."""
    content = b"BT /F1 24 Tf 72 720 Td (" + text.encode("latin-1") + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-" + version + b"\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, trailer, xref)
    return bytes(out)


PDF = make_pdf()


@pytest.fixture()
def ofpra(db_session: Session) -> Partner:
    """OFPRA's own back-office system: kind ofpra, both back-office scopes."""
    partner = factories.partner(db_session, BACKOFFICE, kind=PartnerKind.OFPRA)
    db_session.commit()
    return partner


@pytest.fixture()
def caf(db_session: Session) -> Partner:
    partner = factories.partner(db_session, {"civil_status": False}, kind=PartnerKind.CAF)
    db_session.commit()
    return partner


@pytest.fixture()
def token(mint, ofpra: Partner) -> str:  # type: ignore[no-untyped-def]
    return str(mint(ofpra.client_id, " ".join(clients.BACKOFFICE_SCOPES)))


def bearer(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """Check an RFC 9457 problem document; return its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.json
    assert (body["status"], body["code"]) == (status, code)
    assert body["type"] == f"https://connect.ofpra.gouv.fr/problems/{code}"
    assert body["instance"].startswith("urn:request:")
    return body


def person(db_session: Session, **values: Any) -> Person:
    values.setdefault("postal_address", "12 rue de la Paix\n35000 Rennes")
    made = factories.person(db_session, **values)
    db_session.commit()
    return made


def account(db_session: Session, owner: Person, *, language: str = "fr",
            email: str | None = None, email_verified: bool = False,
            phone: str | None = None, phone_verified: bool = False) -> Account:
    verified = datetime(2025, 1, 2, tzinfo=UTC)
    made = Account(person_id=owner.id, password_hash="not-a-real-hash", language=language,
                   email=email, email_verified_at=verified if email_verified else None,
                   phone=phone, phone_verified_at=verified if phone_verified else None)
    db_session.add(made)
    db_session.commit()
    return made


def deposit(client: FlaskClient, token: str, person_id: int, *, pdf: bytes = PDF,
            key: str | None = None, **fields: Any) -> Any:
    """POST a deposit as OFPRA's systems do: multipart, the PDF and its metadata fields."""
    fields.setdefault("type", "introduction_letter")
    fields.setdefault("title", "Lettre d'introduction")
    headers = bearer(token)
    if key is not None:
        headers["Idempotency-Key"] = key
    data = MultiDict({name: value for name, value in fields.items() if value is not None})
    data["file"] = FileStorage(io.BytesIO(pdf), "letter.pdf", content_type="application/pdf")
    # Encoded here, in memory: the test client spools a large body to a file it never closes.
    boundary, body = encode_multipart(data)
    return client.post(f"{BASE}/people/{person_id}/documents", data=body, headers=headers,
                       content_type=f'multipart/form-data; boundary="{boundary}"')


def new_key() -> str:
    return str(uuid.uuid4())


EXCLUSIONS = (Enrolment.EXCLUDED_DUBLIN, Enrolment.EXCLUDED_MINOR, Enrolment.EXCLUDED_OVERSEAS,
              Enrolment.TAKEN_OUT)
TAKEN_OUT = {"enrolment": Enrolment.TAKEN_OUT, "taken_out_on": date(2025, 3, 1),
             "taken_out_reason": "Vulnérabilité"}
