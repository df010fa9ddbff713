"""Letters by post: the print queue of the people who get no alerts, and its batches.

People excluded from the personal space (Dublin procedure, unaccompanied minors, overseas
residents) or taken out of it on OFPRA's decision get their letters on paper (vault rule 2).
Their deposits are stored like any other, with delivery "post", and no alert is queued: they
wait in the print queue. `flask post batch --by AGENT` turns the whole queue into one PDF to
print: for each document an address sheet (the person's name and postal address, placed for a
window envelope), then the letter's pages. Page count = one sheet per document + the letters'.

The batch's PDF is kept encrypted in the vault's store (AES-256-GCM under a key derived from
the current master key and the batch's random storage key: `PostBatch` has no column for a
wrapped key, so the key is derived rather than stored); `flask post pdf` decrypts it again to
print it.

The date that counts: a document sent by post gets `notified_at` = the batch's date (when
OFPRA hands it to the post) and method "post" — what the acknowledgement to OFPRA says. It is
the sending date, not the legal notification: that is the day the post presents the letter
(the registered letter's receipt), which the model has no column for. So the personal space
shows "sent by post on", never deadlines computed from it.

A document is kept in the queue, never printed wrong, when its person has no postal address,
when the address cannot be printed in the standard PDF font, or when its letter cannot be
read; the batch says how many and why, by document id only.
"""

from __future__ import annotations

import enum
import io
import logging
import secrets
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pypdf import PageObject, PdfReader, PdfWriter
from pypdf.errors import PdfReadError
from pypdf.generic import ContentStream, DictionaryObject, NameObject
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.people.models import Person, Sex
from app.vault import storage
from app.vault.models import Delivery, Document, NotificationMethod, PostBatch

log = logging.getLogger(__name__)

# A4 in points; the address block sits where a French DL window envelope shows it (NF Z10-011:
# right half, about 45 to 90 mm from the top).
A4 = (595.28, 841.89)
MM = 72 / 25.4
ADDRESS_X = 110 * MM
ADDRESS_TOP = A4[1] - 50 * MM
LINE = 14
MAGIC = b"OFPB1\n"


class Kept(enum.StrEnum):
    """Why a document stayed in the queue."""

    NO_ADDRESS = "no_postal_address"
    UNPRINTABLE_ADDRESS = "address_not_printable"
    UNREADABLE_LETTER = "letter_unreadable"


@dataclass
class BatchResult:
    """The batch made (None if nothing could be sent), and the documents kept in the queue."""

    batch: PostBatch | None
    sent: list[str] = field(default_factory=list)
    kept: list[tuple[str, Kept]] = field(default_factory=list)
    pages: int = 0


def delivery_for(person: Person) -> Delivery:
    """How a new deposit for `person` reaches them: post if excluded or taken out."""
    return Delivery.POST if person.enrolment.excluded else Delivery.ONLINE


def queue(db_session: Session, *, lock: bool = False) -> list[Document]:
    """The documents waiting to be printed, oldest first; `lock`: taken for this transaction,
    skipping those another batch holds (PostgreSQL; SQLite writes one at a time anyway)."""
    statement = (select(Document)
                 .where(Document.delivery == Delivery.POST, Document.post_batch_id.is_(None))
                 .order_by(Document.made_available_at, Document.id))
    if lock:
        statement = statement.with_for_update(skip_locked=True)
    return list(db_session.scalars(statement))


def recipient_lines(person: Person) -> list[str] | None:
    """The address block: civility and name, then the postal address; None without one."""
    address = [line.strip() for line in (person.postal_address or "").splitlines()]
    address = [line for line in address if line]
    if not address:
        return None
    civility = {Sex.FEMALE: "Madame", Sex.MALE: "Monsieur"}.get(person.sex)
    name = " ".join([*person.given_names, (person.usage_name or person.birth_name).upper()])
    return [f"{civility} {name}" if civility else name, *address]


def _pdf_text(text: str) -> bytes | None:
    """`text` as a PDF string for Helvetica (WinAnsi): accents kept, else stripped; None if
    it still has characters the font cannot show."""
    for candidate in (text, "".join(char for char in unicodedata.normalize("NFKD", text)
                                    if not unicodedata.combining(char))):
        try:
            encoded = candidate.encode("cp1252")
        except UnicodeEncodeError:
            continue
        escaped = encoded.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
        return b"(" + escaped + b")"
    return None


def address_sheet(lines: list[str], footer: str) -> PageObject | None:
    """An A4 page: OFPRA's return address, the recipient's block, a mailroom footer.

    Returns None if a line cannot be printed in the standard font.
    """
    sender = ["OFPRA", "201 rue Carnot", "94136 FONTENAY-SOUS-BOIS CEDEX"]
    parts: list[bytes] = [b"BT /F1 9 Tf"]
    for index, line in enumerate(sender):
        text = _pdf_text(line)
        assert text is not None  # noqa: S101 (fixed ASCII text)
        parts.append(f"1 0 0 1 {20 * MM:.2f} {A4[1] - (20 * MM) - index * 11:.2f} Tm".encode()
                     + b" " + text + b" Tj")
    parts.append(b"/F1 11 Tf")
    for index, line in enumerate(lines):
        text = _pdf_text(line)
        if text is None:
            return None
        parts.append(f"1 0 0 1 {ADDRESS_X:.2f} {ADDRESS_TOP - index * LINE:.2f} Tm".encode()
                     + b" " + text + b" Tj")
    footer_text = _pdf_text(footer)
    assert footer_text is not None  # noqa: S101 (built from numbers)
    parts += [b"/F1 8 Tf", f"1 0 0 1 {20 * MM:.2f} {15 * MM:.2f} Tm".encode() + b" "
              + footer_text + b" Tj", b"ET"]
    writer = PdfWriter()
    page = writer.add_blank_page(*A4)
    font = DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica"),
        NameObject("/Encoding"): NameObject("/WinAnsiEncoding")})
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
    content = ContentStream(None, writer)
    content.set_data(b"\n".join(parts))
    page.replace_contents(content)
    return page


