"""Partners ask for consent: POST /v1/consent-requests and GET /v1/consent-requests/{id}."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.journal.models import JournalEntry
from app.notify.models import OutboxMessage
from consent.models import ConsentRequest, RequestState
from tests import factories
from tests.consents.conftest import account, partner

REQUESTS = "/v1/consent-requests"


def call(client, token, body=None, path=REQUESTS):
    headers = {"Authorization": f"Bearer {token}"}
    if body is None:
        return client.get(path, headers=headers)
    return client.post(path, json=body, headers=headers)


def asking(person, **changes):
    body = {"ofpra_number": person.ofpra_number, "recipient": factories.SIRET_SCHOOL,
            "scopes": ["civil_status_progress"], "purpose": "Inscription de Noah en CP",
            "duration_days": 90}
    body.update(changes)
    return body


def rows(db_session, model):
    db_session.expire_all()
    return db_session.scalars(select(model).order_by(model.id)).all()


@pytest.fixture()
def school_token(mint, school):
    return mint(school.client_id, "civil_status_progress")


def test_a_request_is_created_pending_journaled_and_announced(client, db_session, refugee,
                                                              school, school_token) -> None:
    account(db_session, refugee, language="en", email="amina@example.org",
            email_verified_at=datetime.now(UTC), phone="+33612345678")  # phone not verified
    before = datetime.now(UTC)
    response = call(client, school_token, asking(refugee))
    assert response.status_code == 201, response.json
    body = response.json
    assert set(body) == {"id", "state", "scopes", "purpose", "duration_days", "requested_at",
                         "expires_at", "answered_at", "consent_id"}
    assert (body["state"], body["scopes"], body["purpose"], body["duration_days"]) == \
        ("pending", ["civil_status_progress"], "Inscription de Noah en CP", 90)
    assert body["answered_at"] is None and body["consent_id"] is None
    requested = datetime.fromisoformat(body["requested_at"])
    assert before <= requested <= datetime.now(UTC)
    assert datetime.fromisoformat(body["expires_at"]) - requested == timedelta(days=14)
    assert response.headers["Location"] == f"{REQUESTS}/{body['id']}"

    [stored] = rows(db_session, ConsentRequest)
    assert (stored.id, stored.person_id, stored.partner_id, stored.state) == \
        (body["id"], refugee.id, school.id, RequestState.PENDING)
    [entry] = rows(db_session, JournalEntry)
    assert (entry.scope, entry.outcome, entry.person_id, entry.partner_id, entry.basis,
            entry.consent_id, entry.recipient) == \
        ("consent_request", "consent_requested", refugee.id, school.id, None, None,
         factories.SIRET_SCHOOL)
    assert entry.habilitation_id == school.habilitations[0].id
    assert refugee.ofpra_number not in entry.subject_key
    # Verified contacts only, and nothing in the message about who asks.
    [message] = rows(db_session, OutboxMessage)
    assert (message.channel.value, message.recipient, message.template, message.language,
            message.context, message.person_id) == \
        ("email", "amina@example.org", "consent_request", "en", {}, refugee.id)


def test_a_partner_cannot_flood_the_person_with_alerts(client, db_session, refugee, school,
                                                       mint, school_token) -> None:
    caf = partner(db_session, "CAF", {"civil_status_progress": 30})
    account(db_session, refugee, phone="+33612345678", phone_verified_at=datetime.now(UTC))
    assert call(client, school_token, asking(refugee)).status_code == 201
    assert call(client, school_token, asking(refugee, duration_days=30)).status_code == 201
    caf_token = mint(caf.client_id, "civil_status_progress")
    assert call(client, caf_token, asking(refugee, duration_days=30)).status_code == 201
    assert len(rows(db_session, ConsentRequest)) == 3
    # One alert says "something waits": the person sees all three requests there.
    [message] = rows(db_session, OutboxMessage)
    assert (message.channel.value, message.recipient) == ("sms", "+33612345678")


def test_no_account_no_alert(client, db_session, refugee, school_token) -> None:
    assert call(client, school_token, asking(refugee)).status_code == 201
    assert rows(db_session, OutboxMessage) == []


def test_not_found_and_ambiguous_answer_as_the_questions_do(client, db_session, school,
                                                            mint) -> None:
    factories.person(db_session, agdref_number="7622222222", birth_date=date(1990, 1, 1))
    factories.person(db_session, agdref_number="7622222222", birth_date=date(1990, 1, 1),
                     given_names=["Ali"])
    token = mint(school.client_id, "civil_status_progress")
    lookups = {
        "ambiguous": {"agdref_number": "7622222222", "birth_date": "1990-01-01"},
        "wrong date": {"agdref_number": "7622222222", "birth_date": "1990-01-02"},
        "nobody": {"agdref_number": "7699999999", "birth_date": "1990-01-01"},
    }
    strip = ("instance",)
    for lookup in lookups.values():
        body = {"recipient": factories.SIRET_SCHOOL, **lookup}
        request = call(client, token, {**body, "scopes": ["civil_status_progress"],
                                       "purpose": "p", "duration_days": 30})
        question = client.post("/v1/civil-status-progress", json=body,
                               headers={"Authorization": f"Bearer {token}"})
        assert request.status_code == question.status_code in (404, 409)
        assert request.mimetype == "application/problem+json"
        assert {k: v for k, v in request.json.items() if k not in strip} == \
            {k: v for k, v in question.json.items() if k not in strip}
    assert rows(db_session, ConsentRequest) == []
    requests = [entry for entry in rows(db_session, JournalEntry)
                if entry.scope == "consent_request"]
    assert [entry.outcome for entry in requests] == ["ambiguous", "not_found", "not_found"]
    assert all(entry.person_id is None for entry in requests)


def test_the_token_must_carry_one_of_the_scopes_asked(client, db_session, refugee, school,
                                                      mint) -> None:
    assert client.post(REQUESTS, json=asking(refugee)).status_code == 401
    # No question's scope at all: refused before the body is even read.
    response = client.post(REQUESTS, data="not json", content_type="application/json",
                           headers={"Authorization": f"Bearer {mint(school.client_id, '')}"})
    assert response.status_code == 403 and response.json["code"] == "insufficient_scope"
    other = mint(school.client_id, "protection_status")
    response = call(client, other, asking(refugee))
    assert response.status_code == 403 and response.json["code"] == "insufficient_scope"
    # One of the scopes asked is enough.
    both = asking(refugee, scopes=["civil_status_progress", "protection_status"])
    assert call(client, other, both).status_code == 201
    assert rows(db_session, ConsentRequest)[0].scopes == \
        "civil_status_progress protection_status"


@pytest.mark.parametrize(("changes", "status", "code", "detail"), [
    ({"scopes": ["civil_status"]}, 403, "scope_not_granted",
     "The partner's habilitation does not grant civil_status."),
    ({"scopes": ["civil_status_progress", "protection_status"], "duration_days": 101}, 422,
     "duration_too_long", "The habilitation allows a consent of at most 100 days for "
                          "civil_status_progress and protection_status."),
    ({"duration_days": 366}, 422, "duration_too_long",
     "The habilitation allows a consent of at most 365 days for civil_status_progress."),
])
def test_the_habilitation_limits_what_may_be_asked(client, db_session, refugee, school, mint,
                                                   changes, status, code, detail) -> None:
    token = mint(school.client_id, "civil_status civil_status_progress protection_status")
    response = call(client, token, asking(refugee, **changes))
    assert response.status_code == status
    assert (response.json["code"], response.json["detail"]) == (code, detail)
    if code == "duration_too_long":
        assert response.json["errors"] == {"duration_days": [detail]}
    assert rows(db_session, ConsentRequest) == []
    [entry] = rows(db_session, JournalEntry)
    assert entry.outcome == f"refused:{code}" and entry.person_id is None


def test_a_scope_answered_on_the_legal_basis_needs_no_consent(client, db_session, refugee,
                                                              mint) -> None:
    bus = partner(db_session, "Bus", {"protection_status": None})
    response = call(client, mint(bus.client_id, "protection_status"),
                    asking(refugee, scopes=["protection_status"]))
    assert response.status_code == 422
    assert response.json["code"] == "consent_not_required"
    assert response.json["errors"] == {"scopes": [
        "protection_status is answered on the partner's legal basis; no consent is asked."]}


def test_an_ended_habilitation_or_an_inactive_partner_may_not_ask(client, db_session, refugee,
                                                                  mint) -> None:
    old = partner(db_session, "Ancienne", {"civil_status_progress": 30},
                  valid_until=date(2024, 12, 31))
    asleep = partner(db_session, "En sommeil", {"civil_status_progress": 30}, active=False)
    for made, code in ((old, "habilitation_not_in_force"), (asleep, "partner_inactive")):
        response = call(client, mint(made.client_id, "civil_status_progress"),
                        asking(refugee, duration_days=30))
        assert response.status_code == 403 and response.json["code"] == code
    assert rows(db_session, ConsentRequest) == []


@pytest.mark.parametrize(("changes", "field"), [
    ({"scopes": []}, "scopes"),
    ({"scopes": ["nationality"]}, "scopes"),
    ({"scopes": ["civil_status_progress", "civil_status_progress"]}, "scopes"),
    ({"duration_days": 0}, "duration_days"),
    ({"purpose": ""}, "purpose"),
    ({"recipient": "77568406300017"}, "recipient"),
])
def test_invalid_bodies_name_the_field(client, db_session, refugee, school_token, changes,
                                       field) -> None:
    response = call(client, school_token, asking(refugee, **changes))
    assert response.status_code == 422
    assert response.json["code"] == "invalid_request"
    assert field in response.json["errors"]
    assert rows(db_session, JournalEntry) == []


def test_only_the_requesting_partner_reads_the_request(client, db_session, refugee, school,
                                                       mint, school_token) -> None:
    nosy = partner(db_session, "Curieuse", {"civil_status_progress": 30})
    created = call(client, school_token, asking(refugee)).json
    path = f"{REQUESTS}/{created['id']}"
    read = call(client, school_token, path=path)
    assert read.status_code == 200
    assert read.json == created
    other = call(client, mint(nosy.client_id, "civil_status_progress"), path=path)
    unknown = call(client, school_token, path=f"{REQUESTS}/{uuid.uuid4()}")
    for response in (other, unknown):
        assert response.status_code == 404
        assert response.json["code"] == "no_such_request"
        assert created["id"] not in str(response.json.get("detail"))
    assert client.get(path).status_code == 401


def test_an_unanswered_request_reads_expired_without_being_rewritten(client, db_session,
                                                                     refugee, school,
                                                                     school_token) -> None:
    now = datetime.now(UTC)
    lapsed = ConsentRequest(partner_id=school.id, person_id=refugee.id,
                            scopes="civil_status_progress", purpose="p", duration_days=30,
                            requested_at=now - timedelta(days=15),
                            expires_at=now - timedelta(days=1))
    db_session.add(lapsed)
    db_session.flush()
    response = call(client, school_token, path=f"{REQUESTS}/{lapsed.id}")
    assert response.json["state"] == "expired" and response.json["answered_at"] is None
    assert rows(db_session, ConsentRequest)[0].state is RequestState.PENDING


def test_the_answer_period_is_configurable(app, client, refugee, school_token,
                                           monkeypatch) -> None:
    monkeypatch.setitem(app.config, "CONSENT_REQUEST_DAYS", 3)
    body = call(client, school_token, asking(refugee)).json
    assert datetime.fromisoformat(body["expires_at"]) - \
        datetime.fromisoformat(body["requested_at"]) == timedelta(days=3)


def test_the_openapi_document_describes_consent_requests(client) -> None:
    spec = client.get("/openapi.json").json
    create = spec["paths"][REQUESTS]["post"]
    assert create["security"] == [{"oauth2": ["protection_status"]},
                                  {"oauth2": ["civil_status_progress"]},
                                  {"oauth2": ["civil_status"]}]
    assert {"201", "401", "403", "404", "409", "422", "429", "503"} <= set(create["responses"])
    schema = spec["components"]["schemas"]["ConsentRequestCreate"]
    assert {"ofpra_number", "agdref_number", "birth_date", "recipient", "scopes", "purpose",
            "duration_days"} <= set(schema["properties"])
    read = spec["paths"][REQUESTS + "/{request_id}"]["get"]
    assert {"200", "401", "404"} <= set(read["responses"])
    state = spec["components"]["schemas"]["ConsentRequest"]["properties"]["state"]
    assert state["enum"] == ["pending", "accepted", "declined", "expired"]
