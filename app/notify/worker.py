"""The notification worker: take a due message from the outbox, send it, record the outcome.

One message at a time, in three short transactions, none of them open while a message is sent:

1. **Claim.** One `UPDATE … RETURNING` takes the first due message (neither sent nor failed,
   `next_attempt_at <= now`) and leases it: `next_attempt_at = now + NOTIFY_LEASE_SECONDS`,
   `attempts + 1`. Committed at once. On PostgreSQL the row is chosen with `FOR UPDATE SKIP
   LOCKED`, so any number of workers side by side each take a different message without waiting
   for one another; on SQLite the UPDATE takes the database's write lock, which serialises the
   claims. A leased message is not due, so nobody else takes it while the lease runs.
2. **Send.** The message is read again by its id (the claim carries ids, never ORM objects),
   rendered in the person's language and handed to the SMTP relay or the SMS gateway.
3. **Record.** `sent_at`; or, after a temporary failure, the next try after an exponential
   back-off (`NOTIFY_BACKOFF_SECONDS * 2**(attempts - 1)`, at most `NOTIFY_BACKOFF_MAX_SECONDS`)
   and `last_error`; or `failed_at` and `last_error` on a permanent failure or when the
   `NOTIFY_MAX_ATTEMPTS`-th try fails. A failure is only recorded while the lease is still this
   worker's (`next_attempt_at` unchanged), so a worker that overran its lease cannot undo a newer
   try; "sent" is always recorded, since it is the truth.

Why a lease, not PostgreSQL's row lock held during the send: it works the same on SQLite, where a
write transaction left open during a slow SMTP conversation would stall every request of the
site; on PostgreSQL it keeps no transaction idle, no connection and no lock held across network
I/O, whatever the relay does. Both give the same guarantee, below; the lease only adds a wait
before the resend that follows a crash.

**Nothing is lost.** A message leaves the queue only when recorded sent or failed. A worker that
dies (or loses the database) anywhere before recording leaves the message leased; once the lease
is over, any worker takes it again. A worker that dies on every try of some message does not
loop: each claim counts as an attempt, and a message whose last lease ran out with no attempts
left is recorded failed ("abandoned").

**At least once, twice only in a narrow window.** Exactly once is impossible without a transaction
shared with the relay. A message goes out twice only if the worker dies, or loses the database,
between the relay's acceptance and the commit of "sent" (milliseconds), or if one send outlasts
the lease (which must be, and is checked to be, far longer than the senders' timeouts). Every try
of a message carries the same Message-ID (e-mail) and Idempotency-Key (SMS), so a relay or gateway
that drops repeats drops these. Claiming one message at a time keeps each lease about one send.
For "something waits in your personal space", a rare repeat is harmless; a lost alert is not.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.orm import aliased

from app import db
from app.config import ConfigurationError
from app.notify import messages, senders
from app.notify.models import Channel, OutboxMessage

logger = logging.getLogger(__name__)

_NO_SYNC = {"synchronize_session": False}


@dataclass
class Stats:
    """What one pass did, in messages."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    # Recorded failed because their last lease ran out: a worker died on every try.
    abandoned: int = 0
    # Outcome not recorded: the lease was lost to another worker (this one overran it).
    lost: int = 0

    def __str__(self) -> str:
        return " ".join(f"{field.name}={getattr(self, field.name)}" for field in fields(self))


@dataclass(frozen=True)
class Policy:
    max_attempts: int
    backoff: timedelta
    backoff_max: timedelta
    lease: timedelta
    batch: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Policy:
        return cls(max_attempts=int(config["NOTIFY_MAX_ATTEMPTS"]),
                   backoff=timedelta(seconds=float(config["NOTIFY_BACKOFF_SECONDS"])),
                   backoff_max=timedelta(seconds=float(config["NOTIFY_BACKOFF_MAX_SECONDS"])),
                   lease=timedelta(seconds=float(config["NOTIFY_LEASE_SECONDS"])),
                   batch=int(config["NOTIFY_BATCH"]))

    def retry_at(self, now: datetime, attempts: int) -> datetime:
        """Return when to try again after the `attempts`-th try failed at `now`."""
        return now + min(self.backoff * 2 ** max(attempts - 1, 0), self.backoff_max)


@dataclass(frozen=True)
class Claim:
    """A leased message: its id, which try this is, and the lease (this claim's token)."""

    id: int
    attempts: int
    lease_until: datetime


class _Sent:
    pass


class _Lost:
    pass


