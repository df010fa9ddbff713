"""The worker, end to end: outbox rows in, real e-mails and SMS out, outcomes recorded.

Time is given explicitly (`now`), never slept through.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from app import db
from app.notify import outbox, senders, worker
from app.notify.models import OutboxMessage
from tests import factories
from tests.notify.conftest import GATEWAY_TOKEN, Received, SmsGateway, SmtpServer

MINUTE = timedelta(minutes=1)
LEASE = timedelta(seconds=300)


def reloaded(db_session: Session, message: OutboxMessage) -> OutboxMessage:
    found = db_session.get(OutboxMessage, message.id, populate_existing=True)
    assert found is not None
    return found


def text_of(received: Received) -> str:
    """The e-mail's text, with the line ends it had before SMTP made them CRLF."""
    return received.message.get_content().replace("\r\n", "\n")


def soon() -> datetime:
    """A `now` just after the messages queued by the test are due."""
    return db.utcnow() + timedelta(seconds=1)


def sms(db_session: Session, template: str = "document_deposited", **context: object):
    return outbox.enqueue(db_session, channel="sms", recipient="+33612345678",
                          template=template, language="fr", context=context)


def test_email_in_french_says_only_that_a_letter_waits(notify_app: Flask, db_session: Session,
                                                       smtp_server: SmtpServer):
    person = factories.person(db_session, birth_name="Haidari", given_names=["Amina", "Leyla"])
    message = outbox.enqueue(db_session, channel="email", recipient="contact-7@example.org",
                             template="document_deposited", language="fr", context={},
                             person_id=person.id)
    now = soon()

    stats = worker.work_once(notify_app, now=now)

    assert (stats.claimed, stats.sent, stats.retried, stats.failed) == (1, 1, 0, 0)
    [received] = smtp_server.messages
    assert received.rcpt_tos == ["contact-7@example.org"]
    assert received.message["Subject"] == "Ofpra Connect : vous avez un nouveau courrier"
    assert text_of(received) == (
        "Un nouveau courrier de l'OFPRA est dans votre espace personnel. "
        "Connectez-vous pour le lire : https://connect.ofpra.test/\n\n"
        "Ce message est envoyé automatiquement : les réponses ne sont pas lues.\n")
    assert received.message["Message-ID"].startswith(f"<ofpra-connect.outbox.{message.id}.")
    # Everything the message shows: every header, decoded, and the text.
    shown = "\n".join([*(f"{name}: {value}" for name, value in received.message.items()),
                        text_of(received)]).lower()
    for secret in ("haidari", "amina", "leyla", str(person.ofpra_number),
                   str(person.agdref_number), "soudan", "sdn", "décision", "refus"):
        assert secret not in shown
    stored = reloaded(db_session, message)
    assert (stored.sent_at, stored.failed_at, stored.attempts, stored.last_error) == (
        now, None, 1, None)


def test_email_in_english_with_the_code(notify_app: Flask, db_session: Session,
                                        smtp_server: SmtpServer):
    outbox.enqueue(db_session, channel="email", recipient="contact-8@example.org",
                   template="verification_code", language="en", context={"code": "482915"})

    worker.work_once(notify_app, now=soon())

    [received] = smtp_server.messages
    assert received.message["Subject"] == "Ofpra Connect: your code"  # no code in a subject
    assert text_of(received) == (
        "Your Ofpra Connect code: 482915. It expires in 15 minutes. Never share it.\n\n"
        "This message was sent automatically: replies are not read.\n")


def test_sms_reaches_the_gateway_with_the_bearer_token(notify_app: Flask, db_session: Session,
                                                       sms_gateway: SmsGateway):
    message = outbox.enqueue(db_session, channel="sms", recipient="+33612345678",
                             template="consent_request", language="en", context={})

    stats = worker.work_once(notify_app, now=soon())

    assert stats.sent == 1
    [request] = sms_gateway.delivered()
    assert request.authorization == f"Bearer {GATEWAY_TOKEN}"
    assert request.body == {"to": "+33612345678", "text": (
        "An administration asks for your consent in your personal space: "
        "https://connect.ofpra.test/")}
    assert str(request.idempotency_key).startswith(f"ofpra-connect.outbox.{message.id}.")
    assert reloaded(db_session, message).sent_at is not None


