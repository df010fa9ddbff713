"""Documents for the tests: small real PDFs, sealed in the test application's vault.

The deposit service is not needed: a Document row is added directly, with its ciphertext
really stored, so that opening, streaming and printing go through the real vault.
"""

from __future__ import annotations

import io
import uuid
from datetime import datetime
from typing import Any

from flask import Flask
from pypdf import PdfWriter
from sqlalchemy.orm import Session

from app.people.models import Person
from app.vault.models import Delivery, Document, DocumentType

TITLE = "Décision de rejet de votre demande d'asile n° 2026-XYZ"


def pdf(pages: int = 1) -> bytes:
    """A valid PDF of `pages` blank A4 pages."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def document(app: Flask, db_session: Session, person: Person, made_available_at: datetime, *,
             type: DocumentType = DocumentType.CONVOCATION,
             delivery: Delivery = Delivery.ONLINE, title: str = TITLE, pages: int = 1,
             content: bytes | None = None, **values: Any) -> Document:
    """A document of `person`, its PDF sealed in the vault, flushed (never committed)."""
    document_id = str(uuid.uuid4())
    data = content if content is not None else pdf(pages)
    sealed = app.extensions["ofpra.vault"].seal(data, document_id)
    made = Document(
        id=document_id, person_id=person.id, type=type, title=title, delivery=delivery,
        made_available_at=made_available_at, storage_key=sealed.storage_key, size=sealed.size,
        sha256=sealed.sha256, wrapped_key=sealed.wrapped_key, key_id=sealed.key_id,
        nonce=sealed.nonce, deposited_by="ofpra-test", idempotency_key=document_id,
        request_digest="0" * 64, **values)
    db_session.add(made)
    db_session.flush()
    return made
