"""`flask notify work`: once, or until SIGTERM."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from app.notify import outbox
from tests.notify.conftest import SmtpServer


def queue_email(db_session: Session, recipient: str) -> None:
    outbox.enqueue(db_session, channel="email", recipient=recipient,
                   template="document_deposited", language="en", context={})
    db_session.commit()


def test_work_once_sends_what_is_due_and_says_how_much(notify_app: Flask, db_session: Session,
                                                       smtp_server: SmtpServer):
    queue_email(db_session, "one@example.org")
    queue_email(db_session, "two@example.org")

    result = notify_app.test_cli_runner().invoke(args=["notify", "work", "--once"])

    assert result.exit_code == 0, result.output
    assert result.stdout == "notify: claimed=2 sent=2 retried=0 failed=0 abandoned=0 lost=0\n"
    assert sorted(m.rcpt_tos[0] for m in smtp_server.messages) == [
        "one@example.org", "two@example.org"]


def test_work_refuses_to_start_without_any_sender(app: Flask, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(app.config, "SMTP_HOST", None)
    monkeypatch.setitem(app.config, "SMS_GATEWAY_URL", None)

    result = app.test_cli_runner().invoke(args=["notify", "work", "--once"])

    assert result.exit_code == 1
    assert "no sender configured" in result.output


@pytest.mark.parametrize(("setting", "value", "error"), [
    ("SMS_GATEWAY_URL", "http://sms.example.org/send", "must use https"),
    ("NOTIFY_LEASE_SECONDS", 10.0, "NOTIFY_LEASE_SECONDS must be at least 4 times"),
])
def test_work_refuses_an_unsafe_configuration(notify_app: Flask, monkeypatch: pytest.MonkeyPatch,
                                              setting: str, value: object, error: str):
    monkeypatch.setitem(notify_app.config, setting, value)

    result = notify_app.test_cli_runner().invoke(args=["notify", "work", "--once"])

    assert result.exit_code == 1
    assert error in result.output


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_work_runs_until_a_signal_then_stops_cleanly(notify_app: Flask, db_session: Session,
                                                     smtp_server: SmtpServer, signum: int):
    queue_email(db_session, "loop@example.org")
    before = signal.getsignal(signum)

    def stop_when_sent() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not smtp_server.messages:
            time.sleep(0.01)
        # Only ever to the worker's handler: the default one would end the test run.
        if signal.getsignal(signum) is not before:
            os.kill(os.getpid(), signum)

    killer = threading.Thread(target=stop_when_sent)
    killer.start()
    try:
        result = notify_app.test_cli_runner().invoke(
            args=["notify", "work", "--interval", "0.05"])
    finally:
        killer.join()

    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[-1] == "notify: stopped"
    assert [m.rcpt_tos for m in smtp_server.messages] == [["loop@example.org"]]
    assert signal.getsignal(signum) is before
