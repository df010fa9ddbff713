"""POST /backoffice/v1/people/{id}/documents: a PDF, checked, sealed, made available once."""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, func, select

from app.accounts.models import Account
from app.notify.models import Channel, OutboxMessage
from app.partners.models import Habilitation, HabilitationScope, Partner, PartnerKind
from app.people.models import Enrolment, Person
from app.vault import deposit as deposits
from app.vault import storage
from app.vault.models import Delivery, Document, DocumentType
from schemas import backoffice as schemas
from tests import factories
from tests.backoffice.conftest import (
    BACKOFFICE,
    BASE,
    EXCLUSIONS,
    PDF,
    account,
    deposit,
    make_pdf,
    new_key,
    person,
    problem,
)


def documents(db_session, person_id: int) -> list[Document]:  # type: ignore[no-untyped-def]
    db_session.expire_all()
    return list(db_session.scalars(select(Document).where(Document.person_id == person_id)))


def alerts(db_session, person_id: int) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    return list(db_session.scalars(select(OutboxMessage).where(
        OutboxMessage.person_id == person_id).order_by(OutboxMessage.id)))


def ciphertexts(app) -> set[str]:  # type: ignore[no-untyped-def]
    root = app.extensions["ofpra.vault"].store.root
    return {path.name for path in root.rglob("*") if path.is_file()}


# --- a deposit --------------------------------------------------------------------------------

def test_a_pdf_is_deposited_sealed_and_made_available(app, client, db_session, token, ofpra):
    someone = person(db_session)
    before = datetime.now(UTC)
    response = deposit(client, token, someone.id, key=new_key(), type="convocation",
                       title="Convocation à l'entretien",
                       interview_at="2026-03-02T09:30:00+01:00",
                       interview_place="OFPRA, 201 rue Carnot, Fontenay-sous-Bois")
    assert response.status_code == 201, response.json
    body = response.json
    assert response.headers["Location"] == f"{BASE}/documents/{body['id']}"
    assert "Idempotent-Replayed" not in response.headers
    assert {key: body[key] for key in ("person_id", "type", "title", "interview_at",
                                       "interview_place", "decision_outcome", "delivery",
                                       "size", "sha256")} == {
        "person_id": someone.id, "type": "convocation", "title": "Convocation à l'entretien",
        "interview_at": "2026-03-02T08:30:00+00:00",
        "interview_place": "OFPRA, 201 rue Carnot, Fontenay-sous-Bois",
        "decision_outcome": None, "delivery": "online", "size": len(PDF),
        "sha256": hashlib.sha256(PDF).hexdigest()}
    assert before <= datetime.fromisoformat(body["made_available_at"]) <= datetime.now(UTC)

    (stored,) = documents(db_session, someone.id)
    assert (stored.id, stored.type, stored.delivery, stored.deposited_by,
            stored.first_consulted_at, stored.notified_at, stored.post_batch_id) == \
        (body["id"], DocumentType.CONVOCATION, Delivery.ONLINE, ofpra.client_id, None, None,
         None)
    assert stored.interview_at == datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
    # At rest: ciphertext only; it opens to the very bytes deposited.
    vault: storage.Vault = app.extensions["ofpra.vault"]
    ciphertext = vault.store.get(stored.storage_key)
    assert b"%PDF" not in ciphertext and b"Convocation" not in ciphertext
    assert len(ciphertext) == len(PDF) + 16  # the GCM tag
    sealed = storage.Sealed(stored.storage_key, stored.size, stored.sha256, stored.wrapped_key,
                            stored.key_id, stored.nonce)
    plaintext = vault.open(sealed, stored.id)
    assert plaintext == PDF
    assert hashlib.sha256(plaintext).hexdigest() == stored.sha256 == body["sha256"]


def test_the_test_pdf_is_one_a_real_reader_opens():
    pypdf = pytest.importorskip("pypdf")
    import io

    reader = pypdf.PdfReader(io.BytesIO(PDF), strict=True)
    assert len(reader.pages) == 1


