"""The throttle's schedule, keys and pruning (its effect on the pages: test_signin.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import db
from app.accounts import errors, throttle
from app.accounts.models import Throttle


def test_the_schedule() -> None:
    assert [throttle.delay(n).total_seconds() for n in range(12)] == [
        0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 900, 900]


def test_keys_are_keyed_and_per_purpose() -> None:
    one = throttle.key("s" * 32, throttle.SIGN_IN, "7500000005")
    assert len(one) == 64 and "7500000005" not in one
    assert one != throttle.key("s" * 32, throttle.ACTIVATE, "7500000005")
    assert one != throttle.key("t" * 32, throttle.SIGN_IN, "7500000005")


def test_acquire_counts_and_refuses(db_session: Session) -> None:
    now = db.utcnow()
    for _ in range(3):
        row = throttle.acquire(db_session, "k" * 64, now)
        throttle.failed(row, now)
    db_session.flush()
    with pytest.raises(errors.Throttled) as refused:
        throttle.acquire(db_session, "k" * 64, now)
    assert refused.value.retry_after == 1
    row = throttle.acquire(db_session, "k" * 64, now + timedelta(seconds=1))
    assert row.failures == 3
    throttle.succeeded(db_session, row)
    assert db_session.get(Throttle, "k" * 64) is None


def test_prune_forgets_only_what_no_longer_slows_anyone(db_session: Session) -> None:
    now = db.utcnow()
    old = now - timedelta(days=2)
    db_session.add_all([
        Throttle(key="a" * 64, failures=2, last_failure_at=old, locked_until=None),
        Throttle(key="b" * 64, failures=10, last_failure_at=old,
                 locked_until=now + timedelta(minutes=5)),
        Throttle(key="c" * 64, failures=2, last_failure_at=now, locked_until=None),
    ])
    db_session.flush()
    assert throttle.prune(db_session, now) == 1
    assert sorted(db_session.scalars(select(Throttle.key))) == ["b" * 64, "c" * 64]
