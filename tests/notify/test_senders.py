"""The senders against a real SMTP server and a real HTTP gateway on loopback."""

from __future__ import annotations

import ssl

import pytest

from app.notify import senders
from tests.notify.conftest import GATEWAY_TOKEN, SmsGateway, SmtpServer, TlsSmtpServer, free_port

OUTGOING = senders.Outgoing(key="ofpra-connect.outbox.7.20261123041800000000",
                            recipient="amina@example.org", subject="Ofpra Connect : votre code",
                            text="Votre code Ofpra Connect : 123456. Il expire dans 15 minutes.")


def smtp(server_port: int, **kwargs) -> senders.SmtpSender:  # type: ignore[no-untyped-def]
    return senders.SmtpSender("127.0.0.1", server_port,
                              "Ofpra Connect <no-reply@connect.ofpra.test>", timeout=5, **kwargs)


def test_smtp_delivers_a_plain_utf8_email_with_stable_message_id(smtp_server: SmtpServer):
    smtp(smtp_server.port).send(OUTGOING)

    [received] = smtp_server.messages
    assert received.mail_from == "no-reply@connect.ofpra.test"
    assert received.rcpt_tos == ["amina@example.org"]
    message = received.message
    assert message["From"] == "Ofpra Connect <no-reply@connect.ofpra.test>"
    assert message["To"] == "amina@example.org"
    assert message["Subject"] == "Ofpra Connect : votre code"
    assert message["Message-ID"] == (
        "<ofpra-connect.outbox.7.20261123041800000000@connect.ofpra.test>")
    assert message["Date"].datetime.tzinfo is not None
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert message["Content-Transfer-Encoding"] == "quoted-printable"  # readable as sent
    assert message.get_content().strip() == OUTGOING.text


@pytest.mark.parametrize(("recipient", "failure", "reason"), [
    ("refused@example.org", senders.PermanentFailure, "smtp: recipient refused 550"),
    ("busy@example.org", senders.TemporaryFailure, "smtp: recipient refused 451"),
])
def test_smtp_refusals_are_permanent_or_temporary_by_code(smtp_server: SmtpServer, recipient,
                                                          failure, reason):
    outgoing = senders.Outgoing("k", recipient, "s", "t")
    with pytest.raises(failure) as raised:
        smtp(smtp_server.port).send(outgoing)
    assert raised.value.reason == reason  # no address, though the server's reply has it
    assert smtp_server.messages == []


def test_smtp_relay_down_is_temporary():
    with pytest.raises(senders.TemporaryFailure, match="ConnectionRefusedError"):
        smtp(free_port()).send(OUTGOING)


def test_smtp_starttls_delivers_when_the_certificate_verifies(tls_smtp_server: TlsSmtpServer):
    context = ssl.create_default_context(cafile=tls_smtp_server.ca_file)
    smtp(tls_smtp_server.port, starttls=True, ssl_context=context).send(OUTGOING)
    assert [m.message["Subject"] for m in tls_smtp_server.messages] == [OUTGOING.subject]


def test_smtp_starttls_never_falls_back_to_clear_text(tls_smtp_server: TlsSmtpServer,
                                                      smtp_server: SmtpServer):
    # An unknown certificate: nothing is sent.
    with pytest.raises(senders.TemporaryFailure, match="SSLCertVerificationError"):
        smtp(tls_smtp_server.port, starttls=True).send(OUTGOING)
    # A relay that does not offer STARTTLS: nothing is sent either.
    with pytest.raises(senders.TemporaryFailure, match="SMTPNotSupportedError"):
        smtp(smtp_server.port, starttls=True).send(OUTGOING)
    assert tls_smtp_server.messages == [] and smtp_server.messages == []


def test_smtp_credentials_are_never_sent_in_clear():
    with pytest.raises(ValueError, match="STARTTLS"):
        smtp(25, username="relay", password="secret")


def gateway_sender(gateway: SmsGateway, timeout: float = 5) -> senders.SmsGatewaySender:
    return senders.SmsGatewaySender(gateway.url, GATEWAY_TOKEN, timeout=timeout)


def test_sms_posts_json_with_the_bearer_token(sms_gateway: SmsGateway):
    outgoing = senders.Outgoing("ofpra-connect.outbox.9.x", "+33612345678", "unused", "Code 1")
    gateway_sender(sms_gateway).send(outgoing)

    [request] = sms_gateway.delivered()
    assert request.path == "/v1/sms"
    assert request.authorization == f"Bearer {GATEWAY_TOKEN}"
    assert request.content_type == "application/json"
    assert request.idempotency_key == "ofpra-connect.outbox.9.x"
    assert request.body == {"to": "+33612345678", "text": "Code 1"}


@pytest.mark.parametrize(("status", "failure"), [
    (500, senders.TemporaryFailure), (503, senders.TemporaryFailure),
    (429, senders.TemporaryFailure), (400, senders.PermanentFailure),
    (401, senders.PermanentFailure), (422, senders.PermanentFailure),
    # A redirect is not followed: the body would be lost, the token could travel elsewhere.
    (307, senders.TemporaryFailure),
])
def test_sms_gateway_answers_are_classified(sms_gateway: SmsGateway, status, failure):
    sms_gateway.status = status
    with pytest.raises(failure) as raised:
        gateway_sender(sms_gateway).send(senders.Outgoing("k", "+33612345678", "s", "t"))
    assert raised.value.reason == f"sms gateway: HTTP {status}"
    assert [request.path for request in sms_gateway.requests] == ["/v1/sms"]


def test_sms_gateway_timeout_and_absence_are_temporary(sms_gateway: SmsGateway):
    sms_gateway.delay = 1.0
    with pytest.raises(senders.TemporaryFailure, match="TimeoutError"):
        gateway_sender(sms_gateway, timeout=0.2).send(
            senders.Outgoing("k", "+33612345678", "s", "t"))
    closed = senders.SmsGatewaySender(f"http://127.0.0.1:{free_port()}/", GATEWAY_TOKEN)
    with pytest.raises(senders.TemporaryFailure, match="ConnectionRefusedError"):
        closed.send(senders.Outgoing("k", "+33612345678", "s", "t"))


@pytest.mark.parametrize("url", ["http://sms.example.org/send", "ftp://127.0.0.1/", "file:///x"])
def test_sms_gateway_token_never_travels_in_clear(url: str):
    with pytest.raises(ValueError, match="SMS_GATEWAY_URL"):
        senders.SmsGatewaySender(url, GATEWAY_TOKEN)
