"""My documents: the letters OFPRA put in the person's space, their dates, and the letters.

`/espace/documents` lists them, newest first, 20 a page: the type, when it was put in the
space, whether it was opened, and — once known — when it counts as received. A document's page
adds, for a decision, the deadlines its notification opens (notification.deadlines). Opening
the letter (inline or downloaded) streams the PDF from the vault and records the first
consultation, which notifies the document if it was not yet (CESEDA R.531-17).

Only the owner sees a document: anyone else's, or one that does not exist, is 404. A support
structure's staff is refused every route here (403), even signed in as a person in the same
browser: structures follow dates, never documents. Nothing here logs a title or a content.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, abort, current_app, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from app import db, web
from app.accounts.models import Account
from app.accounts.session import current_account, login_required
from app.site import pages
from app.support import session as staff_session
from app.vault import notification, storage
from app.vault.models import Delivery, Document, DocumentType, NotificationMethod

PER_PAGE = 20
AROUND = 2

bp = Blueprint("site_vault", __name__, url_prefix="/espace/documents")
bp.after_request(pages.secure_headers)


@bp.before_request
def refuse_staff() -> ResponseReturnValue | None:
    """Support staff never open a document, nor see its page (a plain 403 page)."""
    if staff_session.current_staff() is not None:
        return render_template("site/support/forbidden.html"), 403
    return None


@dataclass(frozen=True)
class Line:
    """A document as the person's list shows it (never its content)."""

    id: str
    type: DocumentType
    title: str
    delivery: Delivery
    made_available_at: datetime
    opened_at: datetime | None
    notified_at: datetime | None
    method: NotificationMethod | None
    # Online and not yet notified: when it will count as received if never opened.
    deemed_at: datetime | None


def line(document: Document, now: datetime) -> Line:
    notified_at, method = notification.status(document, now)
    pending = notified_at is None and document.delivery == Delivery.ONLINE
    return Line(document.id, document.type, document.title, document.delivery,
                document.made_available_at, document.first_consulted_at, notified_at, method,
                notification.deemed_at(document.made_available_at) if pending else None)


def documents_of(db_session: Session, person_id: int, page: int,
                 now: datetime) -> tuple[list[Line], int]:
    """One page of the person's documents, newest first, and how many they have in all."""
    rows = db_session.execute(
        select(Document, func.count().over().label("total"))
        .where(Document.person_id == person_id)
        .order_by(Document.made_available_at.desc(), Document.id.desc())
        .limit(PER_PAGE).offset((page - 1) * PER_PAGE)
    ).all()
    total = rows[0].total if rows else 0
    return [line(document, now) for document, _total in rows], total


def window(page: int, pages_count: int) -> list[int]:
    return list(range(max(1, page - AROUND), min(pages_count, page + AROUND) + 1))


def _account() -> Account:
    account = current_account()
    if account is None:  # login_required has let nobody in
        abort(401)
    return account


def _owned(document_id: str) -> Document:
    """The signed-in person's document `document_id`; 404 if it is not theirs or not there."""
    document = web.session().scalars(
        select(Document).where(Document.id == document_id,
                               Document.person_id == _account().person_id)).one_or_none()
    if document is None:
        abort(404)
    return document


@bp.get("")
@login_required
def index() -> str:
    page = request.args.get("page", 1, type=int) or 1
    if page < 1:
        abort(404)
    lines, total = documents_of(web.session(), _account().person_id, page, db.utcnow())
    if page > 1 and not lines:
        abort(404)
    pages_count = max(1, math.ceil(total / PER_PAGE))
    return render_template("site/vault/index.html", lines=lines, total=total, page=page,
                           pages_count=pages_count, window=window(page, pages_count))


@bp.get("/<document_id>")
@login_required
def show(document_id: str) -> str:
    document = _owned(document_id)
    shown = line(document, db.utcnow())
    deadlines = None
    if document.type == DocumentType.DECISION and document.delivery == Delivery.ONLINE \
            and shown.notified_at is not None:
        deadlines = notification.deadlines(shown.notified_at)
    return render_template("site/vault/document.html", document=document, line=shown,
                           deadlines=deadlines)


def _letter(document_id: str, disposition: str) -> Response:
    """Stream the letter's PDF; the first consultation is recorded and committed first.

    The letter is decrypted and checked before anything is recorded or sent: a document that
    cannot be opened is never counted as consulted.
    """
    db_session = web.session()
    document = _owned(document_id)
    sealed = storage.Sealed(document.storage_key, document.size, document.sha256,
                            document.wrapped_key, document.key_id, document.nonce)
    chunks = current_app.extensions["ofpra.vault"].stream(sealed, document.id)
    first = next(chunks, b"")
    if request.method == "GET":  # a HEAD reads nothing: it opens nothing
        notification.record_first_consultation(db_session, document, db.utcnow())
        db_session.commit()

    def body() -> Iterator[bytes]:
        yield first
        yield from chunks

    response = current_app.response_class(body(), mimetype="application/pdf")
    response.headers["Content-Length"] = str(document.size)
    # The file's name says what kind of letter and when, never its title: downloads folders
    # are shared too.
    day = document.made_available_at.astimezone(notification.PARIS).date().isoformat()
    response.headers["Content-Disposition"] = (
        f'{disposition}; filename="ofpra-{document.type.value.replace("_", "-")}-{day}.pdf"')
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/<document_id>/lettre.pdf")
@login_required
def letter(document_id: str) -> Response:
    """The letter, to read in the browser."""
    return _letter(document_id, "inline")


@bp.get("/<document_id>/telecharger")
@login_required
def download(document_id: str) -> Response:
    """The letter, to keep (a file)."""
    return _letter(document_id, "attachment")
