"""A SPADA with a worker whose password is set, people domiciled with it, signing in."""

from __future__ import annotations

import time
from datetime import date

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.accounts import passwords
from app.people.models import Person
from app.support import services
from app.support.models import Domiciliation, StaffAccount, StructureKind, SupportStructure
from tests import factories
from tests.web.conftest import (  # noqa: F401 (fixtures, shared with the page tests)
    BROWSER,
    csrf_token_of,
    fetch,
)

STAFF_PASSWORD = "la boussole du quai nord"  # noqa: S105 (a test password)
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
SUPPORT = "/accompagnement"
STRICT_CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
              "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "HASHER", CHEAP)


@pytest.fixture()
def browser(client: FlaskClient) -> FlaskClient:
    client.environ_base["HTTP_ACCEPT"] = BROWSER
    return client


@pytest.fixture()
def staff_service(app: Flask, db_session: Session) -> services.Staff:
    return services.Staff(db_session, app.config["SECRET_KEY"])


@pytest.fixture()
def spada(db_session: Session) -> SupportStructure:
    made = SupportStructure(name="SPADA de Rennes", kind=StructureKind.SPADA, city="Rennes")
    db_session.add(made)
    db_session.flush()
    return made


@pytest.fixture()
def worker(staff_service: services.Staff, spada: SupportStructure) -> StaffAccount:
    staff = staff_service.add_staff(spada.id, "Claire.Martin@spada-rennes.example.org",
                                    "Claire Martin")
    staff_service.set_password(staff_service.link_token(staff), STAFF_PASSWORD)
    return staff


def staff_sign_in(client: FlaskClient, staff: StaffAccount) -> None:
    with client.session_transaction() as session:
        now = int(time.time())
        session.update(staff_id=staff.id, staff_generation=staff.session_generation,
                       staff_seen=now, staff_since=now)


@pytest.fixture()
def followed(db_session: Session, spada: SupportStructure) -> Person:
    person = factories.person(db_session, ofpra_number=None, birth_name="Tesfaye",
                              given_names=["Abebe"], postal_address="12 rue des Lilas")
    db_session.add(Domiciliation(person_id=person.id, structure_id=spada.id,
                                 since=date(2026, 1, 5)))
    db_session.flush()
    return person
