"""Letters by post: one PDF to print, an address sheet before each letter, then marked sent."""

from __future__ import annotations

import io
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.people.models import Enrolment, Person, Sex
from app.vault import post
from app.vault.models import Delivery, Document, DocumentType, NotificationMethod, PostBatch
from tests import factories
from tests.vault import builders

MADE = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
NOW = datetime(2026, 6, 2, 14, 0, tzinfo=UTC)


@pytest.fixture()
def dublin(db_session: Session) -> Person:
    return factories.person(db_session, ofpra_number=None, birth_name="Haile",
                            given_names=["Selam", "Tigist"], sex=Sex.FEMALE,
                            enrolment=Enrolment.EXCLUDED_DUBLIN,
                            postal_address="SPADA de Rennes\n12 rue des Lilas\n35000 RENNES")


@pytest.fixture()
def taken_out(db_session: Session) -> Person:
    return factories.person(db_session, ofpra_number=None, birth_name="Ndiaye",
                            given_names=["Éloïse"], sex=Sex.MALE,
                            enrolment=Enrolment.TAKEN_OUT,
                            postal_address="Chez M. Dupré\n4 allée des Érables\n44000 NANTES")


def stored(db_session: Session, document: Document) -> Document:
    db_session.expire(document)
    return db_session.scalars(select(Document).where(Document.id == document.id)).one()


def test_who_gets_letters_by_post(dublin: Person, taken_out: Person,
                                  asylum_seeker: Person) -> None:
    assert post.delivery_for(dublin) is Delivery.POST
    assert post.delivery_for(taken_out) is Delivery.POST
    assert post.delivery_for(asylum_seeker) is Delivery.ONLINE


def test_the_batch_pdf_has_a_sheet_before_each_letter(app: Flask, db_session: Session,
                                                      dublin: Person,
                                                      taken_out: Person) -> None:
    first = builders.document(app, db_session, dublin, MADE, delivery=Delivery.POST, pages=2,
                              type=DocumentType.CONVOCATION)
    second = builders.document(app, db_session, taken_out, MADE + timedelta(hours=1),
                               delivery=Delivery.POST, pages=3, type=DocumentType.DECISION)
    online = builders.document(app, db_session, dublin, MADE)  # not in the queue
    assert [document.id for document in post.queue(db_session)] == [first.id, second.id]

    vault = app.extensions["ofpra.vault"]
    result = post.batch(db_session, vault, by="agent-42", now=NOW)
    assert result.batch is not None
    assert result.sent == [first.id, second.id]
    assert result.kept == []
    assert result.pages == 2 + 2 + 3  # one sheet per letter + the letters' pages

    made = db_session.get(PostBatch, result.batch.id)
    assert made is not None
    assert (made.created_at, made.created_by, made.document_count, made.note) == \
        (NOW, "agent-42", 2, None)
    # Encrypted at rest: the stored file is not a PDF, and reads back as one.
    raw = vault.store.get(made.storage_key)
    assert not raw.startswith(b"%PDF") and b"Haile" not in raw
    reader = PdfReader(io.BytesIO(post.open_batch(vault, made)))
    assert len(reader.pages) == 7
    sheet_one = reader.pages[0].extract_text()
    assert "Madame Selam Tigist HAILE" in sheet_one
    assert "SPADA de Rennes" in sheet_one and "35000 RENNES" in sheet_one
    assert "Pli 1/2" in sheet_one and "2 page(s) suivent" in sheet_one
    sheet_two = reader.pages[3].extract_text()
    assert "Monsieur Éloïse NDIAYE" in sheet_two  # accents kept (WinAnsi)
    assert "4 allée des Érables" in sheet_two and "Pli 2/2" in sheet_two
    assert builders.TITLE not in sheet_one + sheet_two

    for document in (first, second):
        sent = stored(db_session, document)
        assert (sent.post_batch_id, sent.notified_at, sent.notification_method) == \
            (made.id, NOW, NotificationMethod.POST)
    assert stored(db_session, online).post_batch_id is None
    assert post.queue(db_session) == []
    # Nothing left: the next batch is none.
    assert post.batch(db_session, vault, by="agent-42", now=NOW).batch is None


