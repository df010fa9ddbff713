"""The three questions with a person-bound token: the consent names the person, not the body."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from app.journal import entries
from app.journal.models import JournalEntry
from consent import ledger
from consent.models import Method
from schemas import lookups
from tests import factories

STATUS = "/v1/protection-status"
RECIPIENT = {"recipient": factories.SIRET_TRANSPORT}


def ask(client, token, body, path=STATUS):  # type: ignore[no-untyped-def]
    return client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})


def journal(db_session):  # type: ignore[no-untyped-def]
    return db_session.scalars(select(JournalEntry).order_by(JournalEntry.id)).all()


@pytest.fixture()
def refugee(db_session):  # type: ignore[no-untyped-def]
    return factories.person(db_session, protections=[("refugee", date(2021, 3, 2), None)])


@pytest.fixture()
def website(db_session):  # type: ignore[no-untyped-def]
    return factories.partner(db_session, {"protection_status": True, "civil_status": True})


def give(db_session, person, partner, scopes=("protection_status",), days=1,  # type: ignore[no-untyped-def]
         granted_at=None):
    now = granted_at or datetime.now(UTC) - timedelta(seconds=1)
    consent = ledger.give(db_session, person_id=person.id, partner_id=partner.id,
                          scopes=list(scopes), purpose="Tests", granted_at=now,
                          expires_at=now + timedelta(days=days),
                          method=Method.AUTHORIZATION_CODE, collected_by="person")
    db_session.commit()
    return consent


@pytest.fixture()
def bound(mint, db_session, refugee, website):  # type: ignore[no-untyped-def]
    """make(scopes="protection_status", consent=None): a token bound to the refugee's consent."""

    def make(scopes: str = "protection_status", consent=None, **claims):  # type: ignore[no-untyped-def]
        consent = consent or give(db_session, refugee, website, scopes.split())
        return mint(website.client_id, scopes, sub="pairwise-pseudonym", consent_id=consent.id,
                    **claims), consent

    return make


def test_the_answer_is_about_the_consents_person(app, client, db_session, refugee, website,
                                                 bound):
    factories.person(db_session, protections=[("stateless", date(2019, 1, 1), None)])
    token, consent = bound()
    response = ask(client, token, RECIPIENT)
    assert response.status_code == 200, response.json
    assert (response.json["protected"], response.json["protection"],
            response.json["protected_since"]) == (True, "refugee", "2021-03-02")
    [entry] = journal(db_session)
    assert (entry.outcome, entry.basis, entry.consent_id, entry.person_id, entry.partner_id,
            entry.habilitation_id, entry.recipient) == \
        ("found", "consent", consent.id, refugee.id, website.id, website.habilitations[0].id,
         factories.SIRET_TRANSPORT)
    assert entry.subject_key == entries.pseudonym(app.config["PSEUDONYM_KEY"],
                                                  f"protection_status|consent:{consent.id}")


def test_civil_status_for_the_person_of_the_token(client, db_session, website, mint):
    person = factories.person(db_session, birth_name="Haddad", given_names=["Lina"],
                              civil_status_file=("established", date(2024, 1, 2),
                                                 date(2024, 4, 2), date(2024, 3, 1)))
    consent = give(db_session, person, website, ["civil_status"])
    token = mint(website.client_id, "civil_status", sub="x", consent_id=consent.id)
    response = ask(client, token, RECIPIENT, path="/v1/civil-status")
    assert response.status_code == 200, response.json
    assert response.json["established"] is True
    assert (response.json["identity"]["birth_name"], response.json["identity"]["given_names"],
            response.json["family"]) == ("Haddad", ["Lina"], [])


@pytest.mark.parametrize("identifier", [
    {"ofpra_number": "900100000001"}, {"agdref_number": "7600000001"},
    {"birth_date": "1990-05-17"}, {"birth_name": "Testperson"}, {"given_names": ["Amina"]},
    {"agdref_number": "7600000001", "birth_date": "1990-05-17"},
])
def test_identifiers_in_the_body_are_refused(client, db_session, bound, identifier):
    token, _consent = bound()
    response = ask(client, token, {**RECIPIENT, **identifier})
    assert response.status_code == 422
    assert response.json["code"] == "invalid_request"
    [field] = response.json["errors"]
    assert field in identifier
    assert "send only recipient" in " ".join(response.json["errors"][field])
    assert journal(db_session) == []


def test_the_recipient_is_still_required(client, bound):
    token, _consent = bound()
    response = ask(client, token, {})
    assert response.status_code == 422
    assert "recipient" in response.json["errors"]


def test_client_credentials_tokens_still_must_identify_someone(client, db_session, website,
                                                              refugee, mint, bound):
    person_token, _consent = bound()
    assert ask(client, person_token, RECIPIENT).status_code == 200
    # The person-bound rule lasted one request: a machine token must still name a person.
    machine = mint(website.client_id, "protection_status")
    response = ask(client, machine, RECIPIENT)
    assert response.status_code == 422
    assert "ofpra_number" in response.json["errors"]
    give(db_session, refugee, website)
    response = ask(client, machine, {**RECIPIENT, "ofpra_number": refugee.ofpra_number})
    assert response.status_code == 200, response.json


def test_the_schema_rule_holds_only_inside_person_bound():
    schema = lookups.PersonLookupSchema()
    assert schema.validate(RECIPIENT) != {}
    with lookups.person_bound(True):
        assert schema.validate(RECIPIENT) == {}
        assert "ofpra_number" in schema.validate({**RECIPIENT, "ofpra_number": "900100000001"})
    assert schema.validate(RECIPIENT) != {}


