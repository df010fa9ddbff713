"""People, protections, civil-status files, enrolment and notices, as OFPRA keeps them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.accounts import services as accounts
from app.accounts.models import ActivationNotice
from app.people.models import (
    CivilStatusFile,
    Enrolment,
    FileStatus,
    Person,
    Precision,
    Protection,
    ProtectionKind,
)
from tests.backoffice.conftest import BASE, account, bearer, person, problem

NEW = {"ofpra_number": "900200000001", "agdref_number": "7600200001",
       "birth_name": "Haddad", "given_names": ["Nour", "Leila"], "sex": "F",
       "birth_date": "1991-07",
       "postal_address": "CADA de Rennes\n3 rue Papu\n35000 Rennes"}


def post(client, token, path, body):  # type: ignore[no-untyped-def]
    return client.post(BASE + path, json=body, headers=bearer(token))


def stored(db_session, model, ident):  # type: ignore[no-untyped-def]
    db_session.expire_all()
    return db_session.get(model, ident)


# --- people -----------------------------------------------------------------------------------

def test_create_a_person(client, db_session, token):
    response = post(client, token, "/people", NEW)
    assert response.status_code == 201, response.json
    body = response.json
    assert response.headers["Location"] == f"{BASE}/people/{body['id']}"
    assert {name: body[name] for name in NEW} == NEW
    assert body["usage_name"] is None
    # What the service does not need, it is not given (nor does it show what it holds).
    assert not {"nationality", "country_of_origin"} & set(body)
    assert body["enrolment"] == {"status": "eligible", "taken_out_on": None,
                                 "taken_out_reason": None, "letters_by_post": False}
    assert body["protections"] == [] and body["civil_status_file"] is None
    made = stored(db_session, Person, body["id"])
    # A partial date is stored on its first day, with its precision: never shown as a day.
    assert (made.birth_date, made.birth_date_precision) == (date(1991, 7, 1), Precision.MONTH)
    assert (made.birth_name, made.given_names, made.enrolment) == \
        ("Haddad", ["Nour", "Leila"], Enrolment.ELIGIBLE)


def test_create_an_excluded_person_at_once(client, db_session, token):
    body = {**NEW, "ofpra_number": None, "enrolment": {"status": "excluded_dublin"}}
    response = post(client, token, "/people", body)
    assert response.status_code == 201, response.json
    assert response.json["enrolment"]["status"] == "excluded_dublin"
    assert response.json["enrolment"]["letters_by_post"] is True
    assert stored(db_session, Person, response.json["id"]).ofpra_number is None


@pytest.mark.parametrize("change, field, message", [
    ({"ofpra_number": None, "agdref_number": None}, "ofpra_number",
     "Give ofpra_number, agdref_number, or both."),
    ({"birth_date": "1991-02-30"}, "birth_date", "This date does not exist."),
    ({"birth_date": "07/1991"}, "birth_date", "Use YYYY, YYYY-MM or YYYY-MM-DD."),
    ({"sex": "female"}, "sex", None),
    ({"agdref_number": "12345"}, "agdref_number", "An AGDREF number has 10 digits."),
    ({"nationality": "SDN"}, "nationality", "Unknown field."),
    ({"country_of_origin": "SDN"}, "country_of_origin", "Unknown field."),
    ({"birth_name": ""}, "birth_name", None),
    ({"enrolment": {"status": "taken_out"}}, "enrolment", None),
    ({"grounds": "political opinion"}, "grounds", "Unknown field."),
])
def test_invalid_people_are_refused_by_field(client, db_session, token, change, field, message):
    response = post(client, token, "/people", {**NEW, **change})
    body = problem(response, 422, "invalid_request")
    assert field in body["errors"], body
    if message:
        assert body["errors"][field] == [message]
    assert db_session.scalar(select(Person).where(Person.birth_name == "Haddad")) is None


def test_an_ofpra_number_is_one_person_s(client, db_session, token):
    someone = person(db_session)
    response = post(client, token, "/people", {**NEW, "ofpra_number": someone.ofpra_number})
    problem(response, 409, "ofpra_number_taken")
    response = client.patch(f"{BASE}/people/{person(db_session).id}", headers=bearer(token),
                            json={"ofpra_number": someone.ofpra_number})
    problem(response, 409, "ofpra_number_taken")


def test_read_a_person(client, db_session, token):
    someone = person(db_session, protections=[("refugee", date(2021, 3, 2), None)],
                     civil_status_file=("in_progress", date(2021, 6, 1), date(2023, 6, 1)))
    response = client.get(f"{BASE}/people/{someone.id}", headers=bearer(token))
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["ofpra_number"], body["birth_date"]) == (someone.ofpra_number, "1990-05-17")
    assert "nationality" not in body and "grounds" not in str(body)
    (protection,) = body["protections"]
    assert {key: protection[key] for key in ("kind", "granted_on", "ended_on")} == \
        {"kind": "refugee", "granted_on": "2021-03-02", "ended_on": None}
    assert body["civil_status_file"] == {"status": "in_progress",
                                         "family_form_received_on": "2021-06-01",
                                         "expected_by": "2023-06-01", "established_on": None}


def test_an_unknown_person_is_404(client, db_session, token):
    body = problem(client.get(f"{BASE}/people/999999", headers=bearer(token)), 404,
                   "no_such_person")
    assert body["detail"] == "No person has the id 999999."


def test_update_identity_and_address(client, db_session, token):
    someone = person(db_session, usage_name="Martin")
    response = client.patch(f"{BASE}/people/{someone.id}", headers=bearer(token), json={
        "birth_name": "Testperson-Ali", "usage_name": None, "birth_date": "1990",
        "postal_address": "SPADA de Brest\n29200 Brest"})
    assert response.status_code == 200, response.json
    assert (response.json["birth_name"], response.json["usage_name"],
            response.json["birth_date"], response.json["postal_address"]) == \
        ("Testperson-Ali", None, "1990", "SPADA de Brest\n29200 Brest")
    made = stored(db_session, Person, someone.id)
    assert (made.birth_date, made.birth_date_precision, made.given_names) == \
        (date(1990, 1, 1), Precision.YEAR, ["Amina"])


@pytest.mark.parametrize("body, field", [
    ({}, "_schema"), ({"birth_name": None}, "birth_name"), ({"given_names": None}, "given_names"),
    ({"id": 3}, "id")])
def test_invalid_updates_are_refused(client, db_session, token, body, field):
    someone = person(db_session)
    response = client.patch(f"{BASE}/people/{someone.id}", headers=bearer(token), json=body)
    assert field in problem(response, 422, "invalid_request")["errors"]


def test_a_person_keeps_a_number(client, db_session, token):
    someone = person(db_session, ofpra_number=None)
    response = client.patch(f"{BASE}/people/{someone.id}", headers=bearer(token),
                            json={"agdref_number": None})
    body = problem(response, 422, "invalid_request")
    assert body["errors"] == {"agdref_number": [
        "A person keeps an OFPRA number or an AGDREF number."]}
    assert stored(db_session, Person, someone.id).agdref_number == someone.agdref_number


def test_search_by_number_in_the_body(client, db_session, token):
    first = person(db_session, agdref_number="7600300001")
    duplicate = person(db_session, agdref_number="7600300001")
    response = post(client, token, "/people/search", {"agdref_number": "7600300001"})
    assert response.status_code == 200, response.json
    assert [item["id"] for item in response.json] == [first.id, duplicate.id]
    response = post(client, token, "/people/search", {"ofpra_number": first.ofpra_number})
    assert [item["id"] for item in response.json] == [first.id]
    assert post(client, token, "/people/search", {"ofpra_number": "900999999999"}).json == []
    response = post(client, token, "/people/search",
                    {"ofpra_number": first.ofpra_number, "agdref_number": "7600300001"})
    assert "ofpra_number" in problem(response, 422, "invalid_request")["errors"]


# --- protections ------------------------------------------------------------------------------

def test_grant_then_end_a_protection(client, db_session, token):
    someone = person(db_session)
    response = post(client, token, f"/people/{someone.id}/protections",
                    {"kind": "subsidiary_protection", "granted_on": "2022-04-01"})
    assert response.status_code == 201, response.json
    granted = response.json
    assert {key: granted[key] for key in ("kind", "granted_on", "ended_on", "end_reason")} == \
        {"kind": "subsidiary_protection", "granted_on": "2022-04-01", "ended_on": None,
         "end_reason": None}
    response = post(client, token, f"/people/{someone.id}/protections/{granted['id']}/end",
                    {"ended_on": "2024-09-30", "end_reason": "cessation"})
    assert response.status_code == 200, response.json
    assert (response.json["ended_on"], response.json["end_reason"]) == ("2024-09-30", "cessation")
    made = stored(db_session, Protection, granted["id"])
    assert (made.person_id, made.kind, made.granted_on, made.ended_on) == \
        (someone.id, ProtectionKind.SUBSIDIARY, date(2022, 4, 1), date(2024, 9, 30))
    response = post(client, token, f"/people/{someone.id}/protections/{granted['id']}/end",
                    {"ended_on": "2025-01-01", "end_reason": "withdrawal"})
    assert problem(response, 409, "protection_already_ended")["detail"] == \
        "This protection ended on 2024-09-30."


def test_a_protection_ends_after_its_grant(client, db_session, token):
    someone = person(db_session, protections=[("refugee", date(2021, 3, 2), None)])
    protection = someone.protections[0]
    response = post(client, token, f"/people/{someone.id}/protections/{protection.id}/end",
                    {"ended_on": "2021-03-01", "end_reason": "withdrawal"})
    body = problem(response, 422, "invalid_request")
    assert body["errors"] == {"ended_on": ["Not before the protection was granted "
                                           "(2021-03-02)."]}
    assert stored(db_session, Protection, protection.id).ended_on is None


def test_another_person_s_protection_is_not_found(client, db_session, token):
    owner = person(db_session, protections=[("refugee", date(2021, 3, 2), None)])
    other = person(db_session)
    response = post(client, token, f"/people/{other.id}/protections/{owner.protections[0].id}/end",
                    {"ended_on": "2024-01-01", "end_reason": "cessation"})
    problem(response, 404, "no_such_protection")
    response = post(client, token, "/people/999999/protections",
                    {"kind": "refugee", "granted_on": "2022-04-01"})
    problem(response, 404, "no_such_person")
    response = post(client, token, f"/people/{other.id}/protections",
                    {"kind": "asylum", "granted_on": "2022-04-01"})
    assert "kind" in problem(response, 422, "invalid_request")["errors"]
    response = post(client, token, f"/people/{other.id}/protections",
                    {"kind": "refugee", "granted_on": "2022-04-01", "grounds": "political"})
    assert problem(response, 422, "invalid_request")["errors"] == {"grounds": ["Unknown field."]}


# --- civil-status file ------------------------------------------------------------------------

def test_create_then_replace_the_civil_status_file(client, db_session, token):
    someone = person(db_session)
    path = f"{BASE}/people/{someone.id}/civil-status-file"
    response = client.put(path, headers=bearer(token), json={
        "status": "in_progress", "family_form_received_on": "2025-02-03",
        "expected_by": "2026-08-03"})
    assert response.status_code == 200, response.json
    assert response.json == {"status": "in_progress", "family_form_received_on": "2025-02-03",
                             "expected_by": "2026-08-03", "established_on": None}
    response = client.put(path, headers=bearer(token), json={
        "status": "established", "family_form_received_on": "2025-02-03",
        "established_on": "2026-01-15"})
    assert response.status_code == 200, response.json
    files = db_session.scalars(select(CivilStatusFile).where(
        CivilStatusFile.person_id == someone.id).execution_options(populate_existing=True)).all()
    assert [(file.status, file.family_form_received_on, file.expected_by, file.established_on)
            for file in files] == \
        [(FileStatus.ESTABLISHED, date(2025, 2, 3), None, date(2026, 1, 15))]


@pytest.mark.parametrize("body, field", [
    ({"status": "established"}, "established_on"),
    ({"status": "in_progress", "established_on": "2026-01-01"}, "established_on"),
    ({"status": "awaiting_form", "family_form_received_on": "2025-01-01"},
     "family_form_received_on"),
    ({"status": "in_progress", "family_form_received_on": "2025-01-01",
      "expected_by": "2024-12-31"}, "expected_by"),
    ({"status": "lost"}, "status"),
])
def test_an_inconsistent_file_is_refused(client, db_session, token, body, field):
    someone = person(db_session)
    response = client.put(f"{BASE}/people/{someone.id}/civil-status-file",
                          headers=bearer(token), json=body)
    assert field in problem(response, 422, "invalid_request")["errors"]
    assert stored(db_session, Person, someone.id).civil_status_file is None


# --- enrolment --------------------------------------------------------------------------------

def test_take_a_person_out_then_back_in(client, db_session, token):
    someone = person(db_session)
    path = f"{BASE}/people/{someone.id}/enrolment"
    response = client.put(path, headers=bearer(token), json={
        "status": "taken_out", "taken_out_on": "2025-03-01",
        "taken_out_reason": "Ne peut pas utiliser le procédé électronique"})
    assert response.status_code == 200, response.json
    assert response.json["enrolment"] == {
        "status": "taken_out", "taken_out_on": "2025-03-01",
        "taken_out_reason": "Ne peut pas utiliser le procédé électronique",
        "letters_by_post": True}
    made = stored(db_session, Person, someone.id)
    assert (made.enrolment, made.taken_out_on) == (Enrolment.TAKEN_OUT, date(2025, 3, 1))
    response = client.put(path, headers=bearer(token), json={"status": "eligible"})
    assert response.json["enrolment"] == {"status": "eligible", "taken_out_on": None,
                                          "taken_out_reason": None, "letters_by_post": False}


@pytest.mark.parametrize("body, field", [
    ({"status": "taken_out", "taken_out_on": "2025-03-01"}, "taken_out_reason"),
    ({"status": "taken_out", "taken_out_reason": "Vulnérabilité"}, "taken_out_on"),
    ({"status": "excluded_minor", "taken_out_on": "2025-03-01"}, "taken_out_on"),
    ({"status": "excluded"}, "status"),
])
def test_an_invalid_enrolment_is_refused(client, db_session, token, body, field):
    someone = person(db_session)
    response = client.put(f"{BASE}/people/{someone.id}/enrolment", headers=bearer(token),
                          json=body)
    assert field in problem(response, 422, "invalid_request")["errors"]
    assert stored(db_session, Person, someone.id).enrolment is Enrolment.ELIGIBLE


# --- activation notices -----------------------------------------------------------------------

def test_issue_a_notice_whose_key_is_shown_once(app, client, db_session, token, ofpra):
    someone = person(db_session)
    before = datetime.now(UTC)
    response = post(client, token, f"/people/{someone.id}/activation-notices", {"valid_days": 30})
    assert response.status_code == 201, response.json
    body = response.json
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", body["connection_key"])
    assert (body["person_id"], body["ofpra_number"], body["agdref_number"]) == \
        (someone.id, someone.ofpra_number, someone.agdref_number)
    issued = datetime.fromisoformat(body["issued_at"])
    assert before <= issued <= datetime.now(UTC)
    assert datetime.fromisoformat(body["expires_at"]) - issued == timedelta(days=30)
    db_session.expire_all()
    notice = db_session.get(ActivationNotice, body["id"])
    assert notice.issued_by == f"backoffice:{ofpra.client_id}"
    # Only a keyed digest is kept; the key typed from the notice finds it.
    assert body["connection_key"].replace("-", "") not in notice.key_digest
    found = accounts.Accounts(db_session, app.config["SECRET_KEY"]).notice_for_key(
        body["connection_key"])
    assert found is not None and found.id == notice.id
    # A new notice voids the one before.
    post(client, token, f"/people/{someone.id}/activation-notices", {})
    db_session.expire_all()
    assert db_session.get(ActivationNotice, body["id"]).expires_at <= datetime.now(UTC)


def test_no_notice_for_people_whose_letters_go_by_post(client, db_session, token):
    someone = person(db_session, enrolment=Enrolment.EXCLUDED_MINOR)
    response = post(client, token, f"/people/{someone.id}/activation-notices", {})
    problem(response, 409, "person_excluded")
    assert db_session.scalars(select(ActivationNotice).where(
        ActivationNotice.person_id == someone.id)).all() == []


def test_no_notice_once_activated(client, db_session, token):
    someone = person(db_session)
    account(db_session, someone)
    problem(post(client, token, f"/people/{someone.id}/activation-notices", {}), 409,
            "already_activated")


@pytest.mark.parametrize("days", [0, 366])
def test_a_notice_lasts_1_to_365_days(client, db_session, token, days):
    someone = person(db_session)
    response = post(client, token, f"/people/{someone.id}/activation-notices",
                    {"valid_days": days})
    assert "valid_days" in problem(response, 422, "invalid_request")["errors"]


def test_a_number_taken_meanwhile_is_still_refused(client, db_session, token, monkeypatch):
    """Two requests racing for one OFPRA number: the unique constraint decides, only the
    loser's change is undone."""
    from app.backoffice import people

    someone = person(db_session)
    monkeypatch.setattr(people, "_check_number_free", lambda *args: None)
    response = post(client, token, "/people", {**NEW, "ofpra_number": someone.ofpra_number})
    problem(response, 409, "ofpra_number_taken")
    other = person(db_session)
    response = client.patch(f"{BASE}/people/{other.id}", headers=bearer(token),
                            json={"ofpra_number": someone.ofpra_number, "birth_name": "Autre"})
    problem(response, 409, "ofpra_number_taken")
    made = stored(db_session, Person, other.id)
    assert (made.ofpra_number, made.birth_name) == (other.ofpra_number, "Testperson")