def test_letters_that_cannot_be_printed_stay_queued(app: Flask, db_session: Session,
                                                    dublin: Person) -> None:
    nowhere = factories.person(db_session, enrolment=Enrolment.EXCLUDED_MINOR,
                               postal_address="  \n ")
    cyrillic = factories.person(db_session, enrolment=Enrolment.EXCLUDED_OVERSEAS,
                                postal_address="ул. Ленина, 1\nМосква")
    fine = builders.document(app, db_session, dublin, MADE, delivery=Delivery.POST)
    no_address = builders.document(app, db_session, nowhere, MADE, delivery=Delivery.POST)
    unprintable = builders.document(app, db_session, cyrillic, MADE, delivery=Delivery.POST)
    broken = builders.document(app, db_session, dublin, MADE, delivery=Delivery.POST,
                               content=b"%PDF-1.7\nnot really a pdf\n%%EOF\n")
    result = post.batch(db_session, app.extensions["ofpra.vault"], by="agent-1", now=NOW)
    assert result.sent == [fine.id]
    assert sorted(result.kept) == sorted([
        (no_address.id, post.Kept.NO_ADDRESS), (unprintable.id, post.Kept.UNPRINTABLE_ADDRESS),
        (broken.id, post.Kept.UNREADABLE_LETTER)])
    assert result.batch is not None and result.batch.note == (
        "kept in the queue: 1 address_not_printable, 1 letter_unreadable, 1 no_postal_address")
    assert {document.id for document in post.queue(db_session)} == \
        {no_address.id, unprintable.id, broken.id}
    assert stored(db_session, no_address).notified_at is None


def test_a_batch_file_cannot_be_swapped_or_altered(app: Flask, db_session: Session,
                                                   dublin: Person) -> None:
    vault = app.extensions["ofpra.vault"]
    builders.document(app, db_session, dublin, MADE, delivery=Delivery.POST)
    made = post.batch(db_session, vault, by="agent-1", now=NOW).batch
    assert made is not None
    other = PostBatch(created_at=NOW, created_by="x", document_count=1,
                      storage_key=post.seal_batch(vault, builders.pdf()))
    # Another batch's file under this batch's name does not open.
    vault.store.put(made.storage_key, vault.store.get(other.storage_key))
    with pytest.raises(InvalidTag):
        post.open_batch(vault, made)


def test_the_cli_makes_the_batch_and_writes_the_pdf(app: Flask, db_session: Session,
                                                    dublin: Person, tmp_path: Path) -> None:
    builders.document(app, db_session, dublin, MADE, delivery=Delivery.POST, pages=2)
    runner = app.test_cli_runner()
    assert "1 letters wait" in runner.invoke(args=["post", "queue"]).output
    out = tmp_path / "print" / "batch.pdf"
    result = runner.invoke(args=["post", "batch", "--by", "agent-7", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 letters, 3 pages" in result.output
    assert "Haile" not in result.output
    assert len(PdfReader(out).pages) == 3
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    batch_id = int(result.output.split("batch ")[1].split(":")[0])
    again = tmp_path / "again.pdf"
    result = runner.invoke(args=["post", "pdf", str(batch_id), "--out", str(again)])
    assert result.exit_code == 0, result.output
    assert again.read_bytes() == out.read_bytes()
    assert "nothing to print" in runner.invoke(args=["post", "batch", "--by", "agent-7"]).output
    assert runner.invoke(args=["post", "pdf", "999999", "--out", str(again)]).exit_code == 1
    assert runner.invoke(args=["post", "batch", "--by", "  "]).exit_code == 2
