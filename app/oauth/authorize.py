"""The authorization endpoint: the person, present on a partner's website, says yes or no.

GET /oauth/authorize validates the partner's request (the grant in app/oauth/server.py), sends
a visitor without a session to sign in and back, then shows the consent screen: the partner,
the very records it would receive about this person, the legal basis and purpose, for how
long. POST /oauth/authorize/decision accepts (a consent in the ledger, a code valid once for
60 s) or declines; either way the person goes back to the partner's redirect URI.

Choices made here, for safety:
- A request whose client or redirect URI cannot be trusted gets a page in plain words, never a
  redirect (RFC 6749 section 4.1.2.1): anything else would make OFPRA an open redirector.
- The validated request is kept in the person's signed session cookie under a random id, with
  the account it was shown to. The consent form sends back only that id (and the CSRF token):
  client, redirect URI, scope, state and PKCE challenge are never read from the form. At the
  decision the kept request is removed (it serves once), must be the same account's and
  recent, and is validated again against the database as it is then.
- What is accepted is what was shown: the scopes are fixed when the screen is built, and the
  consent never lasts longer than the screen said.
- Every authorization response names the issuer (`iss`, RFC 9207), errors included, and is a
  303 (RFC 9700 section 4.12): a browser never re-posts the consent form to the partner.
- The consent page's Content-Security-Policy lets its form lead to the partner's redirect
  URI's origin, and to nowhere else (browsers apply `form-action` to the redirect too).
- A decline records nothing: nothing was shared and nothing is authorised, so the ledger (the
  grounds on which OFPRA discloses) has nothing to hold, and keeping a trace of which partner
  asked a person who said no would be data about the person kept for no purpose. The partner
  learns only `access_denied`.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.base import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidClientError
from flask import Blueprint, Flask, current_app, g, redirect, render_template, request, session
from flask import Response as Page
from flask_babel import gettext
from werkzeug.wrappers import Response

from app import config as settings
from app import web
from app.accounts import session as accounts
from app.oauth import server, services
from app.site import pages
from consent import ledger

SESSION_KEY = "oauth_requests"
# How long a consent screen may wait for its answer; the signed-in session itself ends after
# 15 idle minutes.
KEPT_SECONDS = 10 * 60
# Requests kept at once (one per tab left open); the oldest goes first. Bounded so that the
# cookie stays small.
KEPT_MAX = 2
# The parameters a kept request is validated again with; nothing else is kept.
PARAMETERS = ("response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge",
              "code_challenge_method")
# How long a consent given here lasts (AUTHORIZATION_CONSENT_DAYS), within each scope's
# max_consent_days: one day unless a deployment says otherwise, since the person is present
# for one errand and the partner asks again when it needs to.
DEFAULT_CONSENT_DAYS = 1
# What may stand in a CSP source expression taken from a redirect URI's host and port.
CSP_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")

bp = Blueprint("site_oauth", __name__)  # "site…": the CSRF check applies to its forms


@dataclass(frozen=True)
class Kept:
    """An authorization request validated and shown to `account_id`, waiting for the answer."""

    params: dict[str, str]
    account_id: int
    days: int
    shown_at: int


def keep(params: dict[str, str], account_id: int, days: int) -> str:
    """Keep a validated request in the session; return its random id."""
    kept: dict[str, Any] = dict(session.get(SESSION_KEY) or {})
    now = int(time.time())
    kept = {key: value for key, value in kept.items()
            if isinstance(value, dict) and now - int(value.get("shown_at", 0)) < KEPT_SECONDS}
    # The cookie's JSON comes back with its keys sorted: the order of showing is counted.
    order = 1 + max((int(value.get("order", 0)) for value in kept.values()), default=0)
    while len(kept) >= KEPT_MAX:
        kept.pop(min(kept, key=lambda key: int(kept[key].get("order", 0))))
    request_id = secrets.token_urlsafe(16)
    kept[request_id] = {"params": params, "account_id": account_id, "days": days,
                        "shown_at": now, "order": order}
    session[SESSION_KEY] = kept
    return request_id


def take(request_id: str) -> Kept | None:
    """Remove and return the kept request `request_id`; None if absent or too old."""
    kept: dict[str, Any] = dict(session.get(SESSION_KEY) or {})
    found = kept.pop(request_id, None) if request_id else None
    session[SESSION_KEY] = kept
    if not isinstance(found, dict) or time.time() - int(found["shown_at"]) >= KEPT_SECONDS:
        return None
    return Kept(dict(found["params"]), int(found["account_id"]), int(found["days"]),
                int(found["shown_at"]))


def to_client(redirect_uri: str, params: list[tuple[str, str]]) -> Response:
    """Send the person back to the partner, with the issuer named (RFC 9207)."""
    location = add_params_to_uri(redirect_uri,
                                 [*params, ("iss", server.server().issuer)])
    return redirect(location, code=303)


def refuse(error: OAuth2Error) -> Response:
    """Tell the client when its redirect URI is trusted; otherwise tell the person, here."""
    if error.redirect_uri:
        return to_client(error.redirect_uri, error.get_body())
    if isinstance(error, InvalidClientError):
        detail = gettext("The website that sent you here is not known to Ofpra Connect.")
    else:
        detail = gettext("The website that sent you here made a request that Ofpra Connect "
                         "cannot accept (for example, a return address it did not register).")
    return page(400, gettext("We cannot continue with this request"), detail)


def page(status: int, title: str, detail: str) -> Page:
    body = render_template("site/oauth/error.html", title=title, detail=detail)
    return current_app.response_class(body, status=status, mimetype="text/html")


def consent_days() -> int:
    return int(current_app.config["AUTHORIZATION_CONSENT_DAYS"])


def origin(uri: str) -> str | None:
    """The redirect URI's origin as a CSP source, or None if it cannot be written safely."""
    parts = urlsplit(uri)
    if parts.scheme not in ("https", "http") or not CSP_HOST.match(parts.netloc):
        return None
    return f"{parts.scheme}://{parts.netloc}"