@pytest.mark.parametrize("kind, fields", [
    ("introduction_letter", {}), ("six_month_letter", {}), ("convocation_cancellation", {}),
    ("interview_transcript", {}), ("renotification", {}), ("other_letter", {}),
    ("decision", {"decision_outcome": "refusal"}),
    ("convocation", {"interview_at": "2026-05-04T14:00:00Z", "interview_place": "Rennes"}),
])
def test_every_type_of_letter(client, db_session, token, kind, fields):
    someone = person(db_session)
    response = deposit(client, token, someone.id, key=new_key(), type=kind, title="Courrier",
                       **fields)
    assert response.status_code == 201, response.json
    assert response.json["type"] == kind
    assert response.json["decision_outcome"] == fields.get("decision_outcome")


@pytest.mark.parametrize("fields, field, message", [
    ({"type": "convocation", "interview_place": "Rennes"}, "interview_at",
     "Required for a convocation."),
    ({"type": "convocation", "interview_at": "2026-05-04T14:00:00Z"}, "interview_place",
     "Required for a convocation."),
    ({"type": "convocation", "interview_at": "2026-05-04T14:00:00", "interview_place": "Rennes"},
     "interview_at", None),
    ({"type": "decision"}, "decision_outcome", "Required for a decision."),
    ({"type": "decision", "decision_outcome": "maybe"}, "decision_outcome", None),
    ({"type": "other_letter", "decision_outcome": "refusal"}, "decision_outcome",
     "Only for a decision."),
    ({"type": "decision", "decision_outcome": "refusal", "interview_place": "Rennes"},
     "interview_place", "Only for a convocation."),
    ({"type": "medical_certificate"}, "type", None),
    ({"title": ""}, "title", None),
    ({"title": "x" * 201}, "title", None),
    ({"recipient": "13002526500013"}, "recipient", "Unknown field."),
])
def test_invalid_metadata_is_refused_by_field(app, client, db_session, token, fields, field,
                                              message):
    someone = person(db_session)
    files = ciphertexts(app)
    response = deposit(client, token, someone.id, key=new_key(), **fields)
    body = problem(response, 422, "invalid_request")
    assert field in body["errors"], body
    if message:
        assert body["errors"][field] == [message]
    assert documents(db_session, someone.id) == [] and ciphertexts(app) == files


def test_the_file_is_required(client, db_session, token):
    someone = person(db_session)
    response = client.post(f"{BASE}/people/{someone.id}/documents",
                           data={"type": "other_letter", "title": "Courrier"},
                           headers={"Authorization": f"Bearer {token}",
                                    "Idempotency-Key": new_key()},
                           content_type="multipart/form-data")
    assert problem(response, 422, "invalid_request")["errors"] == {
        "file": ["Missing data for required field."]}


def test_an_unknown_person_is_404(client, db_session, token):
    problem(deposit(client, token, 999999, key=new_key()), 404, "no_such_person")


# --- what is a PDF ----------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
WRONG_OFFSET = PDF.replace(b"startxref\n423\n", b"startxref\n400\n")


@pytest.mark.parametrize("content, reason", [
    (PNG, "The file is not a PDF: it does not start with %PDF-."),
    (b"<html><body>%PDF-1.4</body></html>", "The file is not a PDF: it does not start with "
                                            "%PDF-."),
    (b"", "The file is not a PDF: it does not start with %PDF-."),
    (b"%PDF-9.9\n" + PDF[9:], "The PDF header names no version from 1.0 to 2.0."),
    (PDF[:-100], "The PDF has no end-of-file marker (%%EOF): it may be truncated."),
    (PDF.replace(b"startxref", b"startref"), "The PDF does not end with startxref, an offset "
                                             "and %%EOF."),
    (WRONG_OFFSET, "The PDF's startxref offset does not point at a cross-reference section."),
    (PDF.replace(b"startxref\n423\n", b"startxref\n99999\n"),
     "The PDF's startxref offset points outside the file."),
    (PDF.replace(b"/Root 1 0 R", b"/Info 1 0 R"),
     "The PDF's trailer names no document catalogue (/Root)."),
    (make_pdf(trailer=b" /Encrypt 6 0 R"), "The PDF is encrypted: the person could not open it."),
])
def test_anything_but_a_pdf_is_refused(app, client, db_session, token, content, reason):
    assert b"startxref\n423\n" in PDF  # what the cases above rewrite
    someone = person(db_session)
    files = ciphertexts(app)
    response = deposit(client, token, someone.id, key=new_key(), pdf=content)
    body = problem(response, 422, "not_a_pdf")
    assert body["detail"] == reason
    assert body["errors"] == {"file": [reason]}
    assert documents(db_session, someone.id) == [] and ciphertexts(app) == files


