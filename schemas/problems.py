"""RFC 9457 problem documents, the one error body of the whole API."""

from marshmallow import Schema, fields


class ProblemSchema(Schema):
    type = fields.String(metadata={"description": "URI naming the problem type"})
    title = fields.String(metadata={"description": "Short, human-readable summary"})
    status = fields.Integer(metadata={"description": "HTTP status code"})
    detail = fields.String(metadata={"description": "What happened on this occasion"})
    instance = fields.String(metadata={"description": "urn:request:<X-Request-ID>"})
    code = fields.String(
        metadata={"description": "Stable machine-readable code, e.g. consent_required"}
    )
    errors = fields.Dict(metadata={"description": "Invalid fields and their messages"})