def test_gateway_down_then_back_is_retried_with_backoff_and_sent_once(
        notify_app: Flask, db_session: Session, sms_gateway: SmsGateway):
    message = sms(db_session)
    t0 = soon()
    sms_gateway.status = 500

    assert worker.work_once(notify_app, now=t0).retried == 1
    stored = reloaded(db_session, message)
    assert (stored.attempts, stored.next_attempt_at, stored.last_error, stored.sent_at) == (
        1, t0 + MINUTE, "sms gateway: HTTP 500", None)

    assert worker.work_once(notify_app, now=t0 + MINUTE - timedelta(seconds=1)).claimed == 0
    t1 = t0 + MINUTE
    assert worker.work_once(notify_app, now=t1).retried == 1
    # Exponential: 60 s after the first failure, 120 s after the second.
    assert reloaded(db_session, message).next_attempt_at == t1 + 2 * MINUTE

    sms_gateway.status = 202  # the gateway is back
    assert worker.work_once(notify_app, now=t1 + 2 * MINUTE - timedelta(seconds=1)).claimed == 0
    t2 = t1 + 2 * MINUTE
    assert worker.work_once(notify_app, now=t2).sent == 1
    assert worker.work_once(notify_app, now=t2 + timedelta(days=1)).claimed == 0

    assert [request.status for request in sms_gateway.requests] == [500, 500, 202]
    assert len(sms_gateway.delivered()) == 1
    stored = reloaded(db_session, message)
    assert (stored.sent_at, stored.failed_at, stored.attempts) == (t2, None, 3)


def test_failed_for_good_after_max_attempts(notify_app: Flask, db_session: Session,
                                            sms_gateway: SmsGateway):
    message = sms(db_session)
    sms_gateway.status = 503
    now = soon()
    for delay in (60, 120, 240):  # NOTIFY_MAX_ATTEMPTS is 4 in these tests
        assert worker.work_once(notify_app, now=now).retried == 1
        now += timedelta(seconds=delay)
        assert reloaded(db_session, message).next_attempt_at == now

    assert worker.work_once(notify_app, now=now).failed == 1
    assert worker.work_once(notify_app, now=now + timedelta(days=30)).claimed == 0

    stored = reloaded(db_session, message)
    assert (stored.failed_at, stored.sent_at, stored.attempts, stored.last_error) == (
        now, None, 4, "sms gateway: HTTP 503")
    assert len(sms_gateway.requests) == 4


def test_refused_by_the_gateway_fails_at_once(notify_app: Flask, db_session: Session,
                                              sms_gateway: SmsGateway):
    message = sms(db_session)
    sms_gateway.status = 400
    now = soon()

    assert worker.work_once(notify_app, now=now).failed == 1
    assert worker.work_once(notify_app, now=now + timedelta(days=1)).claimed == 0

    stored = reloaded(db_session, message)
    assert (stored.failed_at, stored.attempts, stored.last_error) == (
        now, 1, "sms gateway: HTTP 400")
    assert len(sms_gateway.requests) == 1


def test_refused_recipient_fails_at_once_without_naming_it(
        notify_app: Flask, db_session: Session, smtp_server: SmtpServer):
    message = outbox.enqueue(db_session, channel="email", recipient="refused@example.org",
                             template="document_deposited", language="fr", context={})

    assert worker.work_once(notify_app, now=soon()).failed == 1
    assert reloaded(db_session, message).last_error == "smtp: recipient refused 550"
    assert smtp_server.messages == []


def test_a_message_whose_transaction_rolled_back_is_never_sent(
        notify_app: Flask, db_session: Session, smtp_server: SmtpServer):
    database = notify_app.extensions["ofpra.db"]
    with database.sessions() as request_session:  # a request that commits
        outbox.enqueue(request_session, channel="email", recipient="kept@example.org",
                       template="document_deposited", language="fr", context={})
        request_session.commit()
    with pytest.raises(RuntimeError), database.sessions() as request_session:
        outbox.enqueue(request_session, channel="email", recipient="dropped@example.org",
                       template="document_deposited", language="fr", context={})
        raise RuntimeError("the request failed after queuing its alert")
    outbox.enqueue(db_session, channel="email", recipient="rolled-back@example.org",
                   template="document_deposited", language="fr", context={})
    db_session.rollback()

    stats = worker.work_once(notify_app, now=soon())

    assert stats.sent == 1
    assert [received.rcpt_tos for received in smtp_server.messages] == [["kept@example.org"]]