SENT = _Sent()
LOST = _Lost()
Outcome = _Sent | _Lost | senders.DeliveryFailure


def configured_senders(config: Mapping[str, Any]) -> dict[Channel, senders.Sender]:
    """Return a sender for each channel the settings configure (none: its messages wait)."""
    configured: dict[Channel, senders.Sender] = {}
    smtp = senders.SmtpSender.from_config(config)
    if smtp is not None:
        configured[Channel.EMAIL] = smtp
    sms = senders.SmsGatewaySender.from_config(config)
    if sms is not None:
        configured[Channel.SMS] = sms
    return configured


def _due(message: Any, now: datetime) -> ColumnElement[bool]:
    """Neither sent nor failed, and its time has come (`message`: the entity or an alias)."""
    return and_(message.sent_at.is_(None), message.failed_at.is_(None),
                message.next_attempt_at <= now)


class Worker:
    """Sends the outbox of one application, through its configured senders."""

    def __init__(self, app: Flask,
                 channels: Mapping[Channel, senders.Sender] | None = None) -> None:
        self.app = app
        self.policy = Policy.from_config(app.config)
        self.senders = dict(configured_senders(app.config) if channels is None else channels)
        self.public_url = str(app.config["PUBLIC_URL"]).rstrip("/") + "/"
        longest = max(float(app.config["SMTP_TIMEOUT"]), float(app.config["SMS_GATEWAY_TIMEOUT"]))
        # An SMTP conversation is several exchanges, each allowed the whole timeout.
        if self.policy.lease < timedelta(seconds=4 * longest):
            raise ConfigurationError(
                "NOTIFY_LEASE_SECONDS must be at least 4 times the senders' timeouts, or a slow "
                "send could outlive its lease and be sent twice")
        if self.policy.max_attempts < 1:
            raise ConfigurationError("NOTIFY_MAX_ATTEMPTS must be at least 1")

    @property
    def _sessions(self) -> Any:
        # Looked up on every use: tests swap the session factory of the database.
        return self.app.extensions["ofpra.db"].sessions

    def run_once(self, now: datetime | None = None, limit: int | None = None,
                 stop: threading.Event | None = None) -> Stats:
        """Handle up to `limit` due messages (NOTIFY_BATCH); return what was done.

        `now` is the time of every step (tests); by default the clock is read at each step, so
        that each lease starts when its claim is made. Stops early, between two messages, when
        `stop` is set. Database errors propagate: whatever was claimed and not recorded is taken
        again when its lease ends.
        """
        clock: Callable[[], datetime] = (lambda: now) if now is not None else db.utcnow
        limit = self.policy.batch if limit is None else limit
        stats = Stats()
        with self.app.app_context():
            stats.abandoned = self.abandon(clock())
            while stats.claimed < limit and not (stop is not None and stop.is_set()):
                claim = self.claim(clock())
                if claim is None:
                    break
                stats.claimed += 1
                outcome = self.deliver(claim, clock())
                self.record(claim, outcome, clock(), stats)
        return stats

    def run(self, stop: threading.Event, interval: float) -> None:
        """Work until `stop` is set, resting `interval` seconds whenever the outbox is drained."""
        while not stop.is_set():
            try:
                stats = self.run_once(stop=stop)
            except Exception as error:  # the database is away: wait, and try again
                # The type only: a database error's text can quote parameters (recipients).
                logger.error("outbox: pass failed (%s), next try in %ss",
                             type(error).__name__, interval)
                stop.wait(interval)
                continue
            if stats.claimed or stats.abandoned:
                logger.info("outbox: %s", stats)
            if stats.claimed < self.policy.batch:
                stop.wait(interval)

    def abandon(self, now: datetime) -> int:
        """Record failed the due messages with no attempts left; return how many."""
        statement = (
            update(OutboxMessage)
            .where(_due(OutboxMessage, now),
                   OutboxMessage.attempts >= self.policy.max_attempts)
            .values(failed_at=now, last_error="abandoned: no try left, the last one never ended")
            .returning(OutboxMessage.id)
        )
        with self._sessions() as session:
            ids = session.scalars(statement, execution_options=_NO_SYNC).all()
            session.commit()
        for message_id in ids:
            logger.error("outbox message %s abandoned", message_id)
        return len(ids)

    def claim(self, now: datetime) -> Claim | None:
        """Lease the first due message for NOTIFY_LEASE_SECONDS and commit; None if none is due.

        Only messages of a channel with a sender are taken: the others wait, untried.
        """
        if not self.senders:
            return None
        candidate = aliased(OutboxMessage)
        first_due = (
            select(candidate.id)
            .where(_due(candidate, now),
                   candidate.attempts < self.policy.max_attempts,
                   candidate.channel.in_(list(self.senders)))
            .order_by(candidate.next_attempt_at, candidate.id)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        lease_until = now + self.policy.lease
        statement = (
            update(OutboxMessage)
            .where(OutboxMessage.id == first_due)
            .values(attempts=OutboxMessage.attempts + 1, next_attempt_at=lease_until)
            .returning(OutboxMessage.id, OutboxMessage.attempts)
        )
        with self._sessions() as session:
            row = session.execute(statement, execution_options=_NO_SYNC).one_or_none()
            session.commit()
        if row is None:
            return None
        return Claim(id=row.id, attempts=row.attempts, lease_until=lease_until)

    def deliver(self, claim: Claim, now: datetime) -> Outcome:
        """Read the claimed message by id, render it and send it; return the outcome."""
        with self._sessions() as session:
            message = session.get(OutboxMessage, claim.id)
            if message is None or message.sent_at is not None or message.failed_at is not None \
                    or message.next_attempt_at != claim.lease_until:
                return LOST
            channel, recipient = message.channel, message.recipient
            name, language, context = message.template, message.language, dict(message.context)
            key = f"ofpra-connect.outbox.{message.id}.{message.created_at:%Y%m%d%H%M%S%f}"
            created_at = message.created_at
        try:
            lifetime = messages.lifetime(name, context)
            if lifetime is not None and now > created_at + lifetime:
                return senders.PermanentFailure("expired before it could be sent")
            rendered = messages.render(name, language, context, public_url=self.public_url,
                                       email=channel is Channel.EMAIL)
        except messages.TemplateError as error:
            return senders.PermanentFailure(f"cannot render: {error}")
        outgoing = senders.Outgoing(key=key, recipient=recipient, subject=rendered.subject,
                                    text=rendered.text)
        try:
            self.senders[channel].send(outgoing)
        except senders.DeliveryFailure as failure:
            return failure
        except Exception as error:  # a sender's bug: tried again, up to NOTIFY_MAX_ATTEMPTS
            return senders.TemporaryFailure(f"unexpected {type(error).__name__}")
        return SENT

    def record(self, claim: Claim, outcome: Outcome, now: datetime, stats: Stats) -> None:
        """Record the outcome of a claim, and count it in `stats`."""
        if isinstance(outcome, _Lost):
            stats.lost += 1
            logger.warning("outbox message %s: lease lost before sending", claim.id)
            return
        if isinstance(outcome, _Sent):
            stats.sent += 1
            recorded = self._update(
                claim.id, OutboxMessage.sent_at.is_(None), sent_at=now, failed_at=None)
            if recorded:
                logger.info("outbox message %s sent (try %s)", claim.id, claim.attempts)
            else:
                logger.warning("outbox message %s sent, already recorded sent: sent twice",
                               claim.id)
            return
        ours = and_(OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None),
                    OutboxMessage.next_attempt_at == claim.lease_until)
        if outcome.permanent or claim.attempts >= self.policy.max_attempts:
            recorded = self._update(claim.id, ours, failed_at=now, last_error=outcome.reason)
            what = "failed"
            stats.failed += recorded
        else:
            retry_at = self.policy.retry_at(now, claim.attempts)
            recorded = self._update(claim.id, ours, next_attempt_at=retry_at,
                                    last_error=outcome.reason)
            what = f"will be tried again at {retry_at:%Y-%m-%dT%H:%M:%SZ}"
            stats.retried += recorded
        if recorded:
            logger.warning("outbox message %s: try %s %s: %s", claim.id, claim.attempts,
                           what, outcome.reason)
        else:
            stats.lost += 1
            logger.warning("outbox message %s: lease lost, outcome not recorded", claim.id)

    def _update(self, message_id: int, condition: ColumnElement[bool], **values: Any) -> bool:
        statement = (
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, condition)
            .values(**values)
            .returning(OutboxMessage.id)
        )
        with self._sessions() as session:
            done = session.scalars(statement, execution_options=_NO_SYNC).first() is not None
            session.commit()
        return done


def work_once(app: Flask, now: datetime | None = None, limit: int | None = None) -> Stats:
    """Send the messages due at `now` (default: the clock), at most `limit`; return the stats.

    Takes the application, not only its database: messages are rendered with its translations
    and sent through the senders its settings configure.
    """
    return Worker(app).run_once(now=now, limit=limit)
