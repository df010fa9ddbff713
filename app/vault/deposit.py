"""Deposits: OFPRA puts a letter in a person's space, or in the print queue, once per key.

A deposit is a PDF and what it is (type, title, the interview of a convocation, the outcome of
a decision). It is checked to be a PDF (structure only: header, cross-reference, trailer,
end-of-file marker; no rendering, nothing executed), sealed in the vault (AES-256-GCM, its
SHA-256 recorded), and made available at `now`:
- online when the person uses the personal space: an alert (template `document_deposited`,
  no content) is queued for each verified contact, in the account's language, in the same
  transaction;
- by post when the person is excluded or taken out (`post.delivery_for`): no alert, the print
  queue takes it. A person whose letters go by post must have a postal address first.

Idempotency (draft-ietf-httpapi-idempotency-key-header): the client names each deposit with a
key of its own. The same key with the same request (same person, metadata and PDF bytes: the
`request_digest`) is stored once and answered with the stored document; the same key with
another request is refused. Two identical deposits racing each other both pass the first look
and meet at the unique index (deposited_by, idempotency_key): the loser answers with the
winner's document, and its own ciphertext is deleted.

Nothing here commits; the caller does, once. A ciphertext is deleted again whenever its row is
not written; if the caller's commit fails, it stays in the store unreferenced (deleting it
could lose a document whose commit did happen).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.accounts import services as accounts
from app.accounts.models import Account
from app.notify import outbox
from app.people.models import Person
from app.vault import post, storage
from app.vault.models import DecisionOutcome, Delivery, Document, DocumentType

MAX_BYTES = 10 * 1024 * 1024  # VAULT_MAX_DOCUMENT_BYTES unless configured
MAX_KEY_LENGTH = 128  # the column's size
ALERT_TEMPLATE = "document_deposited"

# The header: %PDF-1.0 to %PDF-1.7 or %PDF-2.0 at the very start, then an end of line.
_HEADER = re.compile(rb"%PDF-(?:1\.[0-7]|2\.0)[\r\n]")
# A writer puts "startxref", the offset of the last cross-reference section, and "%%EOF" in the
# last bytes (ISO 32000-1 7.5.5); 1024 is where readers look.
_TAIL = 1024
_STARTXREF = re.compile(rb"startxref[\r\n ]+(\d{1,10})[\r\n ]+%%EOF[\r\n ]*\Z")
_XREF_TABLE = re.compile(rb"xref[\r\n ]")
_XREF_STREAM = re.compile(rb"\d{1,10}[\r\n ]+\d{1,5}[\r\n ]+obj[\r\n ]*<<")
_KEY = re.compile(rf"[\x21-\x7e]{{1,{MAX_KEY_LENGTH}}}")


class DepositError(Exception):
    """Base of the deposit's refusals; the message says why, for OFPRA's operators."""


class NotAPdf(DepositError):
    """The file is not a well-formed PDF."""


class DocumentTooLarge(DepositError):
    """The file is over the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"A document may have at most {limit} bytes.")
        self.limit = limit


class InvalidIdempotencyKey(DepositError):
    """The key is missing, or not 1 to 128 visible ASCII characters."""


class IdempotencyKeyReused(DepositError):
    """This key named another deposit: a key names one request, for good."""


class NoSuchPerson(DepositError):
    """No person has this internal id."""


class PostalAddressMissing(DepositError):
    """The person's letters go by post, and no postal address is recorded."""


@dataclass(frozen=True)
class Letter:
    """What the document is; the schema has checked which fields its type requires."""

    type: DocumentType
    title: str
    interview_at: datetime | None = None
    interview_place: str | None = None
    decision_outcome: DecisionOutcome | None = None


@dataclass(frozen=True)
class Deposited:
    """The stored document; `replayed` if an earlier request with the same key stored it."""

    document: Document
    replayed: bool
    alerts: int = 0


def idempotency_key(header: str | None) -> str:
    """Return the key of an Idempotency-Key header (a structured-field string, quotes optional).

    Raises InvalidIdempotencyKey if it is missing or not 1 to 128 visible ASCII characters.
    """
    value = (header or "").strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if not _KEY.fullmatch(value):
        raise InvalidIdempotencyKey(
            "Send an Idempotency-Key header: 1 to 128 visible ASCII characters, a UUID for "
            "instance, new for each deposit and the same when the deposit is sent again.")
    return value


