"""Real services for the notify tests: an SMTP server (aiosmtpd) and an HTTP SMS gateway.

Both listen on 127.0.0.1 at a free port, for one test, and keep what they received. The
gateway's answer can be changed mid-test: to fail (500), to refuse (400), to come back (200).
"""

from __future__ import annotations

import asyncio
import datetime
import email
import email.policy
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask import Flask

GATEWAY_TOKEN = "gateway-token-for-tests-0123456789"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage


@dataclass
class Mailbox:
    """An aiosmtpd handler keeping every message; `refused@` gets 550, `busy@` gets 451."""

    messages: list[Received] = field(default_factory=list)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        local = address.partition("@")[0]
        if local == "refused":
            return f"550 5.1.1 <{address}>: Recipient address rejected"
        if local == "busy":
            return f"451 4.3.0 <{address}>: try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                          envelope.content, parsed))
        return "250 2.0.0 Message accepted"


@dataclass
class SmtpServer:
    port: int
    mailbox: Mailbox

    @property
    def messages(self) -> list[Received]:
        with self.mailbox.lock:
            return list(self.mailbox.messages)


def _serve(mailbox: Mailbox, **kwargs: Any) -> Iterator[SmtpServer]:
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    try:
        yield SmtpServer(controller.port, mailbox)
    finally:
        controller.stop()


@pytest.fixture()
def smtp_server() -> Iterator[SmtpServer]:
    """An SMTP server on loopback, without TLS."""
    yield from _serve(Mailbox())


@dataclass
class TlsSmtpServer(SmtpServer):
    ca_file: str


@pytest.fixture()
def tls_smtp_server(tmp_path: Path) -> Iterator[TlsSmtpServer]:
    """An SMTP server on loopback that refuses mail until STARTTLS, with its own certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "relay.pem", tmp_path / "relay.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    for server in _serve(Mailbox(), tls_context=context, require_starttls=True):
        yield TlsSmtpServer(server.port, server.mailbox, str(cert_file))


@dataclass
class GatewayRequest:
    path: str
    authorization: str | None
    idempotency_key: str | None
    content_type: str | None
    body: dict[str, Any]
    status: int


@dataclass
class SmsGateway:
    """An HTTP server standing in for the SMS gateway; set `status` to change its answers."""

    url: str
    status: int = 202
    delay: float = 0.0
    requests: list[GatewayRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def delivered(self) -> list[GatewayRequest]:
        """The requests the gateway accepted (answered 2xx)."""
        with self.lock:
            return [request for request in self.requests if 200 <= request.status < 300]


class _GatewayHandler(BaseHTTPRequestHandler):
    server: _GatewayServer

    def do_POST(self) -> None:
        gateway = self.server.gateway
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        status = gateway.status
        with gateway.lock:
            gateway.requests.append(GatewayRequest(
                self.path, self.headers["Authorization"], self.headers["Idempotency-Key"],
                self.headers["Content-Type"], body, status))
        if gateway.delay:
            time.sleep(gateway.delay)
        # Like real gateways, the answer repeats the number: it must not reach the logs.
        payload = json.dumps({"to": body.get("to"), "status": status}).encode()
        self.send_response(status)
        if 300 <= status < 400:
            self.send_header("Location", "/elsewhere")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    gateway: SmsGateway

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and left: nothing to report


@pytest.fixture()
def sms_gateway() -> Iterator[SmsGateway]:
    server = _GatewayServer(("127.0.0.1", 0), _GatewayHandler)
    server.gateway = SmsGateway(url=f"http://127.0.0.1:{server.server_address[1]}/v1/sms")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server.gateway
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def service_settings(smtp: SmtpServer | None, gateway: SmsGateway | None) -> dict[str, Any]:
    """The settings that point the application at the test SMTP server and SMS gateway."""
    return {
        "SMTP_HOST": "127.0.0.1" if smtp else None,
        "SMTP_PORT": smtp.port if smtp else 25,
        "SMTP_FROM": "Ofpra Connect <no-reply@connect.ofpra.test>",
        "SMTP_STARTTLS": False,
        "SMTP_TIMEOUT": 5.0,
        "SMS_GATEWAY_URL": gateway.url if gateway else None,
        "SMS_GATEWAY_TOKEN": GATEWAY_TOKEN if gateway else None,
        "SMS_GATEWAY_TIMEOUT": 5.0,
        "PUBLIC_URL": "https://connect.ofpra.test",
        "NOTIFY_MAX_ATTEMPTS": 4,
        "NOTIFY_BACKOFF_SECONDS": 60.0,
        "NOTIFY_BACKOFF_MAX_SECONDS": 600.0,
        "NOTIFY_LEASE_SECONDS": 300.0,
    }


@pytest.fixture()
def notify_app(app: Flask, smtp_server: SmtpServer, sms_gateway: SmsGateway,
               monkeypatch: pytest.MonkeyPatch) -> Flask:
    """The test application, sending to this test's SMTP server and SMS gateway."""
    for name, value in service_settings(smtp_server, sms_gateway).items():
        monkeypatch.setitem(app.config, name, value)
    return app
