"""Fixtures of the accounts' tests: cheap hashes, people with notices, signed-in browsers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app import db
from app.accounts import passwords, services
from app.accounts.models import Account
from app.people.models import Person
from tests import factories
from tests.accounts.forms import submit

# The pages' fixtures (a browser's Accept header, compiled catalogues) and the notify tests'
# real SMTP server.
from tests.notify.conftest import smtp_server  # noqa: F401
from tests.web.conftest import browser  # noqa: F401

PASSWORD = "un chat gris sous la pluie"  # noqa: S105 (a test password)
# The same algorithm (argon2id) as in production, at a cost tests can afford.
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def agdref(account: Account) -> str:
    """The AGDREF number of the account's person (factories always give one)."""
    number = account.person.agdref_number
    assert number is not None
    return number


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "HASHER", CHEAP)


@pytest.fixture()
def accounts(app: Flask, db_session: Session) -> services.Accounts:
    return services.Accounts(db_session, app.config["SECRET_KEY"])


@pytest.fixture()
def notice_for(accounts: services.Accounts, db_session: Session
               ) -> Callable[..., tuple[Person, str]]:
    """Make a person (factories.person's fields) and a notice; return the person and key."""

    def make(now: datetime | None = None, valid_days: int = 90, **values: Any
             ) -> tuple[Person, str]:
        person = factories.person(db_session, **values)
        _notice, key = accounts.issue_notice(person, "agent-test", now or db.utcnow(),
                                             valid_days, allow_excluded=True)
        db_session.commit()
        return person, key

    return make


@pytest.fixture()
def account(accounts: services.Accounts, db_session: Session,
            notice_for: Callable[..., tuple[Person, str]]) -> Account:
    """An activated account (no contact yet), its password PASSWORD."""
    person, key = notice_for()
    created = accounts.activate(person.agdref_number or "", key, PASSWORD, db.utcnow())
    db_session.commit()
    return created


@pytest.fixture()
def signed_in(browser: FlaskClient, account: Account) -> FlaskClient:  # noqa: F811
    """The browser, signed in to `account`."""
    response = submit(browser, "/signin", {"identifier": agdref(account),
                                           "password": PASSWORD})
    assert response.status_code == 303
    return browser