@bp.get("/oauth/authorize")
def authorize() -> Response | str:
    """Validate the partner's request; sign in; show what would be shared, and with whom."""
    try:
        grant = server.server().authorization_grant()
    except OAuth2Error as error:
        return refuse(error)
    account = accounts.current_account()
    if account is None:
        back = accounts.safe_next(request.full_path.rstrip("?"), "/")
        return redirect(accounts.SIGNIN_PATH + "?" + urlencode({"next": back}))
    client = grant.client
    scopes = grant.request.scope.split()
    now = datetime.now(UTC)
    try:
        screen = services.consent_screen(
            web.session(), partner_id=client.partner_id, person_id=account.person_id,
            scopes=scopes, wanted_days=consent_days(), now=now, today=server.today())
    except services.NotConsentable:
        # The habilitation changed since the request was validated: rare, and not the person's
        # doing.
        return to_client(grant.redirect_uri, [("error", "invalid_scope"),
                                               *_state(grant.request.payload.state)])
    params = {name: grant.request.payload.data[name] for name in PARAMETERS
              if grant.request.payload.data.get(name) is not None}
    params["scope"] = " ".join(scopes)  # what is shown is what may be accepted
    kept_id = keep(params, account.id, screen.days)
    g.oauth_form_action = origin(grant.redirect_uri)
    return render_template("site/oauth/consent.html", screen=screen, request_id=kept_id)


@bp.post("/oauth/authorize/decision")
def decide() -> Response:
    """Accept (consent recorded, code issued) or decline, then back to the partner."""
    kept = take(request.form.get("request", ""))
    account = accounts.current_account()
    if kept is None or account is None or kept.account_id != account.id:
        return page(400, gettext("This request has expired"),
                    gettext("Go back to the website that sent you here and start again."))
    try:
        grant = server.server().authorization_grant(
            server.kept_request(request.base_url, kept.params))
    except OAuth2Error as error:
        return refuse(error)
    state = _state(kept.params.get("state"))
    if request.form.get("decision") != "accept":
        return to_client(grant.redirect_uri, [("error", "access_denied"), *state])
    db_session = web.session()
    now = datetime.now(UTC)
    try:
        consent = services.accept(
            db_session, partner_id=grant.client.partner_id, person_id=account.person_id,
            scopes=grant.request.scope.split(), days=kept.days, now=now, today=server.today())
        _status, _body, headers = grant.create_authorization_response(
            grant.redirect_uri, services.Grantor(account.person_id, consent.id))
    except ledger.ConsentError:
        db_session.rollback()
        return to_client(grant.redirect_uri, [("error", "invalid_scope"), *state])
    db_session.commit()
    location = dict(headers)["Location"]
    return to_client(location, [])


def _state(state: str | None) -> list[tuple[str, str]]:
    return [("state", state)] if state else []


@bp.after_request
def secure_headers(response: Page) -> Page:
    """The pages' strict policy; the consent form may lead to the partner's origin only."""
    response = pages.secure_headers(response)
    form_action = g.pop("oauth_form_action", None)
    if form_action:
        response.headers["Content-Security-Policy"] = pages.CSP.replace(
            "form-action 'self'", f"form-action 'self' {form_action}")
    return response


def init_app(app: Flask) -> None:
    days = app.config.setdefault("AUTHORIZATION_CONSENT_DAYS", DEFAULT_CONSENT_DAYS)
    if not isinstance(days, int) or days < 1:
        raise settings.ConfigurationError("AUTHORIZATION_CONSENT_DAYS must be a number of days, "
                                          "at least 1")
    app.register_blueprint(bp)

