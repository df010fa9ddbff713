"""The pages: the person's attestations (/espace/attestations) and the public /verify.

A person downloads, for any of the three records, a PDF that says what OFPRA would answer an
administration today; each download is a new attestation (one POST, CSRF-checked, one commit).
A valid attestation can be downloaded again, by its holder only.

/verify is for the clerk at the desk: no account, nothing stored, nothing changed. It is not a
"site_*" blueprint because it needs no CSRF token: a forged request could only make a browser
check an attestation, and a form a clerk left open all morning must still work (the site's
tokens last 15 idle minutes).
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, current_app, render_template, request, url_for
from werkzeug.wrappers import Response

from app import web
from app.accounts.models import Account
from app.accounts.session import current_account, login_required
from app.attestations import api, document, payload, schemas, services
from app.db import Raw
from app.people import records, repository
from app.site import pages

bp = Blueprint("site_attestations", __name__, url_prefix="/espace/attestations")
bp.after_request(pages.secure_headers)
verify_bp = Blueprint("verify", __name__, url_prefix="/verify")
verify_bp.after_request(pages.secure_headers)


def _account() -> Account:
    account = current_account()
    if account is None:  # login_required has let nobody in
        abort(401)
    return account


def _verify_url() -> str:
    return current_app.config["PUBLIC_URL"].rstrip("/") + url_for("verify.form")


def _pdf(issued: services.Issued) -> Response:
    body = document.render(issued, _verify_url())
    response = current_app.response_class(body, mimetype="application/pdf")
    name = f"attestation-ofpra-{issued.scope.replace('_', '-')}-{issued.terms.issued_on}.pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.get("")
@login_required
def index() -> str:
    """The three records as OFPRA would answer them today, each with its download."""
    account = _account()
    db_session = web.session()
    now = datetime.now(UTC)
    today = services.paris_day(now)
    raw = Raw(db_session)
    shown: dict[str, records.Record] = {
        scope: repository.record(raw, scope, account.person_id, today)
        for scope in payload.QUESTIONS
    }
    return render_template(
        "site/attestations/index.html", records=shown,
        holder=services.holder(raw, account.person_id),
        issued=services.history(db_session, account.person_id, now),
        validity_days=current_app.config["ATTESTATION_VALIDITY_DAYS"],
        verify_url=_verify_url(), states=services.Verdict)


@bp.post("/<scope>")
@login_required
def download(scope: str) -> Response:
    """A new attestation of today's record of `scope`, as a PDF; 404 for another scope."""
    account = _account()
    if scope not in payload.QUESTIONS:
        abort(404)
    db_session = web.session()
    issued = services.issue(
        db_session, current_app.extensions["ofpra.keys"], person_id=account.person_id,
        scope=scope, now=datetime.now(UTC),
        validity_days=current_app.config["ATTESTATION_VALIDITY_DAYS"],
        issuer=current_app.config["ATTESTATION_ISSUER"])
    response = _pdf(issued)
    db_session.commit()
    return response


@bp.get("/<attestation_id>.pdf")
@login_required
def again(attestation_id: str) -> Response:
    """One of the person's valid attestations, again; 404 if not theirs or no longer valid."""
    account = _account()
    issued = services.reissue(
        web.session(), current_app.extensions["ofpra.keys"], person_id=account.person_id,
        attestation_id=attestation_id, now=datetime.now(UTC),
        issuer=current_app.config["ATTESTATION_ISSUER"])
    if issued is None:
        abort(404)
    return _pdf(issued)


@verify_bp.get("")
def form() -> str:
    return render_template("site/attestations/verify.html", check=None, problem=None)


@verify_bp.post("")
def verify() -> str:
    """The verdict on what the clerk pasted, or on the PDF they uploaded."""
    problem = None
    check = None
    if (request.content_length or 0) > document_limit():
        problem = "too_large"
    else:
        request.max_content_length = document_limit()
        upload = request.files.get("document")
        text = request.form.get("attestation", "")
        if upload is not None and upload.filename:
            check = api.check_pdf(upload.read())
            problem = None if check is not None else "not_found"
        elif text.strip():
            check = api.check_token(text)
        else:
            problem = "empty"
    return render_template("site/attestations/verify.html", check=check, problem=problem)


def document_limit() -> int:
    # The file plus the form around it.
    return schemas.PDF_LIMIT + 64_000