# --- attestations -----------------------------------------------------------------------------

def attest(app, db_session, owner, scope: str) -> str:  # type: ignore[no-untyped-def]
    from app.attestations import services as attestations

    issued = attestations.issue(db_session, app.extensions["ofpra.keys"], person_id=owner.id,
                                scope=scope, now=datetime.now(UTC), validity_days=90,
                                issuer="http://localhost")
    db_session.commit()
    return issued.terms.id


def revoked(db_session) -> dict[str, str]:  # type: ignore[no-untyped-def]
    from app.attestations.models import AttestationRevocation

    db_session.expire_all()
    return {row.attestation_id: row.reason
            for row in db_session.scalars(select(AttestationRevocation))}


def test_changed_facts_revoke_the_attestations_they_outdate(app, client, db_session, token):
    someone = person(db_session, protections=[("refugee", date(2021, 3, 2), None)],
                     civil_status_file=("in_progress", date(2021, 6, 1), date(2030, 6, 1)))
    status = attest(app, db_session, someone, "protection_status")
    progress = attest(app, db_session, someone, "civil_status_progress")
    # The postal address is in no record: nothing to revoke.
    client.patch(f"{BASE}/people/{someone.id}", headers=bearer(token),
                 json={"postal_address": "1 rue Neuve\n35000 Rennes"})
    assert revoked(db_session) == {}
    response = post(client, token,
                    f"/people/{someone.id}/protections/{someone.protections[0].id}/end",
                    {"ended_on": date.today().isoformat(), "end_reason": "cessation"})
    assert response.status_code == 200, response.json
    assert revoked(db_session) == {status: "facts_changed"}
    response = client.put(f"{BASE}/people/{someone.id}/civil-status-file",
                          headers=bearer(token), json={
                              "status": "established", "family_form_received_on": "2021-06-01",
                              "established_on": "2024-02-01"})
    assert response.status_code == 200, response.json
    assert revoked(db_session) == {status: "facts_changed", progress: "facts_changed"}
