"""Consent requests partners send, and the forms of the person's consent pages."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates

from app.config import SCOPES
from schemas import lookups

REQUEST_STATES = ("pending", "accepted", "declined", "expired")


class ConsentRequestCreateSchema(lookups.PersonLookupSchema):
    """The person, named as for a question, and the consent the partner asks them for."""

    scopes = fields.List(
        fields.String(validate=validate.OneOf(SCOPES)), required=True,
        validate=validate.Length(1, len(SCOPES)),
        metadata={"description": "The questions the consent would allow; each must need "
                                 "consent under the partner's habilitation, and the access "
                                 "token must carry at least one of them.",
                  "example": ["civil_status_progress"]},
    )
    purpose = fields.String(
        required=True, validate=validate.Length(1, 500),
        metadata={"description": "Why the partner asks, in words the person will read",
                  "example": "Inscription de l'enfant à l'école"},
    )
    duration_days = fields.Integer(
        required=True, validate=validate.Range(min=1),
        metadata={"description": "How long the consent would last once accepted, at most "
                                 "what the habilitation allows", "example": 90},
    )

    @validates("scopes")
    def distinct(self, value: list[str], **_: Any) -> None:
        if len(set(value)) != len(value):
            raise ValidationError("Name each scope once.")


class ConsentRequestSchema(Schema):
    """A consent request as the partner that made it reads it."""

    id = fields.String(required=True, metadata={"description": "To read the request later"})
    state = fields.String(
        required=True, metadata={
            "enum": list(REQUEST_STATES),
            "description": "expired once expires_at has passed unanswered"})
    scopes = fields.List(fields.String(), required=True)
    purpose = fields.String(required=True)
    duration_days = fields.Integer(required=True)
    requested_at = fields.DateTime(required=True)
    expires_at = fields.DateTime(
        required=True, metadata={"description": "The person may answer until then"})
    answered_at = fields.DateTime(allow_none=True)
    consent_id = fields.String(
        allow_none=True, metadata={"description": "The consent given, once accepted"})


class _Form(Schema):
    class Meta:
        # The CSRF token travels with every form; it is checked before the view.
        unknown = EXCLUDE


class GrantFormSchema(_Form):
    partner_id = fields.Integer(required=True, strict=False)
    scope = fields.String(required=True, validate=validate.OneOf(SCOPES))
    days = fields.Integer(required=True, validate=validate.Range(min=1))


class WithdrawFormSchema(_Form):
    consent_id = fields.String(required=True, validate=validate.Length(1, 36))


class AnswerFormSchema(_Form):
    request_id = fields.String(required=True, validate=validate.Length(1, 36))
    answer = fields.String(required=True, validate=validate.OneOf(("accept", "decline")))