def check_pdf(data: bytes, max_bytes: int = MAX_BYTES) -> None:
    """Return if `data` is a PDF of at most `max_bytes` bytes, with a readable structure.

    Raises DocumentTooLarge, or NotAPdf saying what is wrong: no %PDF- header, no %%EOF
    marker (a truncated file), no startxref pointing at a cross-reference section, no
    document catalogue, or an encrypted file the person could not open.
    """
    if len(data) > max_bytes:
        raise DocumentTooLarge(max_bytes)
    if not data.startswith(b"%PDF-"):
        raise NotAPdf("The file is not a PDF: it does not start with %PDF-.")
    if not _HEADER.match(data):
        raise NotAPdf("The PDF header names no version from 1.0 to 2.0.")
    tail = data[-_TAIL:]
    if b"%%EOF" not in tail:
        raise NotAPdf("The PDF has no end-of-file marker (%%EOF): it may be truncated.")
    found = _STARTXREF.search(tail)
    if found is None:
        raise NotAPdf("The PDF does not end with startxref, an offset and %%EOF.")
    offset = int(found[1])
    trailer_end = len(data) - len(tail) + found.start()
    if not 0 < offset < trailer_end:
        raise NotAPdf("The PDF's startxref offset points outside the file.")
    section = data[offset:offset + 64]
    if _XREF_TABLE.match(section):
        # The section's own trailer follows it (in a linearised file, the last one in the
        # file belongs to another section and may name no catalogue).
        start = data.find(b"trailer", offset, trailer_end)
        if start < 0:
            raise NotAPdf("The PDF's cross-reference table has no trailer.")
        end = data.find(b"startxref", start, trailer_end)
        trailer = data[start:end if end > 0 else trailer_end]
    elif _XREF_STREAM.match(section):
        # The stream's dictionary is its trailer (ISO 32000-1 7.5.8); its data is binary.
        start = data.find(b"stream", offset, trailer_end)
        trailer = data[offset:start if start > 0 else trailer_end]
        if b"/XRef" not in trailer:
            raise NotAPdf("The PDF's startxref offset does not point at a cross-reference "
                          "stream.")
    else:
        raise NotAPdf("The PDF's startxref offset does not point at a cross-reference "
                      "section.")
    if b"/Root" not in trailer:
        raise NotAPdf("The PDF's trailer names no document catalogue (/Root).")
    if b"/Encrypt" in trailer:
        raise NotAPdf("The PDF is encrypted: the person could not open it.")


def request_digest(person_id: int, letter: Letter, sha256: str) -> str:
    """Return the SHA-256 of what the request asks (who, what, which bytes), canonically:
    two requests with the same digest are the same deposit."""
    interview_at = letter.interview_at.astimezone(UTC).isoformat() \
        if letter.interview_at else None
    canonical = json.dumps({
        "person_id": person_id, "type": letter.type.value, "title": letter.title,
        "interview_at": interview_at, "interview_place": letter.interview_place,
        "decision_outcome": letter.decision_outcome.value if letter.decision_outcome else None,
        "sha256": sha256,
    }, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def deposit(db_session: Session, vault: storage.Vault, *, person_id: int, letter: Letter,
            pdf: bytes, deposited_by: str, idempotency_key: str, now: datetime,
            max_bytes: int = MAX_BYTES) -> Deposited:
    """Store the document and queue its alerts (flushed, not committed); or, if this key
    already stored this very request, return that document (`replayed`).

    Raises DocumentTooLarge, NotAPdf, IdempotencyKeyReused, NoSuchPerson, PostalAddressMissing.
    """
    check_pdf(pdf, max_bytes)
    sha256 = hashlib.sha256(pdf).hexdigest()
    digest = request_digest(person_id, letter, sha256)
    stored = _stored(db_session, deposited_by, idempotency_key)
    if stored is not None:
        return _replay(stored, digest)
    person = db_session.get(Person, person_id)
    if person is None:
        raise NoSuchPerson(f"No person has the id {person_id}.")
    delivery = post.delivery_for(person)
    if delivery is Delivery.POST and not (person.postal_address or "").strip():
        raise PostalAddressMissing(
            "This person's letters go by post and no postal address is recorded: record it, "
            "then deposit again.")
    document_id = str(uuid.uuid4())
    sealed = vault.seal(pdf, document_id)
    kept = False
    try:
        document = Document(
            id=document_id, person_id=person.id, type=letter.type, title=letter.title,
            # In UTC, as read back: a replay is answered with the very same body.
            interview_at=letter.interview_at.astimezone(UTC) if letter.interview_at else None,
            interview_place=letter.interview_place,
            decision_outcome=letter.decision_outcome, delivery=delivery,
            made_available_at=now, storage_key=sealed.storage_key, size=sealed.size,
            sha256=sealed.sha256, wrapped_key=sealed.wrapped_key, key_id=sealed.key_id,
            nonce=sealed.nonce, deposited_by=deposited_by, idempotency_key=idempotency_key,
            request_digest=digest)
        try:
            with db_session.begin_nested():
                db_session.add(document)
        except IntegrityError:
            # The same key was stored meanwhile (a concurrent request): answer with it.
            stored = _stored(db_session, deposited_by, idempotency_key)
            if stored is None:
                raise
            return _replay(stored, digest)
        alerts = _alert(db_session, person.id, now) if delivery is Delivery.ONLINE else 0
        kept = True
        return Deposited(document, replayed=False, alerts=alerts)
    finally:
        if not kept:
            vault.store.delete(sealed.storage_key)


def _stored(db_session: Session, deposited_by: str, key: str) -> Document | None:
    return db_session.scalars(select(Document).where(
        Document.deposited_by == deposited_by, Document.idempotency_key == key)).one_or_none()


def _replay(stored: Document, digest: str) -> Deposited:
    if stored.request_digest != digest:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used for another deposit (another person, metadata or "
            "file): use a new key for a new deposit.")
    return Deposited(stored, replayed=True)


def _alert(db_session: Session, person_id: int, made_available_at: datetime) -> int:
    """Queue the alert for each verified contact of the person's account; return how many.

    Each alert is dated with the document's made_available_at: that is how the document's
    acknowledgement finds its alerts (the message itself names no document)."""
    account = db_session.scalars(
        select(Account).where(Account.person_id == person_id)).one_or_none()
    if account is None:
        return 0  # not activated yet: the notice told them to sign in regularly
    contacts = accounts.verified_contacts(account)
    for kind, recipient in contacts:
        message = outbox.enqueue(db_session, channel=kind.channel, recipient=recipient,
                                 template=ALERT_TEMPLATE, language=account.language,
                                 context={}, person_id=person_id)
        message.created_at = made_available_at
    return len(contacts)
