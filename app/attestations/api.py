"""What machines use: OFPRA's attestation keys, the signed revocation list, and a verifier.

`/attestations/jwks.json` and `/attestations/revoked.json` are all an offline verifier needs
(docs/examples/verify_attestation.py): public, cacheable, open to any origin. `POST
/verify.json` gives the verdict the /verify page gives, for a QR code's content or a PDF.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app
from flask.views import MethodView
from flask_smorest import Blueprint as ApiBlueprint

from app import errors, web
from app.attestations import document, revocation, schemas, services, signing
from schemas import records as record_schemas

keys_bp = Blueprint("attestation_keys", __name__, url_prefix="/attestations")
blp = ApiBlueprint(
    "attestations", __name__,
    description="Check an attestation a person shows: valid, expired, revoked or forged, "
                "and the facts OFPRA signed. Public; no token.",
)

RECORD_SCHEMAS = {
    "protection_status": record_schemas.ProtectionStatusRecordSchema(),
    "civil_status_progress": record_schemas.CivilStatusProgressRecordSchema(),
    "civil_status": record_schemas.CivilStatusRecordSchema(),
}


class NoAttestation(errors.Problem):
    status = 422
    code = "no_attestation"
    title = "No attestation in this PDF"


def _public(body: Any, mimetype: str, max_age: int) -> Response:
    response = current_app.response_class(current_app.json.dumps(body), mimetype=mimetype)
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@keys_bp.get("/jwks.json")
def jwks() -> Response:
    """Every attestation key, the retired signers too: what they signed keeps verifying."""
    keys = current_app.extensions["ofpra.keys"]
    return _public(keys.public_jwks(signing.PURPOSE), "application/jwk-set+json", 3600)


@keys_bp.get("/revoked.json")
def revoked() -> Response:
    """The revocation list, signed (a flattened JSON JWS), fresh on every request."""
    body = revocation.published_list(
        web.session(), current_app.extensions["ofpra.keys"], now=datetime.now(UTC),
        issuer=current_app.config["ATTESTATION_ISSUER"],
        hours=current_app.config["ATTESTATION_REVOCATION_LIST_HOURS"])
    return _public(body, "application/jose+json", 300)


def verdict(check: services.Check) -> dict[str, Any]:
    """A check as the JSON verifier answers it (the facts unless forged)."""
    body: dict[str, Any] = {"verdict": check.verdict.value}
    if check.reason:
        body["reason"] = check.reason
    signed = check.attestation
    if signed is not None:
        body["attestation"] = {"id": signed.terms.id, "issuer": signed.terms.issuer,
                               "scope": signed.scope, "issued_on": signed.terms.issued_on,
                               "valid_until": signed.terms.valid_until,
                               "key_id": signed.key_id}
        body["holder"] = signed.holder
        body["record"] = RECORD_SCHEMAS[signed.scope].dump(signed.record)
    if check.revoked_at is not None:
        body["revoked_at"] = check.revoked_at
    return body


def check_token(token: str) -> services.Check:
    return services.check(
        web.session(), current_app.extensions["ofpra.keys"].key_set(signing.PURPOSE), token,
        now=datetime.now(UTC), issuer=current_app.config["ATTESTATION_ISSUER"])


def check_pdf(data: bytes) -> services.Check | None:
    """The check of the first OFPRA token found in a PDF that is not forged (else the first);
    None if the file holds no token at all."""
    checks = [check_token(token) for token in document.tokens_in(data)]
    if not checks:
        return None
    return next((found for found in checks if found.verdict is not services.Verdict.FORGED),
                checks[0])


@blp.route("/verify.json")
class VerifyView(MethodView):
    @blp.arguments(schemas.VerifyRequestSchema)
    @blp.response(200, schemas.VerificationSchema)
    @blp.doc(responses={"422": {"description": "Invalid body, or no attestation in the PDF "
                                               "(code no_attestation)"}})
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Check an attestation: its QR code's content, or its PDF (base64)."""
        if "attestation" in data:
            return verdict(check_token(data["attestation"]))
        found = check_pdf(base64.b64decode(data["pdf"]))
        if found is None:
            raise NoAttestation("This PDF holds no OFPRA attestation.")
        return verdict(found)
