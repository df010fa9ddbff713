"""A signed-in person, partners that ask with consent, and the CSRF token of the pages."""

from __future__ import annotations

import time
import uuid
from datetime import date

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.accounts.models import Account
from app.partners.models import Habilitation, HabilitationScope, Partner, PartnerKind
from app.people.models import Person
from tests import factories
from tests.web.conftest import (  # noqa: F401 (fixtures, shared with the page tests)
    BROWSER,
    csrf_token_of,
    fetch,
)

CONSENTS = "/espace/consentements"
ACCESSES = "/espace/acces"


@pytest.fixture()
def browser(client: FlaskClient) -> FlaskClient:
    client.environ_base["HTTP_ACCEPT"] = BROWSER
    return client


@pytest.fixture()
def refugee(db_session: Session) -> Person:
    return factories.person(
        db_session, protections=[("refugee", date(2021, 3, 2), None)],
        civil_status_file=("in_progress", date(2021, 6, 1), date(2030, 6, 1)))


def account(db_session: Session, person: Person, language: str = "fr",
            **contacts: object) -> Account:
    made = Account(person_id=person.id, password_hash="not-a-real-hash", language=language,
                   **contacts)
    db_session.add(made)
    db_session.flush()
    return made


def sign_in(client: FlaskClient, made: Account) -> None:
    with client.session_transaction() as session:
        session.update(account_id=made.id, generation=made.session_generation,
                       seen=int(time.time()))


@pytest.fixture()
def signed_in(browser: FlaskClient, db_session: Session, refugee: Person) -> Account:
    """The refugee, signed in, reading the pages in French."""
    made = account(db_session, refugee)
    sign_in(browser, made)
    return made


def habilitation(db_session: Session, partner: Partner, scopes: dict[str, int | None], *,
                 legal_basis: str = "Code de l'éducation, art. L. 131-1",
                 purpose: str = "Inscription scolaire", valid_from: date = date(2020, 1, 1),
                 valid_until: date | None = None, retention_days: int = 90) -> Habilitation:
    """A habilitation of `partner`: {scope: max_consent_days}, None meaning no consent asked."""
    made = Habilitation(partner_id=partner.id, legal_basis=legal_basis,
                        legal_basis_url="https://www.legifrance.gouv.fr/codes/article_lc/X",
                        purpose=purpose, retention_days=retention_days,
                        valid_from=valid_from, valid_until=valid_until)
    db_session.add(made)
    db_session.flush()
    for scope, days in scopes.items():
        db_session.add(HabilitationScope(habilitation_id=made.id, scope=scope,
                                         consent_required=days is not None,
                                         max_consent_days=days))
    db_session.flush()
    return made


def partner(db_session: Session, name: str, scopes: dict[str, int | None],
            kind: PartnerKind = PartnerKind.SCHOOL, active: bool = True,
            **habilitation_values: object) -> Partner:
    """A partner named `name` with one habilitation (see `habilitation`)."""
    made = Partner(client_id=f"client-{uuid.uuid4().hex[:12]}", name=name,
                   siret=factories.SIRET_SCHOOL, kind=kind, jwks={"keys": []}, active=active)
    db_session.add(made)
    db_session.flush()
    habilitation(db_session, made, scopes, **habilitation_values)  # type: ignore[arg-type]
    return made


@pytest.fixture()
def school(db_session: Session) -> Partner:
    """A school that may ask, with consent, whether OFPRA is establishing the civil status."""
    return partner(db_session, "École Jules-Ferry", {"civil_status_progress": 365,
                                                      "protection_status": 100})


@pytest.fixture()
def token(browser: FlaskClient) -> str:
    """The CSRF token of the browser's session, from the home page."""
    _status, body, _headers = fetch(browser, "/")
    return csrf_token_of(body.decode())
