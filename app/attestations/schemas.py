"""The machine verification's contract (POST /verify.json), named by role."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.attestations import signing

# An attestation PDF is about 10 KB; a megabyte leaves room for a re-saved or printed copy.
PDF_LIMIT = 1_000_000


class VerifyRequestSchema(Schema):
    attestation = fields.String(
        validate=validate.Length(min=1, max=2 * signing.MAX_LENGTH),
        metadata={"description": "What the QR code reads (a compact JWS); spaces and line "
                                 "breaks are ignored"})
    pdf = fields.String(
        validate=validate.Length(min=1, max=(PDF_LIMIT * 4) // 3 + 4),
        metadata={"description": "Or the attestation's PDF file, base64-encoded"})

    @validates_schema
    def one_of(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if ("attestation" in data) == ("pdf" in data):
            raise ValidationError("Give either `attestation` or `pdf`, not both.")
        if "pdf" in data:
            try:
                base64.b64decode(data["pdf"], validate=True)
            except (binascii.Error, ValueError) as error:
                raise ValidationError("`pdf` is not base64.", "pdf") from error


class TermsSchema(Schema):
    id = fields.String()
    issuer = fields.String()
    scope = fields.String(
        metadata={"enum": ["protection_status", "civil_status_progress", "civil_status"]})
    issued_on = fields.Date()
    valid_until = fields.Date(metadata={"description": "Inclusive, Paris time"})
    key_id = fields.String()


class HolderSchema(Schema):
    birth_name = fields.String()
    usage_name = fields.String(allow_none=True)
    given_names = fields.List(fields.String())
    sex = fields.String(metadata={"enum": ["F", "M", "X"]})
    birth_date = fields.String(metadata={"description": "YYYY, YYYY-MM or YYYY-MM-DD as known"})
    birth_date_precision = fields.String(metadata={"enum": ["year", "month", "day"]})


class VerificationSchema(Schema):
    verdict = fields.String(required=True,
                            metadata={"enum": ["valid", "expired", "revoked", "forged"]})
    reason = fields.String(
        metadata={"description": "Why forged: malformed, unknown_key, bad_signature, "
                                 "malformed_claims, wrong_issuer, unknown_attestation"})
    attestation = fields.Nested(TermsSchema)
    revoked_at = fields.DateTime()
    holder = fields.Nested(HolderSchema)
    record = fields.Dict(metadata={
        "description": "The signed record, as /v1 answers it for this scope "
                       "(ProtectionStatusRecord, CivilStatusProgressRecord, CivilStatusRecord)"})