def test_pdf_versions_1_0_to_2_0(client, db_session, token):
    someone = person(db_session)
    for version in (b"1.0", b"1.7", b"2.0"):
        response = deposit(client, token, someone.id, key=new_key(), pdf=make_pdf(
            version=version))
        assert response.status_code == 201, response.json


# --- size -------------------------------------------------------------------------------------

def test_the_limit_is_10_mb_by_default(app, client, db_session, token):
    assert app.config.get("VAULT_MAX_DOCUMENT_BYTES") in (None, deposits.MAX_BYTES)
    assert deposits.MAX_BYTES == 10 * 1024 * 1024
    someone = person(db_session)
    response = deposit(client, token, someone.id, key=new_key(),
                       pdf=PDF + b"%" * (deposits.MAX_BYTES + 1 - len(PDF)))
    body = problem(response, 413, "document_too_large")
    assert body["detail"] == "A document may have at most 10485760 bytes."


def test_one_byte_over_the_configured_limit_is_413(app, client, db_session, token,
                                                   monkeypatch):
    someone = person(db_session)
    monkeypatch.setitem(app.config, "VAULT_MAX_DOCUMENT_BYTES", len(PDF) - 1)
    response = deposit(client, token, someone.id, key=new_key())
    assert problem(response, 413, "document_too_large")["detail"] == \
        f"A document may have at most {len(PDF) - 1} bytes."
    monkeypatch.setitem(app.config, "VAULT_MAX_DOCUMENT_BYTES", len(PDF))
    assert deposit(client, token, someone.id, key=new_key()).status_code == 201


def test_a_body_far_over_the_limit_is_refused_before_it_is_read(app, client, db_session, token,
                                                                 monkeypatch):
    someone = person(db_session)
    monkeypatch.setitem(app.config, "VAULT_MAX_DOCUMENT_BYTES", 1000)
    huge = b"%PDF-1.4\n" + b"0" * 200_000
    response = deposit(client, token, someone.id, key=new_key(), pdf=huge)
    assert problem(response, 413, "document_too_large")["detail"] == \
        "A document may have at most 1000 bytes."
    assert documents(db_session, someone.id) == []


# --- delivery and alerts ----------------------------------------------------------------------

def test_verified_contacts_only_are_alerted_in_the_account_language(client, db_session, token):
    someone = person(db_session)
    account(db_session, someone, language="en", email="amina@example.org", email_verified=True,
            phone="+33612345678", phone_verified=False)
    response = deposit(client, token, someone.id, key=new_key())
    assert response.status_code == 201, response.json
    assert [(message.channel, message.recipient, message.template, message.language,
             message.context, message.sent_at) for message in alerts(db_session, someone.id)] \
        == [(Channel.EMAIL, "amina@example.org", "document_deposited", "en", {}, None)]


def test_both_verified_contacts_are_alerted(client, db_session, token):
    someone = person(db_session)
    account(db_session, someone, language="ar", email="amina@example.org", email_verified=True,
            phone="+33612345678", phone_verified=True)
    deposit(client, token, someone.id, key=new_key(), type="decision", title="Décision",
            decision_outcome="refugee_status")
    queued = alerts(db_session, someone.id)
    assert sorted((message.channel, message.recipient, message.language, message.context)
                  for message in queued) == [
        (Channel.EMAIL, "amina@example.org", "ar", {}),
        (Channel.SMS, "+33612345678", "ar", {})]
    # Never the content: not the title, not the outcome.
    assert all(message.template == "document_deposited" for message in queued)


def test_no_account_no_alert_but_online(client, db_session, token):
    someone = person(db_session)
    response = deposit(client, token, someone.id, key=new_key())
    assert response.json["delivery"] == "online"
    assert alerts(db_session, someone.id) == []


