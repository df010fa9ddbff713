"""My consents: who may ask, what they would be told, giving and withdrawing online."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import Raw
from app.partners.models import PartnerKind
from app.partners.services import PARIS
from app.people import repository
from app.people.models import CivilAct, FamilyLink, Precision
from consent import ledger
from consent.models import (
    Consent,
    ConsentEvent,
    ConsentRequest,
    EventKind,
    Method,
    RequestState,
)
from tests import factories
from tests.consents.conftest import CONSENTS, account, csrf_token_of, fetch, partner, sign_in


def page(client: FlaskClient) -> str:
    status, body, headers = fetch(client, CONSENTS)
    assert status == 200, body[:300]
    assert headers["Content-Security-Policy"].startswith("default-src 'none'")
    text = body.decode()
    assert "<script" not in text and "<style" not in text
    return text


def main(text: str) -> str:
    return text[text.index("<main"):text.index("</main>")]


def rendered(app: Flask, scope: str, record: object, language: str) -> str:
    """The record through the shared macro, as the page renders it in `language`."""
    with app.test_request_context("/", headers={"Accept-Language": language}):
        template = app.jinja_env.get_template("site/records.html")
        return str(template.module.record(scope, record))  # type: ignore[attr-defined]


def consents_of(db_session: Session, person_id: int) -> list[Consent]:
    db_session.expire_all()
    return list(db_session.scalars(select(Consent).where(Consent.person_id == person_id)))


def today() -> date:
    return datetime.now(UTC).astimezone(PARIS).date()


def test_a_visitor_without_a_session_is_sent_to_sign_in(browser: FlaskClient) -> None:
    response = browser.get(CONSENTS)
    assert response.status_code == 302
    assert response.headers["Location"] == "/signin?next=%2Fespace%2Fconsentements"


def test_the_page_lists_who_may_ask_with_consent_and_nobody_else(
        browser, db_session, signed_in, school) -> None:
    partner(db_session, "Réseau de bus", {"protection_status": None}, kind=PartnerKind.TRANSPORT)
    partner(db_session, "Ancienne CAF", {"civil_status": 365}, valid_until=date(2024, 12, 31))
    partner(db_session, "CAF en sommeil", {"civil_status": 365}, active=False)
    text = main(page(browser))
    assert "<h1>Mes consentements</h1>" in text
    assert "École Jules-Ferry" in text
    assert "Code de l&#39;éducation, art. L. 131-1" in text
    assert 'href="https://www.legifrance.gouv.fr/codes/article_lc/X"' in text
    assert "Pourquoi elle demande\u00a0:</strong> Inscription scolaire" in text
    # Answered on its legal basis, out of force, or inactive: none of them asks consent.
    assert "Réseau de bus" not in text
    assert "Ancienne CAF" not in text and "CAF en sommeil" not in text


def test_what_the_partner_would_receive_is_the_record_itself(
        app, browser, db_session, signed_in, refugee, school) -> None:
    text = page(browser)
    raw = Raw(db_session)
    for scope in ("civil_status_progress", "protection_status"):
        record = repository.record(raw, scope, refugee.id, today())
        assert rendered(app, scope, record, "fr") in text
    assert "Protection\u00a0: oui — statut de réfugié depuis le 2 mars 2021" in text
    assert "Dossier d’état civil à l’OFPRA\u00a0: documents en préparation" in text
    assert "Fiche familiale reçue le 1 juin 2021" in text
    assert "Dans le délai habituel de traitement\u00a0: oui" in text


def test_the_page_is_in_english_for_an_english_account(app, browser, db_session, refugee,
                                                       school) -> None:
    sign_in(browser, account(db_session, refugee, language="en"))
    text = page(browser)
    assert '<html lang="en"' in text
    assert "<h1>My consents</h1>" in text
    assert "Protected: yes — refugee since March 2, 2021" in text
    record = repository.record(Raw(db_session), "protection_status", refugee.id, today())
    assert rendered(app, "protection_status", record, "en") in text


def test_the_civil_status_record_shows_identity_acts_and_family(app, browser, db_session,
                                                                signed_in) -> None:
    person = factories.person(db_session, birth_name="Haile", given_names=["Sara", "Meron"],
                              birth_date=date(1992, 7, 1), birth_date_precision=Precision.MONTH,
                              civil_status_file=("established", date(2021, 1, 5),
                                                 date(2022, 1, 5), date(2021, 9, 1)))
    db_session.add(CivilAct(person_id=person.id, kind="birth", number="B-2021-001",
                            established_on=date(2021, 9, 1)))
    db_session.add(FamilyLink(person_id=person.id, relation="parent", unknown=True))
    db_session.add(FamilyLink(person_id=person.id, relation="child", unknown=False,
                              birth_name="Haile", given_names=["Noah"],
                              birth_date=date(2019, 1, 1), birth_date_precision="year"))
    db_session.flush()
    partner(db_session, "CAF de Paris", {"civil_status": 180}, kind=PartnerKind.CAF)
    sign_in(browser, account(db_session, person))
    text = page(browser)
    record = repository.record(Raw(db_session), "civil_status", person.id, today())
    assert rendered(app, "civil_status", record, "fr") in text
    for line in ("Nom de naissance\u00a0: Haile", "Prénoms\u00a0: Sara Meron",
                 "Date de naissance\u00a0: juillet 1992",  # the month only: never a day
                 "Acte de naissance n° B-2021-001, établi le 1 septembre 2021",
                 "Parent\u00a0: inconnu", "Enfant\u00a0: Noah Haile, naissance\u00a0: 2019"):
        assert line in text
    assert "SDN" not in text  # nationality is in no record


def section(text: str, name: str) -> str:
    """The <section> of the page about partner `name`."""
    [found] = [part for part in re.findall(r"<section.*?</section>", text, re.S) if name in part]
    return found


def test_durations_offered_stop_at_the_habilitation_limit(browser, db_session, signed_in,
                                                         school) -> None:
    partner(db_session, "Mairie", {"civil_status": 10})
    text = main(page(browser))
    mairie = section(text, "Mairie")
    assert re.findall(r'name="days" value="(\d+)"', mairie) == ["10"]
    assert "Oui, pour 10 jours" in mairie
    # The school: 1 year for the civil-status progress, at most 100 days for the status.
    assert re.findall(r'name="days" value="(\d+)"', section(text, "Jules-Ferry")) == \
        ["30", "90", "180", "365", "30", "90"]


def grant(client: FlaskClient, partner_id: int, scope: str, days: int | str,
          token: str | None = None) -> object:
    if token is None:
        token = csrf_token_of(page(client))
    return client.post(f"{CONSENTS}/donner", data={
        "csrf_token": token, "partner_id": str(partner_id), "scope": scope, "days": str(days)})


def test_giving_a_consent_online_records_it_in_the_ledger(browser, db_session, signed_in,
                                                         refugee, school) -> None:
    before = datetime.now(UTC)
    response = grant(browser, school.id, "civil_status_progress", 90)
    assert response.status_code == 303
    assert response.headers["Location"] == CONSENTS
    [consent] = consents_of(db_session, refugee.id)
    assert (consent.partner_id, consent.scopes, consent.method, consent.collected_by) == \
        (school.id, "civil_status_progress", Method.ONLINE, "person")
    assert consent.purpose == "Inscription scolaire"
    assert consent.expires_at - consent.granted_at == timedelta(days=90)
    assert before <= consent.granted_at <= datetime.now(UTC)
    [event] = consent.events
    assert (event.kind, event.actor, event.at) == (EventKind.GIVEN, "person", consent.granted_at)
    text = main(page(browser))
    assert "Merci. Votre consentement est enregistré." in text
    expires = consent.expires_at.astimezone(PARIS).date()
    assert f"Vous avez dit oui, jusqu’au {expires.day} " in text
    assert f'id="consentement-{consent.id}"' in text
    assert "par vous, dans cet espace" in text


def test_a_form_without_its_csrf_token_changes_nothing(browser, db_session, signed_in,
                                                      refugee, school) -> None:
    response = grant(browser, school.id, "civil_status_progress", 90, token="forged")
    assert response.status_code == 400
    assert "Ce formulaire n’est plus valable" in response.get_data(as_text=True)
    assert consents_of(db_session, refugee.id) == []


@pytest.mark.parametrize(("scope", "days"), [
    ("protection_status", 180),  # beyond its 100 days
    ("civil_status_progress", 45),  # not a duration offered
    ("civil_status", 30),  # not asked by this partner
])
def test_a_consent_the_habilitation_does_not_allow_is_refused(browser, db_session, signed_in,
                                                              refugee, school, scope,
                                                              days) -> None:
    response = grant(browser, school.id, scope, days)
    assert response.status_code == 303
    assert consents_of(db_session, refugee.id) == []
    assert "Ce n’est plus possible. Rien n’a été partagé." in page(browser)


def test_a_second_consent_while_one_is_active_is_not_recorded(browser, db_session, signed_in,
                                                              refugee, school) -> None:
    grant(browser, school.id, "civil_status_progress", 30)
    grant(browser, school.id, "civil_status_progress", 365)
    assert len(consents_of(db_session, refugee.id)) == 1
    assert "Vous avez déjà dit oui. Rien n’a changé." in page(browser)


def withdraw(client: FlaskClient, consent_id: str) -> object:
    token = csrf_token_of(page(client))
    return client.post(f"{CONSENTS}/retirer", data={"csrf_token": token,
                                                   "consent_id": consent_id})


def test_withdrawing_is_one_step_and_is_a_ledger_event(browser, db_session, signed_in, refugee,
                                                       school) -> None:
    grant(browser, school.id, "civil_status_progress", 90)
    [consent] = consents_of(db_session, refugee.id)
    response = withdraw(browser, consent.id)
    assert response.status_code == 303
    [consent] = consents_of(db_session, refugee.id)
    given, withdrawn = consent.events
    assert (withdrawn.kind, withdrawn.actor) == (EventKind.WITHDRAWN, "person")
    assert ledger.state(consent, datetime.now(UTC)) is ledger.State.WITHDRAWN
    text = main(page(browser))
    assert "Votre consentement est retiré." in text
    assert "<h3>Retirés</h3>" in text and "Retiré le " in text
    # The partner may be asked again: the form is back.
    assert 'name="scope" value="civil_status_progress"' in text
    # Withdrawing twice changes nothing.
    withdraw(browser, consent.id)
    assert len(consents_of(db_session, refugee.id)[0].events) == 2


def test_nobody_withdraws_another_person_s_consent(browser, db_session, signed_in, school) -> None:
    other = factories.person(db_session)
    now = datetime.now(UTC)
    theirs = ledger.give(db_session, person_id=other.id, partner_id=school.id,
                         scopes=["civil_status_progress"], purpose="p", granted_at=now,
                         expires_at=now + timedelta(days=30), method=Method.DESK,
                         collected_by="agent-1")
    response = withdraw(browser, theirs.id)
    assert response.status_code == 404
    assert db_session.scalars(select(ConsentEvent).where(
        ConsentEvent.consent_id == theirs.id)).all()[-1].kind == EventKind.GIVEN


def test_consents_are_listed_active_ended_and_withdrawn_with_their_dates(
        browser, db_session, signed_in, refugee, school) -> None:
    now = datetime.now(UTC)
    ended = ledger.give(db_session, person_id=refugee.id, partner_id=school.id,
                        scopes=["protection_status"], purpose="p",
                        granted_at=datetime(2025, 1, 10, 9, tzinfo=UTC),
                        expires_at=datetime(2025, 2, 9, 9, tzinfo=UTC), method=Method.DESK,
                        collected_by="agent-7")
    gone = ledger.give(db_session, person_id=refugee.id, partner_id=school.id,
                       scopes=["civil_status_progress"], purpose="p",
                       granted_at=datetime(2025, 3, 1, 9, tzinfo=UTC),
                       expires_at=now + timedelta(days=20), method=Method.ONLINE,
                       collected_by="person")
    ledger.withdraw(db_session, gone.id, at=datetime(2025, 3, 5, 9, tzinfo=UTC), actor="person")
    active = ledger.give(db_session, person_id=refugee.id, partner_id=school.id,
                         scopes=["civil_status_progress"], purpose="p",
                         granted_at=now - timedelta(days=1), expires_at=now + timedelta(days=29),
                         method=Method.ONLINE, collected_by="person")
    text = main(page(browser))
    in_force, rest = text.split("<h3>En cours</h3>")[1].split("<h3>Terminés</h3>")
    finished, withdrawn = rest.split("<h3>Retirés</h3>")
    assert f'id="consentement-{active.id}"' in in_force and "Arrêter le partage" in in_force
    assert f'id="consentement-{ended.id}"' in finished
    assert "Donné le 10 janvier 2025, sur papier, à un guichet de l’OFPRA." in finished
    assert "Terminé le 9 février 2025." in finished and "Arrêter le partage" not in finished
    assert f'id="consentement-{gone.id}"' in withdrawn
    assert "Retiré le 5 mars 2025." in withdrawn
    assert html.escape(f"{CONSENTS}/{gone.id}/recu.json") in withdrawn


def test_a_withdrawal_through_the_page_bites_the_partner_s_very_next_call(
        browser, client, db_session, signed_in, refugee, school, mint) -> None:
    token = mint(school.client_id, "civil_status_progress")
    question = {"ofpra_number": refugee.ofpra_number, "recipient": factories.SIRET_SCHOOL}
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def ask() -> object:
        return client.post("/v1/civil-status-progress", json=question, headers=headers)

    refused = ask()
    assert refused.status_code == 403 and refused.json["code"] == "consent_required"
    grant(browser, school.id, "civil_status_progress", 30)
    allowed = ask()
    assert allowed.status_code == 200
    assert allowed.json["status"] == "in_progress"
    [consent] = consents_of(db_session, refugee.id)
    withdraw(browser, consent.id)
    again = ask()  # the same token, still valid for minutes
    assert again.status_code == 403
    assert again.mimetype == "application/problem+json"
    assert again.json["code"] == "consent_required"


def test_the_space_links_to_the_consents_and_the_access_log(browser, signed_in) -> None:
    status, body, _headers = fetch(browser, "/espace")
    text = body.decode()
    assert status == 200
    assert f'href="{CONSENTS}">Mes consentements\u00a0: qui peut connaître' in text
    assert 'href="/espace/acces">Qui a consulté mes informations</a>' in text
    # And back: every signed-in page has the way out (shared phones).
    assert 'action="/signout"' in page(browser)


@pytest.mark.parametrize(("path", "form"), [
    ("/retirer", {"consent_id": "{consent}"}),
    ("/demandes", {"request_id": "{request}", "answer": "accept"}),
])
def test_withdrawing_and_answering_need_the_csrf_token_too(browser, db_session, signed_in,
                                                          refugee, school, path,
                                                          form) -> None:
    now = datetime.now(UTC)
    consent = ledger.give(db_session, person_id=refugee.id, partner_id=school.id,
                          scopes=["protection_status"], purpose="p", granted_at=now,
                          expires_at=now + timedelta(days=30), method=Method.ONLINE,
                          collected_by="person")
    request = ConsentRequest(partner_id=school.id, person_id=refugee.id,
                             scopes="civil_status_progress", purpose="p", duration_days=30,
                             requested_at=now, expires_at=now + timedelta(days=14))
    db_session.add(request)
    db_session.flush()
    data = {key: value.format(consent=consent.id, request=request.id)
            for key, value in form.items()}
    assert browser.post(CONSENTS + path, data=data).status_code == 400
    db_session.expire_all()
    assert len(db_session.get(Consent, consent.id).events) == 1
    assert db_session.get(ConsentRequest, request.id).state is RequestState.PENDING


def test_a_malformed_form_is_a_plain_400_page(browser, db_session, signed_in, school) -> None:
    token = csrf_token_of(page(browser))
    response = browser.post(f"{CONSENTS}/donner", data={
        "csrf_token": token, "partner_id": str(school.id), "scope": "civil_status_progress",
        "days": "a year"})
    assert response.status_code == 400
    assert "Nous n’avons pas compris la demande" in response.get_data(as_text=True)
