"""How a partner names a person: identifiers in the body, never in the URL.

With a person-bound token (the person consented on the partner's website) the token names the
person: the body carries only `recipient`, and an identifier in it is refused. Who is asking
is known before the body is parsed (the token is checked first); `person_bound()` says so to
the schema for the time of one request, without the schema knowing anything of HTTP.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Iterator
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

PARTIAL_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
IDENTIFIERS = ("ofpra_number", "agdref_number", "birth_date", "birth_name", "given_names")

_PERSON_BOUND: contextvars.ContextVar[bool] = contextvars.ContextVar("person_bound",
                                                                     default=False)


@contextlib.contextmanager
def person_bound(bound: bool) -> Iterator[None]:
    """Within this block, lookups name no one (True) or must identify someone (False)."""
    token = _PERSON_BOUND.set(bound)
    try:
        yield
    finally:
        _PERSON_BOUND.reset(token)


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def validate_siret(value: str) -> None:
    if not re.fullmatch(r"\d{14}", value):
        raise ValidationError("A SIRET has 14 digits.")
    # La Poste's establishments (SIREN 356000000) follow another rule.
    if not (luhn_valid(value) or value.startswith("356000000")):
        raise ValidationError("This SIRET's check digit is wrong.")


class PersonLookupSchema(Schema):
    """OFPRA number, or AGDREF number and birth date; names optional and never fuzzy.

    With a person-bound token: `recipient` only, every identifier absent.
    """

    ofpra_number = fields.String(
        validate=validate.Regexp(r"^\d{9,12}$", error="An OFPRA number has 9 to 12 digits."),
        metadata={"example": "900000000001"},
    )
    agdref_number = fields.String(
        validate=validate.Regexp(r"^\d{10}$", error="An AGDREF number has 10 digits."),
        metadata={"example": "7500000001"},
    )
    birth_date = fields.String(
        validate=validate.Regexp(PARTIAL_DATE, error="Use YYYY, YYYY-MM or YYYY-MM-DD."),
        metadata={"description": "As known to the partner: YYYY-MM-DD, YYYY-MM or YYYY.",
                  "example": "1988-04-12"},
    )
    birth_name = fields.String(validate=validate.Length(1, 200))
    given_names = fields.List(fields.String(validate=validate.Length(1, 100)),
                              validate=validate.Length(1, 10),
                              metadata={"description": "In any order"})
    recipient = fields.String(
        required=True, validate=validate_siret,
        metadata={"description": "SIRET of the body that will use the answer",
                  "example": "13002526500013"},
    )

    @validates_schema
    def identifier_given(self, data: dict[str, Any], **_: Any) -> None:
        if _PERSON_BOUND.get():
            given = [name for name in IDENTIFIERS if name in data]
            if given:
                raise ValidationError("This access token already names the person (they "
                                      "consented on your website): send only recipient.",
                                      given[0])
            return
        if data.get("ofpra_number"):
            return
        if not data.get("agdref_number"):
            raise ValidationError("Give ofpra_number, or agdref_number with birth_date.",
                                  "ofpra_number")
        if not data.get("birth_date"):
            raise ValidationError("birth_date is required with agdref_number.", "birth_date")

    @post_load
    def check_date(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        value = data.get("birth_date")
        if value and len(value) == 10:
            from datetime import date

            try:
                date.fromisoformat(value)
            except ValueError as error:
                raise ValidationError("This date does not exist.", "birth_date") from error
        return data
