"""The person answers a partner's request for consent: accept or decline, once, in time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.db import Raw
from app.partners.services import PARIS
from app.people import repository
from consent import ledger
from consent.models import Consent, ConsentRequest, EventKind, Method, RequestState
from tests import factories
from tests.consents.conftest import CONSENTS, csrf_token_of, fetch

REQUESTS = "/v1/consent-requests"


@pytest.fixture()
def requested(client, refugee, school, mint):
    """The school asked the refugee, through the API, for 90 days of consent."""
    token = mint(school.client_id, "civil_status_progress")
    response = client.post(REQUESTS, headers={"Authorization": f"Bearer {token}"}, json={
        "ofpra_number": refugee.ofpra_number, "recipient": factories.SIRET_SCHOOL,
        "scopes": ["civil_status_progress"], "purpose": "Inscription de Noah en CP",
        "duration_days": 90})
    assert response.status_code == 201
    return {"id": response.json["id"], "token": token}


def page(client) -> str:
    status, body, _headers = fetch(client, CONSENTS)
    assert status == 200
    return body.decode()


def answer(client, request_id: str, choice: str):
    token = csrf_token_of(page(client))
    return client.post(f"{CONSENTS}/demandes", data={"csrf_token": token,
                                                    "request_id": request_id,
                                                    "answer": choice})


def stored(db_session, request_id: str) -> ConsentRequest:
    db_session.expire_all()
    found = db_session.get(ConsentRequest, request_id)
    assert found is not None
    return found


def state_for_partner(client, requested) -> dict:
    return client.get(f"{REQUESTS}/{requested['id']}",
                      headers={"Authorization": f"Bearer {requested['token']}"}).json


def test_a_waiting_request_is_shown_with_what_would_be_told(app, browser, db_session,
                                                            signed_in, refugee,
                                                            requested) -> None:
    text = page(browser)
    waiting = text.split("<h2>Demandes qui attendent votre réponse</h2>")[1].split("<h2>")[0]
    assert "École Jules-Ferry vous demande votre consentement" in waiting
    assert "Pourquoi\u00a0:</strong> Inscription de Noah en CP" in waiting
    assert "Code de l&#39;éducation, art. L. 131-1" in waiting
    expires = stored(db_session, requested["id"]).expires_at.astimezone(PARIS).date()
    assert "Si vous êtes d’accord, cela dure 3 mois. Répondez avant le " \
        f"{expires.day} " in waiting
    today = datetime.now(UTC).astimezone(PARIS).date()
    record = repository.record(Raw(db_session), "civil_status_progress", refugee.id, today)
    with app.test_request_context("/", headers={"Accept-Language": "fr"}):
        macro = app.jinja_env.get_template("site/records.html").module
        assert str(macro.record("civil_status_progress", record)) in waiting  # type: ignore[attr-defined]
    assert f'name="request_id" value="{requested["id"]}"' in waiting


def test_accepting_gives_the_consent_online_and_answers_once(browser, client, db_session,
                                                             signed_in, refugee, school,
                                                             requested) -> None:
    response = answer(browser, requested["id"], "accept")
    assert response.status_code == 303
    request = stored(db_session, requested["id"])
    assert request.state is RequestState.ACCEPTED and request.answered_at is not None
    consent = db_session.get(Consent, request.consent_id)
    assert consent is not None
    assert (consent.person_id, consent.partner_id, consent.scopes, consent.purpose,
            consent.method, consent.collected_by) == \
        (refugee.id, school.id, "civil_status_progress", "Inscription de Noah en CP",
         Method.ONLINE, "person")
    assert consent.granted_at == request.answered_at
    assert consent.expires_at - consent.granted_at == timedelta(days=90)
    assert [(e.kind, e.actor) for e in consent.events] == [(EventKind.GIVEN, "person")]
    # The partner reads the answer, and its question is now answered.
    body = state_for_partner(client, requested)
    assert (body["state"], body["consent_id"]) == ("accepted", consent.id)
    assert datetime.fromisoformat(body["answered_at"]) == request.answered_at
    question = client.post("/v1/civil-status-progress",
                           headers={"Authorization": f"Bearer {requested['token']}"},
                           json={"ofpra_number": refugee.ofpra_number,
                                 "recipient": factories.SIRET_SCHOOL})
    assert question.status_code == 200
    # Answering again changes nothing.
    answer(browser, requested["id"], "decline")
    assert stored(db_session, requested["id"]).state is RequestState.ACCEPTED
    assert "Cette demande est close" in page(browser)
    assert len(db_session.scalars(select(Consent)).all()) == 1


def test_declining_gives_nothing_and_answers_once(browser, client, db_session, signed_in,
                                                  refugee, requested) -> None:
    assert answer(browser, requested["id"], "decline").status_code == 303
    request = stored(db_session, requested["id"])
    assert request.state is RequestState.DECLINED and request.consent_id is None
    assert db_session.scalars(select(Consent)).all() == []
    text = page(browser)
    assert "Vous avez dit non. Rien n’est partagé." in text
    assert "Demandes qui attendent votre réponse" not in text
    body = state_for_partner(client, requested)
    assert (body["state"], body["consent_id"]) == ("declined", None)
    assert body["answered_at"] is not None
    answer(browser, requested["id"], "accept")
    assert stored(db_session, requested["id"]).state is RequestState.DECLINED
    assert db_session.scalars(select(Consent)).all() == []


def test_an_expired_request_can_no_longer_be_answered(browser, db_session, signed_in, refugee,
                                                      school) -> None:
    now = datetime.now(UTC)
    lapsed = ConsentRequest(partner_id=school.id, person_id=refugee.id,
                            scopes="civil_status_progress", purpose="Trop tard",
                            duration_days=30, requested_at=now - timedelta(days=15),
                            expires_at=now - timedelta(minutes=1))
    db_session.add(lapsed)
    db_session.flush()
    assert "Trop tard" not in page(browser)
    answer(browser, lapsed.id, "accept")
    assert stored(db_session, lapsed.id).state is RequestState.PENDING
    assert db_session.scalars(select(Consent)).all() == []
    assert "Cette demande est close" in page(browser)


def test_nobody_answers_another_person_s_request(browser, db_session, signed_in, school) -> None:
    other = factories.person(db_session)
    now = datetime.now(UTC)
    theirs = ConsentRequest(partner_id=school.id, person_id=other.id,
                            scopes="civil_status_progress", purpose="p", duration_days=30,
                            requested_at=now, expires_at=now + timedelta(days=14))
    db_session.add(theirs)
    db_session.flush()
    assert answer(browser, theirs.id, "accept").status_code == 404
    assert stored(db_session, theirs.id).state is RequestState.PENDING
    assert ledger.active_consent_id(db_session, person_id=other.id, partner_id=school.id,
                                    scope="civil_status_progress", at=now) is None
