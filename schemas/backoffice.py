"""The back office's bodies: what OFPRA's own systems send and read under /backoffice/v1.

Only what this service needs travels: identity, postal address, enrolment, protections (kind
and dates), civil-status file. Nationality, country of origin and grounds of protection stay in
OFPRA's own systems (data minimisation: a leak here must not endanger relatives), so no schema
below names them.

People are named in URLs only by their internal id (the `id` returned at creation, a surrogate
that means nothing outside this service), documents by their UUID; identifiers (OFPRA and
AGDREF numbers) travel in bodies only. Dates the law attaches to are instants in UTC
(`made_available_at`, `notified_at`) plus, for the notification, the day in Paris
(`notified_on`), the one a deadline counts from.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from app.people import records
from app.people.models import Enrolment, FileStatus, Precision, ProtectionKind, Sex
from app.vault.models import DecisionOutcome, Delivery, DocumentType, NotificationMethod
from schemas import lookups

OFPRA_NUMBER = validate.Regexp(r"^\d{9,12}$", error="An OFPRA number has 9 to 12 digits.")
AGDREF_NUMBER = validate.Regexp(r"^\d{10}$", error="An AGDREF number has 10 digits.")
MAX_NOTICE_DAYS = 365


def parse_partial(value: str) -> tuple[date, Precision]:
    """'1990' → (1990-01-01, year), '1990-05' → month, '1990-05-17' → day; ValidationError if
    the text is no such date (the stored day of a partial date is the first: never shown)."""
    if not lookups.PARTIAL_DATE.match(value):
        raise ValidationError("Use YYYY, YYYY-MM or YYYY-MM-DD.")
    parts = [int(part) for part in value.split("-")]
    precision = (Precision.YEAR, Precision.MONTH, Precision.DAY)[len(parts) - 1]
    try:
        return date(parts[0], parts[1] if len(parts) > 1 else 1,
                    parts[2] if len(parts) > 2 else 1), precision
    except ValueError as error:
        raise ValidationError("This date does not exist.") from error


def _enum(cls: type, **kwargs: Any) -> fields.Enum:
    return fields.Enum(cls, by_value=True, **kwargs)


# --- people ---------------------------------------------------------------------------------

class EnrolmentSchema(Schema):
    """How the person's letters reach them: the personal space (eligible) or the post."""

    status = _enum(Enrolment, required=True, metadata={
        "description": "eligible; excluded_dublin, excluded_minor (unaccompanied minor), "
                       "excluded_overseas; taken_out (on OFPRA's decision, with its date and "
                       "reason). Anything but eligible: letters go by post."})
    taken_out_on = fields.Date(allow_none=True, metadata={
        "description": "The day OFPRA decided the person leaves the personal space: required "
                       "with taken_out, absent otherwise"})
    taken_out_reason = fields.String(allow_none=True, validate=validate.Length(1, 500))

    @validates_schema
    def taken_out_with_date_and_reason(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("status") is Enrolment.TAKEN_OUT:
            for name in ("taken_out_on", "taken_out_reason"):
                if not data.get(name):
                    raise ValidationError("Required when the person is taken out.", name)
            return
        for name in ("taken_out_on", "taken_out_reason"):
            if data.get(name) is not None:
                raise ValidationError("Only for a person taken out (status taken_out).", name)


class EnrolmentRecordSchema(Schema):
    """A person's enrolment, read from the person's own columns."""

    status = _enum(Enrolment, attribute="enrolment", required=True)
    taken_out_on = fields.Date(allow_none=True)
    taken_out_reason = fields.String(allow_none=True)
    letters_by_post = fields.Function(lambda person: person.enrolment.excluded, metadata={
        "type": "boolean", "description": "Documents deposited for this person go by post"})


class _Itself(fields.Nested):
    """A nested view of the very object being dumped (columns grouped under one name)."""

    def get_value(self, obj: Any, attr: str, accessor: Any = None, default: Any = None) -> Any:
        return obj


class _Identity(Schema):
    ofpra_number = fields.String(allow_none=True, validate=OFPRA_NUMBER,
                                 metadata={"example": "900000000001"})
    agdref_number = fields.String(allow_none=True, validate=AGDREF_NUMBER,
                                  metadata={"example": "7500000001"})
    birth_name = fields.String(validate=validate.Length(1, 200))
    given_names = fields.List(fields.String(validate=validate.Length(1, 100)),
                              validate=validate.Length(0, 10),
                              metadata={"description": "In the order of the civil status; "
                                                       "empty when none is known"})
    usage_name = fields.String(allow_none=True, validate=validate.Length(1, 200))
    sex = _enum(Sex)
    birth_date = fields.String(metadata={
        "description": "As far as it is known: YYYY-MM-DD, YYYY-MM or YYYY (never invented)",
        "example": "1990-05"})
    postal_address = fields.String(allow_none=True, validate=validate.Length(1, 1000), metadata={
        "description": "Where letters go when they go by post, lines separated by newlines"})

    @post_load
    def split_birth_date(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if "birth_date" in data:
            try:
                data["birth_date"], data["birth_date_precision"] = \
                    parse_partial(data["birth_date"])
            except ValidationError as error:
                raise ValidationError(error.messages, "birth_date") from error
        return data


class PersonCreateSchema(_Identity):
    """A new person: an OFPRA or AGDREF number (or both), name, sex, birth date."""

    birth_name = fields.String(required=True, validate=validate.Length(1, 200))
    given_names = fields.List(fields.String(validate=validate.Length(1, 100)), required=True,
                              validate=validate.Length(0, 10))
    sex = _enum(Sex, required=True)
    birth_date = fields.String(required=True, metadata={
        "description": "YYYY-MM-DD, YYYY-MM or YYYY", "example": "1990-05"})
    enrolment = fields.Nested(EnrolmentSchema, metadata={
        "description": "Default: eligible (letters in the personal space)"})

    @validates_schema
    def identified(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("ofpra_number") and not data.get("agdref_number"):
            raise ValidationError("Give ofpra_number, agdref_number, or both.", "ofpra_number")


class PersonUpdateSchema(_Identity):
    """Only the fields given change; null clears an optional one."""

    @validates_schema
    def something(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            raise ValidationError("Give at least one field to change.")
        for name in ("birth_name", "given_names", "sex", "birth_date"):
            if name in data and data[name] is None:
                raise ValidationError("Cannot be cleared.", name)


class PersonSearchSchema(Schema):
    """An OFPRA number or an AGDREF number: identifiers travel in the body, never the URL."""

    ofpra_number = fields.String(validate=OFPRA_NUMBER)
    agdref_number = fields.String(validate=AGDREF_NUMBER)

    @validates_schema
    def one_number(self, data: dict[str, Any], **_: Any) -> None:
        if bool(data.get("ofpra_number")) == bool(data.get("agdref_number")):
            raise ValidationError("Give ofpra_number or agdref_number (one).", "ofpra_number")


class ProtectionSchema(Schema):
    id = fields.Integer(required=True)
    kind = _enum(ProtectionKind, required=True)
    granted_on = fields.Date(required=True)
    ended_on = fields.Date(allow_none=True, metadata={
        "description": "The first day the person is no longer protected"})
    end_reason = fields.String(allow_none=True)


class ProtectionGrantSchema(Schema):
    kind = _enum(ProtectionKind, required=True)
    granted_on = fields.Date(required=True)


class ProtectionEndSchema(Schema):
    ended_on = fields.Date(required=True, metadata={
        "description": "The first day the person is no longer protected (not before the "
                       "grant)"})
    end_reason = fields.String(required=True, validate=validate.Length(1, 200), metadata={
        "example": "cessation"})


class CivilStatusFileSchema(Schema):
    """The civil-status file, replaced as a whole: a field left out is cleared."""

    status = _enum(FileStatus, required=True)
    family_form_received_on = fields.Date(allow_none=True, load_default=None, metadata={
        "description": "The family form (FFR, or the simplified form since 2025) received on"})
    expected_by = fields.Date(allow_none=True, load_default=None)
    established_on = fields.Date(allow_none=True, load_default=None)

    @validates_schema
    def consistent(self, data: dict[str, Any], **_: Any) -> None:
        status = data.get("status")
        received = data.get("family_form_received_on")
        if status is FileStatus.ESTABLISHED and data.get("established_on") is None:
            raise ValidationError("Required when the file is established.", "established_on")
        if status is not FileStatus.ESTABLISHED and data.get("established_on") is not None:
            raise ValidationError("Only for an established file.", "established_on")
        if status is FileStatus.AWAITING_FORM and received is not None:
            raise ValidationError("A file awaiting the form has not received it.",
                                  "family_form_received_on")
        for name in ("expected_by", "established_on"):
            if received is not None and data.get(name) is not None and data[name] < received:
                raise ValidationError("Not before the family form was received.", name)


class PersonSchema(Schema):
    """A person as this service keeps them for OFPRA's systems."""

    id = fields.Integer(required=True, metadata={
        "description": "The internal id: the only way a URL names this person"})
    ofpra_number = fields.String(allow_none=True)
    agdref_number = fields.String(allow_none=True)
    birth_name = fields.String(required=True)
    given_names = fields.List(fields.String(), required=True)
    usage_name = fields.String(allow_none=True)
    sex = _enum(Sex, required=True)
    birth_date = fields.Function(
        lambda person: records.partial_date(person.birth_date, person.birth_date_precision),
        required=True, metadata={"type": "string", "description": "YYYY-MM-DD, YYYY-MM or YYYY"})
    postal_address = fields.String(allow_none=True)
    enrolment = _Itself(EnrolmentRecordSchema, required=True)
    protections = fields.List(fields.Nested(ProtectionSchema), required=True)
    civil_status_file = fields.Nested(CivilStatusFileSchema, allow_none=True)
    created_at = fields.DateTime(required=True)


# --- activation notices ---------------------------------------------------------------------

class NoticeRequestSchema(Schema):
    valid_days = fields.Integer(load_default=90, validate=validate.Range(1, MAX_NOTICE_DAYS),
                                metadata={"description": "How long the key may be used"})


class NoticeSchema(Schema):
    """The notice to print. The connection key is shown here once and kept nowhere."""

    id = fields.Integer(required=True)
    person_id = fields.Integer(required=True)
    connection_key = fields.String(required=True, metadata={
        "description": "Print it on the notice; it is never shown again",
        "example": "ABCD-EFGH-JKMN-PQRS"})
    ofpra_number = fields.String(allow_none=True)
    agdref_number = fields.String(allow_none=True)
    issued_at = fields.DateTime(required=True)
    expires_at = fields.DateTime(required=True)


# --- documents --------------------------------------------------------------------------------

# The fields that only one type of document has, and must have.
PER_TYPE = {"interview_at": DocumentType.CONVOCATION, "interview_place": DocumentType.CONVOCATION,
            "decision_outcome": DocumentType.DECISION}


class DepositSchema(Schema):
    """A deposit, as multipart/form-data: the PDF in `file`, the metadata in the other fields."""

    file = fields.Raw(required=True, metadata={
        "type": "string", "format": "binary",
        "description": "The letter, a PDF (VAULT_MAX_DOCUMENT_BYTES at most, 10 MB by default)"})
    type = _enum(DocumentType, required=True)
    title = fields.String(required=True, validate=validate.Length(1, 200), metadata={
        "description": "What the person sees in their space", "example": "Convocation"})
    interview_at = fields.AwareDateTime(metadata={
        "description": "Convocations only, required there: when the interview takes place "
                       "(with its UTC offset)", "example": "2026-03-02T09:30:00+01:00"})
    interview_place = fields.String(validate=validate.Length(1, 300), metadata={
        "description": "Convocations only, required there"})
    decision_outcome = _enum(DecisionOutcome, metadata={
        "description": "Decisions only, required there"})

    @validates_schema
    def per_type(self, data: dict[str, Any], **_: Any) -> None:
        for name, owner in PER_TYPE.items():
            if data.get("type") is owner and data.get(name) is None:
                raise ValidationError(f"Required for a {owner}.", name)
            if data.get("type") is not owner and data.get(name) is not None:
                raise ValidationError(f"Only for a {owner}.", name)


class DocumentSchema(Schema):
    """A deposited document: what was stored, never what happened to it since (a replayed
    deposit is answered with this very body)."""

    id = fields.String(required=True, metadata={"format": "uuid"})
    person_id = fields.Integer(required=True)
    type = _enum(DocumentType, required=True)
    title = fields.String(required=True)
    interview_at = fields.DateTime(allow_none=True)
    interview_place = fields.String(allow_none=True)
    decision_outcome = _enum(DecisionOutcome, allow_none=True)
    delivery = _enum(Delivery, required=True, metadata={
        "description": "online (the personal space, alerts queued) or post (the person is "
                       "excluded or taken out: the print queue takes it, no alert)"})
    made_available_at = fields.DateTime(required=True)
    size = fields.Integer(required=True, metadata={"description": "Bytes of the PDF"})
    sha256 = fields.String(required=True, metadata={"description": "Of the PDF, hex"})


class AlertStateSchema(Schema):
    channel = fields.String(metadata={"enum": ["email", "sms"]})
    state = fields.String(metadata={"enum": ["pending", "sent", "failed"]})
    at = fields.DateTime(allow_none=True, metadata={"description": "When sent, or failed"})


class AcknowledgementSchema(Schema):
    """When and how a document was notified (CESEDA R.531-17): at its first consultation, or
    deemed 15 days after it was made available, whichever comes first; or by post."""

    document_id = fields.String(required=True, metadata={"format": "uuid"})
    person_id = fields.Integer(required=True)
    type = _enum(DocumentType, required=True)
    delivery = _enum(Delivery, required=True)
    made_available_at = fields.DateTime(required=True)
    first_consulted_at = fields.DateTime(allow_none=True)
    notified_at = fields.DateTime(allow_none=True, metadata={
        "description": "null while not notified yet; by post, the day the letter left in a "
                       "post batch (the sending date: the postal receipt is not tracked here)"})
    notified_on = fields.Date(allow_none=True, metadata={
        "description": "The day of notified_at in Paris, from which deadlines count"})
    method = _enum(NotificationMethod, allow_none=True, metadata={
        "description": "consultation, deemed, post; null while pending"})
    alerts = fields.List(fields.Nested(AlertStateSchema), metadata={
        "description": "The deposit's alerts: a failed one means the person was not told"})


class AcknowledgementQuerySchema(Schema):
    person_id = fields.Integer(validate=validate.Range(min=1))
    deposited_from = fields.Date(metadata={
        "description": "Documents made available on or after this day (Paris)"})
    deposited_until = fields.Date(metadata={
        "description": "Documents made available on or before this day (Paris)"})

    @validates_schema
    def ordered(self, data: dict[str, Any], **_: Any) -> None:
        first, last = data.get("deposited_from"), data.get("deposited_until")
        if first and last and last < first:
            raise ValidationError("Not before deposited_from.", "deposited_until")
