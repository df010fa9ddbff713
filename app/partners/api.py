"""The three questions, under /v1, each under its own scope.

Views are thin: check the token and the rate, parse, ask the service, commit the journal entry,
then speak. Refusals are journaled and committed too, before the problem is sent.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from flask import current_app, g
from flask.views import MethodView
from flask_smorest import Blueprint

from app import errors, ratelimit, web
from app.db import Raw
from app.oauth import tokens
from app.partners import services
from consent import policy
from schemas import lookups
from schemas import records as record_schemas

log = logging.getLogger(__name__)

blp = Blueprint(
    "questions", __name__, url_prefix="/v1",
    description="The three questions partners ask OFPRA. Identifiers travel in the body only.",
)


class Refused(errors.Problem):
    status = 403
    code = "refused"
    title = "The partner may not receive this answer"


REFUSALS: dict[str, tuple[str, str]] = {
    policy.Reason.CONSENT_REQUIRED: (
        "consent_required", "This answer needs the person's consent, which is absent."),
    policy.Reason.SCOPE_NOT_GRANTED: (
        "scope_not_granted", "The partner's habilitation does not grant this scope."),
    policy.Reason.HABILITATION_NOT_IN_FORCE: (
        "habilitation_not_in_force", "The partner's habilitation is not in force today."),
    "partner_inactive": ("partner_inactive", "This client's partner is not active."),
}


def ask(scope: str, data: dict[str, Any]) -> Any:
    caller: tokens.Caller = g.caller
    partner = current_app.extensions["ofpra.directory"].get(caller.client_id)
    ratelimit.limits().hit(caller.client_id, partner.rate_limit if partner else None)
    try:
        # The one commit point: the journal entry is durable before anything is said.
        with Raw.transaction(current_app.extensions["ofpra.db"].sessions) as raw:
            result = services.answer(
                raw, caller=caller, partner=partner, scope=scope, data=data,
                now=datetime.now(UTC), request_id=web.request_id(),
                pseudonym_key=current_app.config["PSEUDONYM_KEY"],
            )
    except Exception as error:
        # No journal entry, no answer: fail closed (the transaction was rolled back).
        log.exception("question %s not answered: journal or lookup failed", scope)
        raise errors.Unavailable("The access could not be journaled; nothing was answered.") \
            from error
    if result.record is not None:
        return result.record
    if result.outcome == "not_found":
        raise errors.NotFound("No person matches these identifiers.")
    if result.outcome == "ambiguous":
        raise errors.Ambiguous("These identifiers match more than one file.")
    code, detail = REFUSALS[result.outcome.removeprefix("refused:")]
    refusal = Refused(detail)
    refusal.code = code
    raise refusal


LOOKUP = lookups.PersonLookupSchema()
ALTERNATIVES = {
    str(status): {"description": why}
    for status, why in ((401, "No valid access token"),
                        (403, "Scope, habilitation or consent missing (see code)"),
                        (404, "No person matches"), (409, "Several files match"),
                        (422, "Invalid body"), (429, "Rate limit reached"),
                        (503, "Could not be journaled"))
}


def _question(scope: str, schema: type, summary: str) -> type[MethodView]:
    def post(self: MethodView, data: dict[str, Any]) -> Any:
        return ask(scope, data)

    post.__doc__ = summary
    # One schema instance, not a class: webargs would build a schema on every request.
    post = blp.arguments(LOOKUP)(post)
    post = blp.response(200, schema)(post)
    # Documented in one `doc`, not one `alt_response` wrapper each: those wrappers run on
    # every request and add nothing to it.
    post = blp.doc(security=[{"oauth2": [scope]}], responses=ALTERNATIVES)(post)
    # Outermost: no body is parsed, nothing looked up, before the token is checked.
    post = tokens.require(scope)(post)
    return type(f"{scope.title().replace('_', '')}View", (MethodView,), {"post": post})


blp.route("/protection-status")(_question(
    "protection_status", record_schemas.ProtectionStatusRecordSchema,
    "Is this person protected (refugee, subsidiary protection, stateless) as of today?"))
blp.route("/civil-status-progress")(_question(
    "civil_status_progress", record_schemas.CivilStatusProgressRecordSchema,
    "Is OFPRA establishing this person's civil status, since when, within its delay?"))
blp.route("/civil-status")(_question(
    "civil_status", record_schemas.CivilStatusRecordSchema,
    "The definitive identity and family links, once established."))