@pytest.mark.parametrize("enrolment", EXCLUSIONS)
def test_people_excluded_or_taken_out_get_letters_by_post_without_alert(
        client, db_session, token, enrolment):
    someone = person(db_session, enrolment=enrolment)
    # An account from before they were taken out: still no alert.
    account(db_session, someone, email="amina@example.org", email_verified=True)
    response = deposit(client, token, someone.id, key=new_key())
    assert response.status_code == 201, response.json
    assert response.json["delivery"] == "post"
    (stored,) = documents(db_session, someone.id)
    assert (stored.delivery, stored.post_batch_id, stored.notified_at) == \
        (Delivery.POST, None, None)
    assert alerts(db_session, someone.id) == []


def test_letters_by_post_need_a_postal_address(app, client, db_session, token):
    someone = person(db_session, enrolment=Enrolment.EXCLUDED_DUBLIN, postal_address=None)
    files = ciphertexts(app)
    response = deposit(client, token, someone.id, key=new_key())
    problem(response, 409, "postal_address_missing")
    assert documents(db_session, someone.id) == [] and ciphertexts(app) == files


# --- idempotency ------------------------------------------------------------------------------

@pytest.mark.parametrize("header", [None, "", "x" * 129, "clé-accentuée", "two words"])
def test_an_idempotency_key_is_required(client, db_session, token, header):
    someone = person(db_session)
    response = deposit(client, token, someone.id, key=header)
    assert "Idempotency-Key" in problem(response, 400, "idempotency_key_invalid")["detail"]
    assert documents(db_session, someone.id) == []


def test_the_same_deposit_twice_is_stored_once_and_answered_the_same(app, client, db_session,
                                                                       token):
    someone = person(db_session)
    account(db_session, someone, email="amina@example.org", email_verified=True)
    key = new_key()
    fields = {"type": "convocation", "title": "Convocation",
              "interview_at": "2026-03-02T09:30:00+01:00", "interview_place": "Rennes"}
    first = deposit(client, token, someone.id, key=key, **fields)
    files = ciphertexts(app)
    again = deposit(client, token, someone.id, key=f'"{key}"', **fields)  # a quoted sf-string
    assert (again.status_code, again.json) == (first.status_code, first.json) == (201, first.json)
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(documents(db_session, someone.id)) == 1
    assert len(alerts(db_session, someone.id)) == 1
    assert ciphertexts(app) == files


@pytest.mark.parametrize("change", [
    {"title": "Convocation (rectifiée)"}, {"pdf": make_pdf("Autre texte")},
    {"type": "other_letter"}, {"other_person": True},
])
def test_the_same_key_for_another_deposit_is_refused(client, db_session, token, change):
    someone = person(db_session)
    key = new_key()
    first = deposit(client, token, someone.id, key=key, type="introduction_letter",
                    title="Convocation")
    assert first.status_code == 201
    target = person(db_session).id if "other_person" in change else someone.id
    fields = {"type": "introduction_letter", "title": "Convocation",
              **{name: value for name, value in change.items() if name != "other_person"}}
    response = deposit(client, token, target, key=key, **fields)
    problem(response, 422, "idempotency_key_reused")
    assert [document.id for document in documents(db_session, someone.id)] == [first.json["id"]]


