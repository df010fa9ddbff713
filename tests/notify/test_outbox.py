"""`outbox.enqueue`: in the caller's transaction, and only templates with their own parameters."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.notify import outbox
from app.notify.models import Channel, OutboxMessage


def count(db_session: Session) -> int:
    return db_session.scalar(select(func.count()).select_from(OutboxMessage)) or 0


def test_enqueue_adds_to_the_callers_transaction_and_never_commits(db_session: Session):
    before = count(db_session)
    message = outbox.enqueue(db_session, channel="email", recipient=" amina@example.org ",
                             template="verification_code", language="fr",
                             context={"code": "048213"})

    assert message.id is not None
    stored = db_session.scalars(
        select(OutboxMessage).where(OutboxMessage.id == message.id)).one()
    assert (stored.channel, stored.recipient, stored.template, stored.language) == (
        Channel.EMAIL, "amina@example.org", "verification_code", "fr")
    # Defaults are stored, so the text does not change if they do.
    assert stored.context == {"code": "048213", "minutes": 15}
    assert (stored.attempts, stored.sent_at, stored.failed_at) == (0, None, None)
    assert count(db_session) == before + 1

    db_session.rollback()
    assert count(db_session) == before


@pytest.mark.parametrize(("channel", "recipient"), [
    ("email", "amina"),
    ("email", "amina@localhost"),
    ("email", "amina @example.org"),
    ("email", "amina@example.org\r\nBcc: other@example.org"),
    ("email", "amina@exämple.org"),
    ("email", f"{'a' * 65}@example.org"),
    ("sms", "0612345678"),
    ("sms", "+33 6 12 34 56 78"),
    ("sms", "+0612345678"),
    ("sms", "+3361234567890123"),
    ("sms", "amina@example.org"),
    ("fax", "+33612345678"),
])
def test_enqueue_refuses_what_is_not_a_recipient(channel: str, recipient: str):
    with pytest.raises(outbox.InvalidMessage) as raised:
        outbox.enqueue(Session(), channel=channel, recipient=recipient,
                       template="document_deposited", language="fr", context={})
    assert recipient.strip() not in str(raised.value)  # errors never repeat a recipient


@pytest.mark.parametrize(("template", "context", "error"), [
    ("nope", {}, "unknown template 'nope'"),
    # What a careless caller might pass: refused, whatever its value.
    ("document_deposited", {"title": "Décision de rejet"}, "takes no title"),
    ("document_deposited", {"name": "Amina Testperson"}, "takes no name"),
    ("consent_request", {"partner": "CAF de Paris"}, "takes no partner"),
    ("verification_code", {}, "needs code"),
    ("verification_code", {"code": "Amina"}, "invalid code"),
    ("verification_code", {"code": "123456", "minutes": "15"}, "invalid minutes"),
    ("verification_code", {"code": {"nested": "1"}}, "only text, numbers and booleans"),
    ("password_reset_code", {"code": ["1", "2"]}, "only text, numbers and booleans"),
])
def test_enqueue_takes_only_a_templates_own_parameters(template, context, error):
    with pytest.raises(outbox.InvalidMessage, match=error):
        outbox.enqueue(Session(), channel="sms", recipient="+33612345678", template=template,
                       language="fr", context=context)


@pytest.mark.parametrize("language", ["", "french", "fr-FR-x-long", "FR", 1])
def test_enqueue_refuses_what_is_not_a_language_code(language):
    with pytest.raises(outbox.InvalidMessage, match="language"):
        outbox.enqueue(Session(), channel="sms", recipient="+33612345678",
                       template="document_deposited", language=language)
