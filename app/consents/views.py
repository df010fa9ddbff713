"""The person's consent page: who may ask with consent, what they would be told, and the
person's own consents — give, withdraw, answer a request, download a receipt.

Every change is one POST (CSRF-checked: the blueprint's name starts with "site"), one ledger
event with method "online" and actor "person", one commit, then a redirect to the page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from marshmallow import ValidationError
from werkzeug.wrappers import Response

from app import i18n, web
from app.accounts.models import Account
from app.accounts.session import current_account, login_required
from app.consents import receipts, requests, services
from app.db import Raw
from app.partners.services import PARIS
from app.people import records, repository
from app.site import pages
from consent import ledger
from schemas import consents as forms

bp = Blueprint("site_consents", __name__, url_prefix="/espace/consentements")
bp.after_request(pages.secure_headers)

GRANT = forms.GrantFormSchema()
WITHDRAW = forms.WithdrawFormSchema()
ANSWER = forms.AnswerFormSchema()


def _account() -> Account:
    account = current_account()
    if account is None:  # login_required has let nobody in
        abort(401)
    return account


def _form(schema: Any) -> dict[str, Any]:
    try:
        return schema.load(request.form)  # type: ignore[no-any-return]
    except ValidationError:
        abort(400)


def _back() -> Response:
    return redirect(url_for("site_consents.index"), code=303)


def _now() -> tuple[datetime, Any]:
    now = datetime.now(UTC)
    return now, now.astimezone(PARIS).date()


@bp.get("")
@login_required
def index() -> str:
    """What the person decides about: requests waiting, partners that may ask, their consents."""
    account = _account()
    db_session = web.session()
    now, today = _now()
    offers = services.offers(db_session, today)
    waiting = requests.pending(db_session, account.person_id, now)
    consents = services.history(db_session, account.person_id, now)
    # One record per scope: the very object the partner would receive today.
    raw = Raw(db_session)
    wanted = {item.scope for offer in offers for item in offer.scopes}
    wanted |= {scope for item in waiting for scope in item.scopes}
    shown: dict[str, records.Record] = {
        scope: repository.record(raw, scope, account.person_id, today) for scope in sorted(wanted)
    }
    active: dict[tuple[int, str], services.ConsentLine] = {}
    for line in consents:
        if line.state is ledger.State.ACTIVE:
            for scope in line.scopes:
                active.setdefault((line.partner_id, scope), line)
    return render_template("site/consents/index.html", offers=offers, waiting=waiting,
                           consents=consents, records=shown, active=active,
                           states=ledger.State)


@bp.post("/donner")
@login_required
def grant() -> Response:
    """Give a consent to one partner for one question, for one of the durations offered."""
    account = _account()
    data = _form(GRANT)
    db_session = web.session()
    now, today = _now()
    try:
        services.give_online(db_session, person_id=account.person_id,
                             partner_id=data["partner_id"], scope=data["scope"],
                             days=data["days"], now=now, today=today)
    except services.AlreadyGiven:
        db_session.rollback()
        flash(gettext("You have already agreed. Nothing was changed."), "info")
        return _back()
    except ledger.ConsentError:
        db_session.rollback()
        flash(gettext("This is no longer possible. Nothing was shared. "
                      "Read the page again, then choose."), "error")
        return _back()
    db_session.commit()
    flash(gettext("Thank you. Your consent is recorded. You can stop it at any time "
                  "on this page."), "success")
    return _back()


@bp.post("/retirer")
@login_required
def withdraw() -> Response:
    """Withdraw a consent: from now on, the partner's questions are refused."""
    account = _account()
    data = _form(WITHDRAW)
    db_session = web.session()
    now, _today = _now()
    try:
        services.withdraw_online(db_session, person_id=account.person_id,
                                 consent_id=data["consent_id"], now=now)
    except ledger.ConsentNotFound:
        db_session.rollback()
        abort(404)
    except ledger.ConsentClosed:
        db_session.rollback()
        flash(gettext("This consent had already ended. Nothing was changed."), "info")
        return _back()
    db_session.commit()
    flash(gettext("Your consent is withdrawn. The administration can no longer receive "
                  "this information."), "success")
    return _back()


@bp.post("/demandes")
@login_required
def answer() -> Response:
    """Accept or decline a partner's request, once, while it is still open."""
    account = _account()
    data = _form(ANSWER)
    db_session = web.session()
    now, today = _now()
    accept = data["answer"] == "accept"
    try:
        requests.answer(db_session, person_id=account.person_id,
                        request_id=data["request_id"], accept=accept, now=now, today=today)
    except requests.RequestNotFound:
        db_session.rollback()
        abort(404)
    except (requests.RequestClosed, ledger.ConsentError):
        db_session.rollback()
        flash(gettext("This request is closed: it was already answered, or it has "
                      "expired. Nothing was changed."), "error")
        return _back()
    db_session.commit()
    flash(gettext("Thank you. Your consent is recorded. You can stop it at any time "
                  "on this page.") if accept else
          gettext("You said no. Nothing is shared."), "success")
    return _back()


@bp.get("/<consent_id>/recu.json")
@login_required
def receipt(consent_id: str) -> Response:
    """The receipt of one of the person's consents (ISO/IEC TS 27560); 404 if not theirs."""
    account = _account()
    body = receipts.receipt(
        web.session(), consent_id=consent_id, person_id=account.person_id,
        now=datetime.now(UTC), pseudonym_key=current_app.config["PSEUDONYM_KEY"],
        withdrawal_url=current_app.config["PUBLIC_URL"].rstrip("/")
        + url_for("site_consents.index"),
        language=i18n.current_language())
    if body is None:
        abort(404)
    response = current_app.response_class(
        current_app.json.dumps(body, indent=2, ensure_ascii=False, sort_keys=False) + "\n",
        mimetype="application/json")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="ofpra-consent-{body["header"]["record_id"]}.json"')
    return response