def test_keys_are_each_client_s_own(client, db_session, token, mint, ofpra):
    other = factories.partner(db_session, BACKOFFICE, kind=PartnerKind.OFPRA)
    db_session.commit()
    someone = person(db_session)
    key = new_key()
    first = deposit(client, token, someone.id, key=key)
    second = deposit(client, mint(other.client_id, "backoffice:documents"), someone.id, key=key)
    assert (first.status_code, second.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in second.headers
    deposited = {document.id: document.deposited_by
                 for document in documents(db_session, someone.id)}
    assert deposited == {first.json["id"]: ofpra.client_id, second.json["id"]: other.client_id}


def test_a_race_lost_at_the_unique_index_answers_with_the_stored_one(app, client, db_session,
                                                                      token, monkeypatch):
    """Both requests looked before either stored: the index decides, the loser replays."""
    someone = person(db_session)
    account(db_session, someone, phone="+33612345678", phone_verified=True)
    key = new_key()
    first = deposit(client, token, someone.id, key=key)
    files = ciphertexts(app)
    looked = []
    real = deposits._stored

    def late(db_session, deposited_by, idempotency_key):  # type: ignore[no-untyped-def]
        looked.append(idempotency_key)
        return None if len(looked) == 1 else real(db_session, deposited_by, idempotency_key)

    monkeypatch.setattr(deposits, "_stored", late)
    again = deposit(client, token, someone.id, key=key)
    assert looked == [key, key]
    assert (again.status_code, again.json) == (201, first.json)
    assert len(documents(db_session, someone.id)) == 1
    assert len(alerts(db_session, someone.id)) == 1
    assert ciphertexts(app) == files  # the loser's ciphertext was deleted
    # The same race with another payload is still a reused key.
    looked.clear()
    problem(deposit(client, token, someone.id, key=key, title="Autre"), 422,
            "idempotency_key_reused")
    assert ciphertexts(app) == files


def test_two_concurrent_deposits_store_one(app, mint):
    """A deposit arriving while the same one is between its insert and its commit.

    Committed for real (no rollback fixture), so the two transactions are truly concurrent.
    PostgreSQL makes the second wait at the unique index, then answers it with the first.
    SQLite (development) refuses at once a write from a transaction that read while another
    held the write lock: the second fails (503, nothing stored, its ciphertext deleted) and its
    retry, with the same key, is the replay.
    """
    database = app.extensions["ofpra.db"]
    sqlite = database.engine.dialect.name == "sqlite"
    app.extensions["ofpra.directory"].forget()
    app.extensions["ofpra.limits"].limiter.storage.reset()
    with database.sessions() as setup:
        ofpra = factories.partner(setup, BACKOFFICE, kind=PartnerKind.OFPRA)
        someone = factories.person(setup, postal_address="1 rue X\n75001 Paris")
        setup.commit()
    token = mint(ofpra.client_id, "backoffice:documents")
    key = new_key()
    outcome = {}
    vault = app.extensions["ofpra.vault"]
    try:
        with database.sessions() as first_use:
            made = deposits.deposit(
                first_use, vault, person_id=someone.id,
                letter=deposits.Letter(DocumentType.INTRODUCTION_LETTER,
                                       "Lettre d'introduction"),
                pdf=PDF, deposited_by=ofpra.client_id, idempotency_key=key,
                now=datetime.now(UTC))
            racer = threading.Thread(target=lambda: outcome.update(
                response=deposit(app.test_client(), token, someone.id, key=key)))
            files = ciphertexts(app)
            racer.start()
            time.sleep(0.3)
            if sqlite:
                racer.join(timeout=10)
                problem(outcome["response"], 503, "unavailable")
                assert ciphertexts(app) == files
            else:
                assert racer.is_alive(), "the second deposit did not wait for the first"
            first_use.commit()
            racer.join(timeout=10)
            expected = schemas.DocumentSchema().dump(made.document)
        response = outcome["response"]
        if sqlite:
            response = deposit(app.test_client(), token, someone.id, key=key)
        assert (response.status_code, response.json) == (201, expected)
        assert response.headers["Idempotent-Replayed"] == "true"
        with database.sessions() as check:
            assert check.scalar(select(func.count()).select_from(Document).where(
                Document.person_id == someone.id)) == 1
    finally:
        with database.sessions() as cleanup:
            for document in cleanup.scalars(select(Document).where(
                    Document.person_id == someone.id)):
                vault.store.delete(document.storage_key)
            cleanup.execute(delete(Document).where(Document.person_id == someone.id))
            cleanup.execute(delete(OutboxMessage).where(OutboxMessage.person_id == someone.id))
            cleanup.execute(delete(Account).where(Account.person_id == someone.id))
            cleanup.execute(delete(Person).where(Person.id == someone.id))
            habilitations = select(Habilitation.id).where(Habilitation.partner_id == ofpra.id)
            cleanup.execute(delete(HabilitationScope).where(
                HabilitationScope.habilitation_id.in_(habilitations)))
            cleanup.execute(delete(Habilitation).where(Habilitation.partner_id == ofpra.id))
            cleanup.execute(delete(Partner).where(Partner.id == ofpra.id))
            cleanup.commit()
        app.extensions["ofpra.directory"].forget()