def test_an_expired_code_is_not_sent(notify_app: Flask, db_session: Session,
                                     sms_gateway: SmsGateway):
    message = sms(db_session, "verification_code", code="123456", minutes=10)

    assert worker.work_once(notify_app, now=soon() + timedelta(minutes=11)).failed == 1
    assert reloaded(db_session, message).last_error == "expired before it could be sent"
    assert sms_gateway.requests == []


def test_a_channel_without_sender_waits_untried(notify_app: Flask, db_session: Session,
                                                sms_gateway: SmsGateway,
                                                monkeypatch: pytest.MonkeyPatch):
    message = sms(db_session)
    monkeypatch.setitem(notify_app.config, "SMS_GATEWAY_URL", None)
    assert worker.work_once(notify_app, now=soon()).claimed == 0
    assert reloaded(db_session, message).attempts == 0

    monkeypatch.setitem(notify_app.config, "SMS_GATEWAY_URL", sms_gateway.url)
    assert worker.work_once(notify_app, now=soon()).sent == 1


def test_a_worker_dying_before_the_send_loses_nothing(notify_app: Flask, db_session: Session,
                                                      smtp_server: SmtpServer):
    outbox.enqueue(db_session, channel="email", recipient="contact-9@example.org",
                   template="document_deposited", language="fr", context={})
    t0 = soon()
    assert worker.Worker(notify_app).claim(t0) is not None  # ... and the worker dies

    assert worker.work_once(notify_app, now=t0 + LEASE - timedelta(seconds=1)).claimed == 0
    assert worker.work_once(notify_app, now=t0 + LEASE).sent == 1
    assert len(smtp_server.messages) == 1


def test_a_worker_dying_after_the_send_repeats_it_with_the_same_message_id(
        notify_app: Flask, db_session: Session, smtp_server: SmtpServer):
    # The documented at-least-once window: accepted by the relay, not yet recorded sent.
    message = outbox.enqueue(db_session, channel="email", recipient="contact-10@example.org",
                             template="document_deposited", language="fr", context={})
    t0 = soon()
    dying = worker.Worker(notify_app)
    claim = dying.claim(t0)
    assert claim is not None
    with notify_app.app_context():
        assert dying.deliver(claim, t0) is worker.SENT  # ... and the worker dies

    assert worker.work_once(notify_app, now=t0 + LEASE).sent == 1

    first, second = smtp_server.messages
    assert first.message["Message-ID"] == second.message["Message-ID"]
    assert reloaded(db_session, message).sent_at == t0 + LEASE


def test_a_message_that_kills_every_worker_is_abandoned(notify_app: Flask, db_session: Session,
                                                        smtp_server: SmtpServer):
    message = outbox.enqueue(db_session, channel="email", recipient="contact-11@example.org",
                             template="document_deposited", language="fr", context={})
    now = soon()
    for _try in range(4):  # NOTIFY_MAX_ATTEMPTS: each try dies after its claim
        assert worker.Worker(notify_app).claim(now) is not None
        now += LEASE

    stats = worker.work_once(notify_app, now=now)

    assert (stats.abandoned, stats.claimed) == (1, 0)
    stored = reloaded(db_session, message)
    assert stored.failed_at == now
    assert stored.last_error is not None and stored.last_error.startswith("abandoned")
    assert smtp_server.messages == []


def test_a_worker_that_overran_its_lease_changes_nothing(notify_app: Flask, db_session: Session,
                                                         smtp_server: SmtpServer):
    message = outbox.enqueue(db_session, channel="email", recipient="contact-12@example.org",
                             template="document_deposited", language="fr", context={})
    t0 = soon()
    slow, other = worker.Worker(notify_app), worker.Worker(notify_app)
    late_claim = slow.claim(t0)
    assert late_claim is not None
    new_claim = other.claim(t0 + LEASE)  # the lease ran out: another worker takes over
    assert new_claim is not None and new_claim.attempts == 2

    with notify_app.app_context():
        assert slow.deliver(late_claim, t0 + LEASE) is worker.LOST  # it does not send
    stats = worker.Stats()
    slow.record(late_claim, senders.TemporaryFailure("smtp: late"), t0 + LEASE, stats)
    assert stats.lost == 1
    assert reloaded(db_session, message).next_attempt_at == new_claim.lease_until

    with notify_app.app_context():
        outcome = other.deliver(new_claim, t0 + LEASE)
    other.record(new_claim, outcome, t0 + LEASE, stats)
    assert stats.sent == 1
    assert len(smtp_server.messages) == 1
    assert reloaded(db_session, message).last_error is None