def test_a_withdrawn_consent_is_refused_on_the_next_call(client, db_session, refugee, bound):
    token, consent = bound()
    assert ask(client, token, RECIPIENT).status_code == 200
    ledger.withdraw(db_session, consent.id, at=datetime.now(UTC), actor="person")
    db_session.commit()
    response = ask(client, token, RECIPIENT)
    assert response.status_code == 403
    assert response.json["code"] == "consent_required"
    refusal = journal(db_session)[-1]
    assert (refusal.outcome, refusal.basis, refusal.consent_id, refusal.person_id) == \
        ("refused:consent_required", None, None, refugee.id)


def test_an_expired_consent_is_refused(client, db_session, refugee, website, bound):
    consent = give(db_session, refugee, website, days=1,
                   granted_at=datetime.now(UTC) - timedelta(days=1, seconds=5))
    token, _ = bound(consent=consent)
    response = ask(client, token, RECIPIENT)
    assert response.status_code == 403
    assert response.json["code"] == "consent_required"


def test_the_consent_expires_while_the_token_lives(client, db_session, refugee, website, mint):
    consent = give(db_session, refugee, website, days=1)
    token = mint(website.client_id, "protection_status", sub="x", consent_id=consent.id,
                 exp=int((consent.expires_at + timedelta(minutes=1)).timestamp()))
    with time_machine.travel(consent.expires_at - timedelta(seconds=30), tick=False):
        assert ask(client, token, RECIPIENT).status_code == 200
    with time_machine.travel(consent.expires_at + timedelta(seconds=1), tick=False):
        response = ask(client, token, RECIPIENT)
    assert (response.status_code, response.json["code"]) == (403, "consent_required")


def test_another_partners_consent_does_not_serve(client, db_session, refugee, website, mint):
    other = factories.partner(db_session, {"protection_status": True})
    consent = give(db_session, refugee, other)
    token = mint(website.client_id, "protection_status", sub="x", consent_id=consent.id)
    response = ask(client, token, RECIPIENT)
    assert (response.status_code, response.json["code"]) == (403, "consent_required")
    # Nothing ties the refusal to the other partner's person.
    assert journal(db_session)[-1].person_id is None


def test_a_consent_for_another_scope_does_not_serve(client, db_session, refugee, website,
                                                   mint):
    consent = give(db_session, refugee, website, ["civil_status"])
    token = mint(website.client_id, "protection_status", sub="x", consent_id=consent.id)
    response = ask(client, token, RECIPIENT)
    assert (response.status_code, response.json["code"]) == (403, "consent_required")


def test_a_legal_basis_does_not_stand_in_for_the_tokens_consent(client, db_session, refugee,
                                                                mint):
    transport = factories.partner(db_session, {"protection_status": False})
    consent = ledger.give(db_session, person_id=refugee.id, partner_id=transport.id,
                          scopes=["protection_status"], purpose="Tests",
                          granted_at=datetime.now(UTC) - timedelta(days=2),
                          expires_at=datetime.now(UTC) - timedelta(days=1),
                          method=Method.AUTHORIZATION_CODE, collected_by="person")
    db_session.commit()
    token = mint(transport.client_id, "protection_status", sub="x", consent_id=consent.id)
    response = ask(client, token, RECIPIENT)
    assert (response.status_code, response.json["code"]) == (403, "consent_required")


def test_an_unknown_consent_is_refused(client, db_session, website, mint):
    token = mint(website.client_id, "protection_status", sub="x",
                 consent_id="00000000-0000-0000-0000-000000000000")
    response = ask(client, token, RECIPIENT)
    assert (response.status_code, response.json["code"]) == (403, "consent_required")


@pytest.mark.parametrize("consent_id", ["", 42, ["a"]])
def test_a_malformed_consent_claim_is_an_invalid_token(client, db_session, website, mint,
                                                       consent_id):
    token = mint(website.client_id, "protection_status", sub="x", consent_id=consent_id)
    response = ask(client, token, RECIPIENT)
    assert (response.status_code, response.json["code"]) == (401, "invalid_token")


def test_a_suspended_partner_gets_nothing(client, db_session, website, bound):
    token, _consent = bound()
    website.active = False
    db_session.commit()
    response = ask(client, token, RECIPIENT)
    assert (response.status_code, response.json["code"]) == (403, "partner_inactive")


def test_ledger_in_force(db_session, refugee, website):
    consent = give(db_session, refugee, website, ["protection_status", "civil_status"])
    now = datetime.now(UTC)
    assert ledger.in_force(db_session, consent_id=consent.id, partner_id=website.id,
                           scope="civil_status", at=now) == refugee.id
    assert ledger.in_force(db_session, consent_id=consent.id, partner_id=website.id,
                           scope="civil_status_progress", at=now) is None
    assert ledger.in_force(db_session, consent_id=consent.id, partner_id=website.id + 1,
                           scope="civil_status", at=now) is None
    assert ledger.in_force(db_session, consent_id=consent.id, partner_id=website.id,
                           scope="civil_status", at=consent.expires_at) is None
    assert ledger.in_force(db_session, consent_id=consent.id, partner_id=website.id,
                           scope="civil_status", at=consent.granted_at - timedelta(1)) is None
    ledger.withdraw(db_session, consent.id, at=now, actor="person")
    assert ledger.in_force(db_session, consent_id=consent.id, partner_id=website.id,
                           scope="civil_status", at=now) is None
    assert ledger.in_force(db_session, consent_id=consent.id, partner_id=website.id,
                           scope="civil_status", at=now - timedelta(seconds=1)) == refugee.id