def _letter(vault: storage.Vault, document: Document) -> PdfReader | None:
    sealed = storage.Sealed(document.storage_key, document.size, document.sha256,
                            document.wrapped_key, document.key_id, document.nonce)
    try:
        reader = PdfReader(io.BytesIO(vault.open(sealed, document.id)))
        if not reader.pages:
            raise PdfReadError("no page")
    except Exception:  # any failure keeps the letter out of print; never its content logged
        log.exception("post: document %s cannot be read for printing", document.id)
        return None
    return reader


def batch(db_session: Session, vault: storage.Vault, *, by: str, now: datetime) -> BatchResult:
    """Put the whole print queue in one PDF, record it as a PostBatch, mark the documents sent.

    Documents that cannot be printed stay queued (see `Kept`). Returns a result whose `batch`
    is None if nothing was sent. Flushes, never commits; the PDF is stored before the caller
    commits (a failed commit leaves an orphan ciphertext, never a batch without its file).
    """
    result = BatchResult(batch=None)
    ready: list[tuple[Document, list[str], PdfReader]] = []
    # Two batches at once never take the same letter.
    for document in queue(db_session, lock=True):
        person = db_session.get(Person, document.person_id)
        lines = recipient_lines(person) if person is not None else None
        if lines is None:
            result.kept.append((document.id, Kept.NO_ADDRESS))
            continue
        if any(_pdf_text(line) is None for line in lines):
            result.kept.append((document.id, Kept.UNPRINTABLE_ADDRESS))
            continue
        reader = _letter(vault, document)
        if reader is None:
            result.kept.append((document.id, Kept.UNREADABLE_LETTER))
            continue
        ready.append((document, lines, reader))
    if not ready:
        return result
    output = PdfWriter()
    for number, (document, lines, reader) in enumerate(ready, start=1):
        footer = (f"Pli {number}/{len(ready)} - document {document.id} - "
                  f"{len(reader.pages)} page(s) suivent")
        sheet = address_sheet(lines, footer)
        assert sheet is not None  # noqa: S101 (lines were checked above)
        output.add_page(sheet)
        output.append(reader)
    buffer = io.BytesIO()
    output.write(buffer)
    pdf = buffer.getvalue()
    storage_key = seal_batch(vault, pdf)
    note = None
    if result.kept:
        counts: dict[str, int] = {}
        for _document_id, reason in result.kept:
            counts[reason.value] = counts.get(reason.value, 0) + 1
        note = "kept in the queue: " + ", ".join(f"{count} {reason}"
                                                 for reason, count in sorted(counts.items()))
    made = PostBatch(created_at=now, created_by=by, document_count=len(ready),
                     storage_key=storage_key, note=note)
    db_session.add(made)
    db_session.flush()
    for document, _lines, _reader in ready:
        document.post_batch_id = made.id
        document.notified_at = now
        document.notification_method = NotificationMethod.POST
        result.sent.append(document.id)
    db_session.flush()
    result.batch = made
    result.pages = len(output.pages)
    return result


def _batch_key(vault: storage.Vault, key_id: str, storage_key: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"ofpra post batch:" + storage_key.encode()).derive(
        vault.master_keys[key_id])


def seal_batch(vault: storage.Vault, pdf: bytes) -> str:
    """Encrypt and store a batch's PDF; return its storage key.

    The file is MAGIC, the master key's id and a newline, the nonce, then the ciphertext; the
    storage key is bound in as associated data, so a file cannot be passed off as another.
    """
    storage_key = secrets.token_hex(20)
    nonce = secrets.token_bytes(12)
    key_id = vault.current
    ciphertext = AESGCM(_batch_key(vault, key_id, storage_key)).encrypt(
        nonce, pdf, storage_key.encode())
    vault.store.put(storage_key, MAGIC + key_id.encode() + b"\n" + nonce + ciphertext)
    return storage_key


def open_batch(vault: storage.Vault, made: PostBatch) -> bytes:
    """Return a batch's PDF; raise ValueError if the file is not one, InvalidTag if altered."""
    data = vault.store.get(made.storage_key)
    if not data.startswith(MAGIC):
        raise ValueError("not a post batch file")
    key_id, separator, rest = data[len(MAGIC):].partition(b"\n")
    if not separator:
        raise ValueError("not a post batch file")
    nonce, ciphertext = rest[:12], rest[12:]
    return AESGCM(_batch_key(vault, key_id.decode(), made.storage_key)).decrypt(
        nonce, ciphertext, made.storage_key.encode())
