"""Hand one rendered message to the outside world: an SMTP relay, or an HTTP SMS gateway.

`send` returns when the relay or gateway has accepted the message. Otherwise it raises
TemporaryFailure (try again later: the relay is down, busy, slow or misconfigured) or
PermanentFailure (never again: the recipient or the message is refused). A failure's `reason` is
short and never quotes the recipient or the text, nor the server's reply (which often repeats the
address): it ends up in the logs and in `outbox_message.last_error`.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import smtplib
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any, Protocol


@dataclass(frozen=True)
class Outgoing:
    """One message, rendered. `key` is the same for every try of one outbox message."""

    key: str
    recipient: str
    subject: str
    text: str


class DeliveryFailure(Exception):
    permanent = False

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TemporaryFailure(DeliveryFailure):
    """Not delivered this time; the same message may go through later."""


class PermanentFailure(DeliveryFailure):
    """Refused for good: trying again would be refused again."""

    permanent = True


class Sender(Protocol):
    def send(self, outgoing: Outgoing) -> None: ...


def _by_code(what: str, code: int) -> DeliveryFailure:
    # SMTP (RFC 5321): 4yz is transient, 5yz permanent.
    reason = f"smtp: {what} {code}"
    return PermanentFailure(reason) if 500 <= code < 600 else TemporaryFailure(reason)


class SmtpSender:
    """Plain-text UTF-8 e-mail through an SMTP relay, with STARTTLS when configured.

    With `starttls`, a relay that does not offer STARTTLS, or whose certificate does not verify,
    gets nothing (a temporary failure, for the operator to fix): there is no fallback to clear
    text. Credentials, if any, are only ever sent after STARTTLS.
    """

    def __init__(self, host: str, port: int, sender: str, *, starttls: bool = False,
                 timeout: float = 15.0, ssl_context: ssl.SSLContext | None = None,
                 username: str | None = None, password: str | None = None) -> None:
        if username and not starttls:
            raise ValueError("SMTP credentials are only sent after STARTTLS: set SMTP_STARTTLS")
        address = parseaddr(sender)[1]
        if "@" not in address:
            raise ValueError("SMTP_FROM is not an e-mail address")
        self.host = host
        self.port = port
        self.sender = sender
        self.domain = address.rpartition("@")[2]
        self.starttls = starttls
        self.timeout = timeout
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.username = username
        self.password = password

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SmtpSender | None:
        """Return the sender the settings describe, or None when SMTP_HOST is not set."""
        if not config.get("SMTP_HOST"):
            return None
        return cls(config["SMTP_HOST"], int(config["SMTP_PORT"]), config["SMTP_FROM"],
                   starttls=bool(config["SMTP_STARTTLS"]), timeout=float(config["SMTP_TIMEOUT"]),
                   ssl_context=ssl.create_default_context(cafile=config.get("SMTP_CA_FILE")),
                   username=config.get("SMTP_USERNAME"), password=config.get("SMTP_PASSWORD"))

    def message(self, outgoing: Outgoing) -> EmailMessage:
        """Return the e-mail for `outgoing`; its Message-ID is the same on every try."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = outgoing.recipient
        message["Subject"] = outgoing.subject
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = f"<{outgoing.key}@{self.domain}>"
        # RFC 3834: no out-of-office answers to an alert.
        message["Auto-Submitted"] = "auto-generated"
        # Quoted-printable: the text stays readable as sent (base64 would hide it).
        message.set_content(outgoing.text, charset="utf-8", cte="quoted-printable")
        return message

    def send(self, outgoing: Outgoing) -> None:
        message = self.message(outgoing)
        smtp: smtplib.SMTP | None = None
        try:
            # Connecting in the constructor tells STARTTLS which host name to verify.
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            smtp.ehlo()
            if self.starttls:
                smtp.starttls(context=self.ssl_context)
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            # One recipient per message: all refused means it was.
            codes = [code for code, _reply in error.recipients.values()]
            raise _by_code("recipient refused", codes[0] if codes else 550) from None
        except smtplib.SMTPDataError as error:
            raise _by_code("message refused", error.smtp_code) from None
        except smtplib.SMTPSenderRefused as error:
            # Our own From refused: the relay's configuration, not this message.
            raise TemporaryFailure(f"smtp: sender refused {error.smtp_code}") from None
        except smtplib.SMTPResponseException as error:
            raise TemporaryFailure(
                f"smtp: {type(error).__name__} {error.smtp_code}") from None
        except (smtplib.SMTPException, OSError) as error:
            # Connection refused or lost, timeouts, TLS errors, STARTTLS not offered.
            raise TemporaryFailure(f"smtp: {type(error).__name__}") from None
        finally:
            _close(smtp)


def _close(smtp: smtplib.SMTP | None) -> None:
    # After the relay said 250 the message is accepted: a failing QUIT changes nothing.
    if smtp is None:
        return
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirected POST would lose its body and could carry the token elsewhere.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


class SmsGatewaySender:
    """SMS through an HTTP gateway: POST `{"to", "text"}` as JSON, with a bearer token.

    2xx is sent; 429 and 5xx, timeouts and connection errors are temporary; any other 4xx is
    permanent (the number or the message is refused). Redirects are not followed. The
    `Idempotency-Key` header is the same on every try, for gateways that drop repeats.
    """

    def __init__(self, url: str, token: str, *, timeout: float = 10.0) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("SMS_GATEWAY_URL must be an http(s) URL")
        if parts.scheme == "http" and not _loopback(parts.hostname):
            raise ValueError("SMS_GATEWAY_URL must use https: the token would travel in clear")
        if not token:
            raise ValueError("SMS_GATEWAY_TOKEN is required")
        self.url = url
        self.token = token
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirect)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SmsGatewaySender | None:
        """Return the sender the settings describe, or None when SMS_GATEWAY_URL is not set."""
        if not config.get("SMS_GATEWAY_URL"):
            return None
        return cls(config["SMS_GATEWAY_URL"], config.get("SMS_GATEWAY_TOKEN") or "",
                   timeout=float(config["SMS_GATEWAY_TIMEOUT"]))

    def send(self, outgoing: Outgoing) -> None:
        body = json.dumps({"to": outgoing.recipient, "text": outgoing.text}).encode()
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            self.url, data=body, method="POST",
            headers={"Content-Type": "application/json", "Accept": "application/json",
                     "Authorization": f"Bearer {self.token}",
                     "Idempotency-Key": outgoing.key})
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                response.read(65536)  # drained, not kept: it may repeat the number
                status = response.status
        except urllib.error.HTTPError as error:
            error.close()
            status = error.code
        except urllib.error.URLError as error:
            raise TemporaryFailure(f"sms gateway: {type(error.reason).__name__}") from None
        except (http.client.HTTPException, OSError) as error:
            raise TemporaryFailure(f"sms gateway: {type(error).__name__}") from None
        if 200 <= status < 300:
            return
        reason = f"sms gateway: HTTP {status}"
        if 400 <= status < 500 and status != 429:
            raise PermanentFailure(reason)
        raise TemporaryFailure(reason)
