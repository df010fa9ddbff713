"""Failures per identifier: slow down, then lock, without saying whether the identifier exists.

A throttle row is keyed by HMAC(SECRET_KEY, "<purpose>:<normalised identifier>"): it exists as
much for identifiers nobody has as for real ones, and says nothing of which. After
FREE_FAILURES failures each attempt waits 2^(n - FREE_FAILURES) seconds (at most MAX_WAIT);
after LOCK_AFTER failures the identifier is locked for LOCK. A success deletes the row; a row
quiet for FORGET is forgotten (and pruned by `flask accounts prune`).

`locked_until` is "no attempt before": the short waits use it as well as the lock.

The row is read FOR UPDATE (PostgreSQL) before the password is checked, and written before the
commit: attempts on one identifier run one after the other, so parallel requests cannot slip
through the counting.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, object_session

from app.accounts.errors import Throttled
from app.accounts.models import Throttle

SIGN_IN = "signin"
ACTIVATE = "activate"
RESET = "reset"
# The current password, asked again before a sensitive change.
PASSWORD = "password"  # noqa: S105 (a purpose name, not a password)

FREE_FAILURES = 3
LOCK_AFTER = 10
MAX_WAIT = timedelta(seconds=60)
LOCK = timedelta(minutes=15)
FORGET = timedelta(hours=24)


def key(secret: str | bytes, purpose: str, identifier: str) -> str:
    """Return the throttle key of an identifier for a purpose (hex HMAC-SHA256)."""
    secret_bytes = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(secret_bytes, f"{purpose}:{identifier}".encode(),
                    hashlib.sha256).hexdigest()


def delay(failures: int) -> timedelta:
    """Return how long the next attempt waits after `failures` failures in a row."""
    if failures >= LOCK_AFTER:
        return LOCK
    if failures >= FREE_FAILURES:
        return min(timedelta(seconds=2 ** (failures - FREE_FAILURES)), MAX_WAIT)
    return timedelta(0)


def acquire(db_session: Session, throttle_key: str, now: datetime) -> Throttle:
    """Return the throttle of `throttle_key`, locked for this transaction (created if none).

    Raises Throttled if the next attempt must still wait.
    """
    db_session.flush()  # the row is read again below: nothing pending may be lost
    dialect = db_session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db_session.execute(
        insert(Throttle)
        .values(key=throttle_key, failures=0, last_failure_at=now, locked_until=None)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    row = db_session.scalars(
        select(Throttle).where(Throttle.key == throttle_key).with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if row.locked_until is not None and row.locked_until > now:
        raise Throttled(max(1, math.ceil((row.locked_until - now).total_seconds())))
    if now - row.last_failure_at > FORGET:
        row.failures = 0
    return row


def failed(row: Throttle, now: datetime) -> None:
    """Count a failure; set when the next attempt may come."""
    row.failures += 1
    row.last_failure_at = now
    wait = delay(row.failures)
    row.locked_until = now + wait if wait else None
    db_session = object_session(row)
    if db_session is not None:
        db_session.flush()


def succeeded(db_session: Session, row: Throttle) -> None:
    """Forget the failures (a success)."""
    db_session.delete(row)
    db_session.flush()


def clear(db_session: Session, throttle_keys: list[str]) -> None:
    """Forget the failures of these keys (the password was reset)."""
    db_session.execute(delete(Throttle).where(Throttle.key.in_(throttle_keys)))


def prune(db_session: Session, now: datetime) -> int:
    """Delete the throttles that no longer slow anyone down; return how many."""
    result = db_session.execute(
        delete(Throttle).where(
            Throttle.last_failure_at < now - FORGET,
            or_(Throttle.locked_until.is_(None), Throttle.locked_until <= now),
        ).execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]

