"""The three records as partners receive them (the records module builds them)."""

from marshmallow import Schema, fields


class ProtectionStatusRecordSchema(Schema):
    as_of = fields.Date(required=True)
    protected = fields.Boolean(required=True)
    protection = fields.String(
        allow_none=True,
        metadata={"enum": ["refugee", "subsidiary_protection", "stateless"],
                  "description": "The protection in force on as_of, if any"},
    )
    protected_since = fields.Date(allow_none=True)


class CivilStatusProgressRecordSchema(Schema):
    as_of = fields.Date(required=True)
    status = fields.String(
        required=True,
        metadata={"enum": ["none", "awaiting_form", "in_progress", "established"]},
    )
    family_form_received_on = fields.Date(allow_none=True)
    expected_by = fields.Date(allow_none=True)
    within_delay = fields.Boolean(
        allow_none=True,
        metadata={"description": "True while as_of is on or before expected_by"},
    )
    established_on = fields.Date(allow_none=True)


class IdentitySchema(Schema):
    birth_name = fields.String()
    usage_name = fields.String(allow_none=True)
    given_names = fields.List(fields.String())
    sex = fields.String(metadata={"enum": ["F", "M", "X"]})
    birth_date = fields.String(metadata={"description": "YYYY, YYYY-MM or YYYY-MM-DD as known"})
    birth_date_precision = fields.String(metadata={"enum": ["year", "month", "day"]})


class RelativeSchema(Schema):
    relation = fields.String(metadata={"enum": ["parent", "spouse", "child"]})
    # Not named `unknown`: that name is marshmallow's own setting on every schema.
    parent_unknown = fields.Boolean(
        data_key="unknown", attribute="unknown",
        metadata={"description": "The act records this parent as unknown"},
    )
    birth_name = fields.String(allow_none=True)
    given_names = fields.List(fields.String(), allow_none=True)
    birth_date = fields.String(allow_none=True)
    birth_date_precision = fields.String(allow_none=True)


class ActSchema(Schema):
    kind = fields.String(
        metadata={"enum": ["birth", "marriage", "family_booklet", "equivalence_certificate"]}
    )
    number = fields.String()
    established_on = fields.Date()


class CivilStatusRecordSchema(Schema):
    as_of = fields.Date(required=True)
    established = fields.Boolean(required=True)
    identity = fields.Nested(IdentitySchema, allow_none=True)
    acts = fields.List(fields.Nested(ActSchema))
    family = fields.List(fields.Nested(RelativeSchema))
