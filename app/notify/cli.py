"""`flask notify work`: the worker that sends the outbox's alerts, for as long as it runs.

Run as many as needed, on as many machines: on PostgreSQL they never take the same message.
SIGTERM or SIGINT (Ctrl-C) stops a worker cleanly, once the message in hand is recorded.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import Flask

from app.config import ConfigurationError
from app.notify import worker as outbox_worker

logger = logging.getLogger(__name__)


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Set `stop` on SIGTERM or SIGINT while inside; the previous handlers come back after."""

    def handle(signum: int, _frame: object) -> None:
        logger.info("outbox: %s received, stopping after the message in hand",
                    signal.Signals(signum).name)
        stop.set()

    previous = {signum: signal.signal(signum, handle)
                for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def init_app(app: Flask) -> None:
    @app.cli.group("notify")
    def notify_group() -> None:
        """Alerts by e-mail and SMS: the outbox and its worker."""

    @notify_group.command("work")
    @click.option("--once", is_flag=True,
                  help="Send the messages due now (at most NOTIFY_BATCH), then exit.")
    @click.option("--interval", type=click.FloatRange(min=0.01), default=5.0, show_default=True,
                  help="Seconds to rest whenever the outbox is drained.")
    def work(once: bool, interval: float) -> None:
        """Send the outbox's due messages, with retries, until stopped (SIGTERM or Ctrl-C)."""
        try:
            worker = outbox_worker.Worker(app)
        except (ValueError, ConfigurationError) as error:
            raise click.ClickException(f"cannot send: {error}") from None
        if not worker.senders:
            raise click.ClickException(
                "no sender configured: set SMTP_HOST and/or SMS_GATEWAY_URL")
        channels = ", ".join(sorted(channel.value for channel in worker.senders))
        if once:
            stats = worker.run_once()
            click.echo(f"notify: {stats}")
            return
        stop = threading.Event()
        click.echo(f"notify: working ({channels}); SIGTERM or Ctrl-C to stop", err=True)
        with _stop_on_signals(stop):
            worker.run(stop, interval)
        click.echo("notify: stopped", err=True)
