"""A person with an account, signed in; the CSRF token of the pages; documents to open."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.accounts.models import Account
from app.people.models import Person
from tests import factories
from tests.consents.conftest import account, sign_in
from tests.web.conftest import (  # noqa: F401 (fixtures, shared with the page tests)
    BROWSER,
    csrf_token_of,
    fetch,
)

DOCUMENTS = "/espace/documents"
STRICT_CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
              "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


@pytest.fixture()
def browser(client: FlaskClient) -> FlaskClient:
    client.environ_base["HTTP_ACCEPT"] = BROWSER
    return client


@pytest.fixture()
def asylum_seeker(db_session: Session) -> Person:
    return factories.person(db_session, ofpra_number=None,
                            protections=[], civil_status_file=None,
                            postal_address="12 rue des Lilas\n35000 RENNES")


@pytest.fixture()
def signed_in(browser: FlaskClient, db_session: Session, asylum_seeker: Person) -> Account:
    """The asylum seeker, signed in, reading the pages in French."""
    made = account(db_session, asylum_seeker)
    sign_in(browser, made)
    return made


@pytest.fixture()
def other_person(db_session: Session) -> Person:
    return factories.person(db_session, birth_name="Autreperson", given_names=["Yonas"],
                            birth_date=date(1985, 1, 2))


@contextmanager
def at(client: FlaskClient, made: Account, moment: datetime) -> Iterator[None]:
    """Travel to `moment` (its zone becomes the process's, when a ZoneInfo), signed in then:
    a session is only valid from the time it was signed in."""
    with time_machine.travel(moment, tick=False):
        sign_in(client, made)
        yield
