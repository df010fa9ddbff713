"""Partners ask a person for consent: POST /v1/consent-requests, then read its state.

The person is named in the body exactly as for a question, and not found / ambiguous give the
questions' very answers (404 / 409), which say nothing about anyone. Every request is
journaled, and shown to the person; the person answers in their space.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app, g, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from app import errors, ratelimit, web
from app.config import SCOPES
from app.consents import requests
from app.oauth import tokens
from schemas import consents as schemas

log = logging.getLogger(__name__)

blp = Blueprint(
    "consent_requests", __name__, url_prefix="/v1",
    description="Ask a person for their consent, where the habilitation requires it. The "
                "person is alerted, without any detail, and answers in their personal space.",
)


class Refused(errors.Problem):
    status = 403
    code = "refused"
    title = "The partner may not ask this"


class NotConsentable(errors.Problem):
    status = 422
    code = "invalid_request"
    title = "The request is not valid"


class RequestNotFound(errors.Problem):
    status = 404
    code = "no_such_request"
    title = "No such consent request"


# refused:<code> → the problem it becomes.
REFUSALS: dict[str, type[errors.Problem]] = {
    "partner_inactive": Refused, "scope_not_granted": Refused,
    "habilitation_not_in_force": Refused,
    "consent_not_required": NotConsentable, "duration_too_long": NotConsentable,
}


def authenticated(view: Callable[..., Any]) -> Callable[..., Any]:
    """Admit a valid token carrying at least one question's scope; the caller goes to g.

    Outermost, like `tokens.require`: nothing is parsed or looked up before the token.
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        caller = tokens.verifier().verify(tokens.bearer_token())
        if not caller.scopes & set(SCOPES):
            raise errors.InsufficientScope(
                "Consent requests need a token carrying one of the scopes asked.",
                headers={"WWW-Authenticate": 'Bearer error="insufficient_scope", '
                                             f'scope="{" ".join(SCOPES)}"'})
        g.caller = caller
        ratelimit.limits().hit(caller.client_id, _partner_rate(caller.client_id))
        return view(*args, **kwargs)

    return wrapper


def _partner_rate(client_id: str) -> int | None:
    partner = current_app.extensions["ofpra.directory"].get(client_id)
    return partner.rate_limit if partner else None


SECURITY = [{"oauth2": [scope]} for scope in SCOPES]
CREATE = schemas.ConsentRequestCreateSchema()


def _responses(*pairs: tuple[int, str]) -> dict[str, dict[str, str]]:
    return {str(status): {"description": why} for status, why in pairs}


@blp.route("/consent-requests")
class ConsentRequests(MethodView):
    @authenticated
    @blp.doc(security=SECURITY, responses=_responses(
        (401, "No valid access token"),
        (403, "The token carries none of the scopes asked (insufficient_scope), or the "
              "habilitation does not grant them (scope_not_granted, habilitation_not_in_force,"
              " partner_inactive)"),
        (404, "No person matches"), (409, "Several files match"),
        (422, "Invalid body; a scope answered without consent (consent_not_required); a "
              "duration beyond the habilitation's limit (duration_too_long)"),
        (429, "Rate limit reached"), (503, "Could not be journaled")))
    @blp.arguments(CREATE)
    @blp.response(201, schemas.ConsentRequestSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Ask the person for a consent; they have CONSENT_REQUEST_DAYS (14) days to answer."""
        caller: tokens.Caller = g.caller
        if not caller.scopes & set(data["scopes"]):
            raise errors.InsufficientScope(
                "The access token carries none of the scopes this request asks for.")
        partner = current_app.extensions["ofpra.directory"].get(caller.client_id)
        db_session = web.session()
        lifetime = timedelta(days=current_app.config.get("CONSENT_REQUEST_DAYS", 14))
        try:
            created = requests.create(
                db_session, caller=caller, partner=partner, data=data, now=datetime.now(UTC),
                request_id=web.request_id(), pseudonym_key=current_app.config["PSEUDONYM_KEY"],
                lifetime=lifetime)
            db_session.commit()
        except Exception as error:
            # No journal entry, no request: fail closed, as the questions do.
            log.exception("consent request not recorded")
            db_session.rollback()
            raise errors.Unavailable(
                "The request could not be journaled; nothing was recorded.") from error
        if created.request is not None:
            location = url_for("consent_requests.ConsentRequestView",
                               request_id=created.request.id)
            return created.request, {"Location": location}
        if created.outcome == "not_found":
            raise errors.NotFound("No person matches these identifiers.")
        if created.outcome == "ambiguous":
            raise errors.Ambiguous("These identifiers match more than one file.")
        code = created.outcome.removeprefix("refused:")
        problem = REFUSALS[code](created.detail)
        problem.code = code
        if created.field:
            # As for an invalid body: the field at fault, and why.
            problem.extra["errors"] = {created.field: [created.detail]}
        raise problem


@blp.route("/consent-requests/<string:request_id>")
class ConsentRequestView(MethodView):
    @authenticated
    @blp.doc(security=SECURITY, responses=_responses(
        (401, "No valid access token"), (403, "The token carries no question's scope"),
        (404, "No request of this partner has this id"), (429, "Rate limit reached")))
    @blp.response(200, schemas.ConsentRequestSchema)
    def get(self, request_id: str) -> Any:
        """The request's state: pending, accepted (with the consent's id), declined, expired."""
        partner = current_app.extensions["ofpra.directory"].get(g.caller.client_id)
        found = None
        if partner is not None:
            found = requests.read(web.session(), partner_id=partner.id, request_id=request_id,
                                  now=datetime.now(UTC))
        if found is None:
            raise RequestNotFound("This partner made no consent request with this id.")
        return found
