"""Queue an alert in the transaction that causes it; `flask notify work` sends it after commit.

`enqueue` is the only way in. A caller names a template and its few parameters, never a text, so
an alert cannot carry a document's content, a name or a decision (vault rule 6). Nothing is sent
here: if the caller's transaction rolls back, the message never existed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from app.notify import messages
from app.notify.models import Channel, OutboxMessage

# A plain ASCII address (dot-atom local part, a domain with a TLD): the addresses people type.
# Quoted local parts, IP literals and internationalised addresses (SMTPUTF8) are refused.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL = re.compile(rf"(?P<local>{_ATOM}(?:\.{_ATOM})*)@(?:{_LABEL}\.)+[A-Za-z]{{2,63}}")
# ITU-T E.164: a plus, a country code (never 0), at most 15 digits in all.
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
LANGUAGE = re.compile(r"[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,4})?")


class InvalidMessage(ValueError):
    """The message cannot be queued: bad recipient, language, template or parameters."""


def enqueue(db_session: Session, *, channel: Channel | str, recipient: str, template: str,
            language: str, context: Mapping[str, Any] | None = None,
            person_id: int | None = None) -> OutboxMessage:
    """Add a message to the outbox in the caller's transaction (flushed, never committed).

    Return the queued message; it is rendered in `language` and sent after the commit. Raise
    InvalidMessage if the recipient is not an e-mail address (channel "email") or an E.164
    number (channel "sms"), if the template is unknown, or if `context` holds anything but the
    template's own parameters as simple values.
    """
    try:
        channel = Channel(channel)
    except ValueError:
        raise InvalidMessage(f"unknown channel {channel!r}") from None
    recipient = _recipient(channel, recipient)
    if not isinstance(language, str) or not LANGUAGE.fullmatch(language):
        raise InvalidMessage("language is not a language code")
    values = _context(template, context or {})
    message = OutboxMessage(channel=channel, recipient=recipient, template=template,
                            language=language, context=values, person_id=person_id)
    db_session.add(message)
    db_session.flush()
    return message


def _recipient(channel: Channel, recipient: str) -> str:
    # Messages are never logged with their recipient: the errors don't repeat it either.
    if not isinstance(recipient, str):
        raise InvalidMessage("recipient is not text")
    recipient = recipient.strip()
    if channel is Channel.SMS:
        if not E164.fullmatch(recipient):
            raise InvalidMessage("recipient is not a phone number in E.164 form (+33612345678)")
        return recipient
    match = EMAIL.fullmatch(recipient)
    if match is None or len(recipient) > 254 or len(match["local"]) > 64:
        raise InvalidMessage("recipient is not an e-mail address")
    return recipient


def _context(template: str, context: Mapping[str, Any]) -> dict[str, str | int]:
    for key, value in context.items():
        if not isinstance(key, str) or not (
                value is None or isinstance(value, str | int | float | bool)):
            raise InvalidMessage("context holds only text, numbers and booleans")
    try:
        return messages.parameters(template, context)
    except messages.TemplateError as error:
        raise InvalidMessage(str(error)) from None
