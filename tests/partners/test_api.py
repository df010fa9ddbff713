"""The three questions over HTTP: authentication, habilitation, consent, identification, journal."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.journal.models import JournalEntry
from consent import ledger
from consent.models import Method
from tests import factories

STATUS = "/v1/protection-status"


def ask(client, token, body, path=STATUS, **headers):
    return client.post(path, json=body, headers={"Authorization": f"Bearer {token}", **headers})


def journal(db_session):
    return db_session.scalars(select(JournalEntry).order_by(JournalEntry.id)).all()


@pytest.fixture()
def refugee(db_session):
    return factories.person(db_session, protections=[("refugee", date(2021, 3, 2), None)])


@pytest.fixture()
def transport(db_session):
    return factories.partner(db_session, {"protection_status": False})


def body(person, **extra):
    return {"ofpra_number": person.ofpra_number, "recipient": factories.SIRET_TRANSPORT, **extra}


# --- authentication -------------------------------------------------------------------------

def test_no_token_is_401_problem_and_nothing_is_looked_up(client, db_session, refugee):
    response = client.post(STATUS, json=body(refugee))
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] == "invalid_token"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert journal(db_session) == []


@pytest.mark.parametrize("claims", [
    {"aud": "https://elsewhere.example/v1"},
    {"iss": "https://impostor.example"},
    {"exp": 1},
])
def test_tokens_for_another_audience_issuer_or_expired_are_refused(client, transport, refugee,
                                                                  mint, claims):
    token = mint(transport.client_id, "protection_status", **claims)
    response = ask(client, token, body(refugee))
    assert response.status_code == 401
    assert response.json["code"] == "invalid_token"


def test_token_signed_by_another_key_is_refused(client, transport, refugee, mint):
    token = mint(transport.client_id, "protection_status")
    head, payload, signature = token.split(".")
    forged = ".".join([head, payload, signature[::-1]])
    assert ask(client, forged, body(refugee)).status_code == 401


def test_body_is_not_parsed_before_the_token(client):
    response = client.post(STATUS, data="not json", content_type="application/json")
    assert response.status_code == 401


def test_scope_absent_from_token_is_403(client, transport, refugee, mint):
    token = mint(transport.client_id, "civil_status")
    response = ask(client, token, body(refugee))
    assert response.status_code == 403
    assert response.json["code"] == "insufficient_scope"


# --- the answer -----------------------------------------------------------------------------

def test_found_answer_is_journaled_without_identifiers(client, db_session, transport, refugee,
                                                       mint):
    db_session.commit()
    token = mint(transport.client_id, "protection_status")
    response = ask(client, token, body(refugee), **{"X-Request-ID": "req-0001-abcd"})
    assert response.status_code == 200
    assert response.json == {"as_of": response.json["as_of"], "protected": True,
                             "protection": "refugee", "protected_since": "2021-03-02"}
    assert response.headers["X-Request-ID"] == "req-0001-abcd"
    [entry] = journal(db_session)
    assert (entry.outcome, entry.basis, entry.scope, entry.recipient, entry.request_id) == \
        ("found", "legal_basis", "protection_status", factories.SIRET_TRANSPORT, "req-0001-abcd")
    assert entry.partner_id == transport.id and entry.person_id == refugee.id
    assert entry.habilitation_id == transport.habilitations[0].id
    assert refugee.ofpra_number not in entry.subject_key
    assert len(entry.subject_key) == 64 and len(entry.entry_hash) == 32


def test_same_inputs_give_the_same_pseudonym(client, db_session, transport, refugee, mint):
    token = mint(transport.client_id, "protection_status")
    ask(client, token, body(refugee, given_names=["Amina"]))
    ask(client, token, body(refugee, given_names=["AMINA"]))
    ask(client, token, {"ofpra_number": "900100999999", "recipient": factories.SIRET_TRANSPORT})
    first, second, third = journal(db_session)
    assert first.subject_key == second.subject_key != third.subject_key


def test_request_id_is_made_when_absent_or_malformed(client, transport, refugee, mint):
    token = mint(transport.client_id, "protection_status")
    response = ask(client, token, body(refugee), **{"X-Request-ID": "bad id with spaces"})
    assert response.headers["X-Request-ID"] != "bad id with spaces"
    assert len(response.headers["X-Request-ID"]) == 36


def test_not_found_and_ambiguous_say_nothing_about_anyone(client, db_session, transport, mint):
    one = factories.person(db_session, agdref_number="7611111111", given_names=["Reza"],
                           birth_date=date(1990, 1, 1))
    factories.person(db_session, agdref_number="7611111111", given_names=["Ali"],
                     birth_date=date(1990, 1, 1))
    token = mint(transport.client_id, "protection_status")
    lookup = {"agdref_number": "7611111111", "birth_date": "1990-01-01",
              "recipient": factories.SIRET_TRANSPORT}
    ambiguous = ask(client, token, lookup)
    wrong_date = ask(client, token, {**lookup, "birth_date": "1990-01-02"})
    nobody = ask(client, token, {**lookup, "agdref_number": "7699999999"})
    assert ambiguous.status_code == 409 and ambiguous.json["code"] == "ambiguous"
    assert wrong_date.status_code == nobody.status_code == 404
    # A wrong birth date for a real file and an unknown number are indistinguishable.
    strip = ("instance",)
    assert {k: v for k, v in wrong_date.json.items() if k not in strip} == \
        {k: v for k, v in nobody.json.items() if k not in strip}
    assert [entry.outcome for entry in journal(db_session)] == \
        ["ambiguous", "not_found", "not_found"]
    assert all(entry.person_id is None for entry in journal(db_session))
    assert ask(client, token, {**lookup, "given_names": ["reza"]}).status_code == 200
    assert journal(db_session)[-1].person_id == one.id


@pytest.mark.parametrize(("payload", "field"), [
    ({"recipient": factories.SIRET_TRANSPORT}, "ofpra_number"),
    ({"agdref_number": "7600000001", "recipient": factories.SIRET_TRANSPORT}, "birth_date"),
    ({"ofpra_number": "12", "recipient": factories.SIRET_TRANSPORT}, "ofpra_number"),
    ({"ofpra_number": "900100000001"}, "recipient"),
    ({"ofpra_number": "900100000001", "recipient": "77568406300017"}, "recipient"),
    ({"agdref_number": "7600000001", "birth_date": "1990-02-30",
      "recipient": factories.SIRET_TRANSPORT}, "birth_date"),
    ({"ofpra_number": "900100000001", "recipient": factories.SIRET_TRANSPORT,
      "nationality": "SDN"}, "nationality"),
])
def test_invalid_bodies_name_the_field(client, transport, mint, payload, field):
    token = mint(transport.client_id, "protection_status")
    response = ask(client, token, payload)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] == "invalid_request"
    assert field in response.json["errors"]


def test_identifiers_in_the_url_are_not_a_route(client, transport, refugee, mint):
    token = mint(transport.client_id, "protection_status")
    response = client.get(f"{STATUS}?ofpra_number={refugee.ofpra_number}",
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 405
    assert response.json["code"] == "method_not_allowed"


# --- habilitation and consent ---------------------------------------------------------------

def test_scope_in_token_but_not_in_habilitation_is_refused_and_journaled(client, db_session,
                                                                         refugee, mint):
    school = factories.partner(db_session, {"civil_status_progress": False})
    token = mint(school.client_id, "protection_status")
    response = ask(client, token, body(refugee))
    assert response.status_code == 403
    assert response.json["code"] == "scope_not_granted"
    [entry] = journal(db_session)
    assert entry.outcome == "refused:scope_not_granted" and entry.person_id is None


def test_expired_habilitation_is_refused_before_any_lookup(client, db_session, refugee, mint):
    old = factories.partner(db_session, {"protection_status": False},
                            valid_until=date(2024, 12, 31))
    response = ask(client, mint(old.client_id, "protection_status"), body(refugee))
    assert response.status_code == 403
    assert response.json["code"] == "habilitation_not_in_force"
    assert journal(db_session)[0].person_id is None


def test_inactive_partner_is_refused(client, db_session, refugee, mint):
    gone = factories.partner(db_session, {"protection_status": False}, active=False)
    response = ask(client, mint(gone.client_id, "protection_status"), body(refugee))
    assert response.status_code == 403
    assert response.json["code"] == "partner_inactive"


def test_consent_gives_access_and_its_withdrawal_bites_on_the_next_call(client, db_session,
                                                                       refugee, mint):
    caf = factories.partner(db_session, {"civil_status_progress": True})
    token = mint(caf.client_id, "civil_status_progress")
    path = "/v1/civil-status-progress"

    refused = ask(client, token, body(refugee), path=path)
    assert refused.status_code == 403 and refused.json["code"] == "consent_required"

    now = datetime.now(UTC)
    consent = ledger.give(db_session, person_id=refugee.id, partner_id=caf.id,
                          scopes=["civil_status_progress"], purpose="Ouverture de droits",
                          granted_at=now - timedelta(minutes=1),
                          expires_at=now + timedelta(days=30), method=Method.DESK,
                          collected_by="agent-42")
    db_session.commit()
    allowed = ask(client, token, body(refugee), path=path)
    assert allowed.status_code == 200 and allowed.json["status"] == "none"

    ledger.withdraw(db_session, consent.id, at=datetime.now(UTC), actor="person")
    db_session.commit()
    again = ask(client, token, body(refugee), path=path)  # the same token, still valid
    assert again.status_code == 403 and again.json["code"] == "consent_required"

    outcomes = [(entry.outcome, entry.basis, entry.consent_id) for entry in journal(db_session)]
    assert outcomes == [("refused:consent_required", None, None),
                        ("found", "consent", consent.id),
                        ("refused:consent_required", None, None)]


def test_expired_consent_is_refused_without_any_job(client, db_session, refugee, mint):
    caf = factories.partner(db_session, {"protection_status": True})
    now = datetime.now(UTC)
    ledger.give(db_session, person_id=refugee.id, partner_id=caf.id, scopes=["protection_status"],
                purpose="p", granted_at=now - timedelta(days=10),
                expires_at=now - timedelta(seconds=1), method=Method.DESK, collected_by="a")
    response = ask(client, mint(caf.client_id, "protection_status"), body(refugee))
    assert response.json["code"] == "consent_required"


def test_consent_to_another_partner_or_scope_does_not_count(client, db_session, refugee, mint):
    caf = factories.partner(db_session, {"protection_status": True, "civil_status": True})
    other = factories.partner(db_session, {"protection_status": True})
    now = datetime.now(UTC)
    ledger.give(db_session, person_id=refugee.id, partner_id=other.id,
                scopes=["protection_status"], purpose="p", granted_at=now,
                expires_at=now + timedelta(days=1), method=Method.DESK, collected_by="a")
    ledger.give(db_session, person_id=refugee.id, partner_id=caf.id, scopes=["civil_status"],
                purpose="p", granted_at=now, expires_at=now + timedelta(days=1),
                method=Method.DESK, collected_by="a")
    response = ask(client, mint(caf.client_id, "protection_status"), body(refugee))
    assert response.json["code"] == "consent_required"


# --- civil status ---------------------------------------------------------------------------

def test_civil_status_never_carries_nationality_origin_or_grounds(client, db_session, mint):
    person = factories.person(db_session, nationality="AFG", country_of_origin="AFG",
                              civil_status_file=("established", date(2020, 1, 1),
                                                 date(2021, 1, 1), date(2020, 9, 1)))
    caf = factories.partner(db_session, {"civil_status": False})
    response = ask(client, mint(caf.client_id, "civil_status"), body(person),
                   path="/v1/civil-status")
    assert response.status_code == 200
    assert response.json["identity"]["birth_name"] == "Testperson"
    assert "AFG" not in response.get_data(as_text=True)
    assert "SDN" not in response.get_data(as_text=True)


# --- rate limits and failures ---------------------------------------------------------------

def test_rate_limit_per_client_with_headers(client, db_session, refugee, mint):
    slow = factories.partner(db_session, {"protection_status": False}, rate_limit=3)
    other = factories.partner(db_session, {"protection_status": False})
    token = mint(slow.client_id, "protection_status")
    responses = [ask(client, token, body(refugee)) for _ in range(4)]
    assert [response.status_code for response in responses[:3]] == [200] * 3
    assert responses[0].headers["RateLimit-Limit"] == "3"
    assert responses[0].headers["RateLimit-Remaining"] == "2"
    limited = responses[3]
    if limited.status_code == 200:  # a one-second window turned between calls: try once more
        limited = [ask(client, token, body(refugee)) for _ in range(4)][-1]
    assert limited.status_code == 429
    assert limited.json["code"] == "rate_limited"
    assert limited.headers["Retry-After"] == "1"
    assert limited.headers["RateLimit-Remaining"] == "0"
    # Another client has its own counter.
    assert ask(client, mint(other.client_id, "protection_status"), body(refugee)).status_code \
        == 200


def test_no_journal_no_answer(client, db_session, refugee, transport, mint):
    """The database refuses the journal insert (a real trigger): the answer is withheld."""
    connection = db_session.connection()
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(
            "CREATE TRIGGER journal_full BEFORE INSERT ON journal_entry "
            "BEGIN SELECT RAISE(ABORT, 'no space left'); END")
    else:
        connection.exec_driver_sql(
            "CREATE FUNCTION journal_full() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'no space left'; END $$")
        connection.exec_driver_sql(
            "CREATE TRIGGER journal_full BEFORE INSERT ON journal_entry "
            "FOR EACH ROW EXECUTE FUNCTION journal_full()")
    db_session.commit()
    response = ask(client, mint(transport.client_id, "protection_status"), body(refugee))
    assert response.status_code == 503
    assert response.json["code"] == "unavailable"
    assert "protected" not in response.json
    assert journal(db_session) == []


def test_the_api_opens_no_cookie_session(client, transport, refugee, mint):
    """A partner's call never reads nor sets the personal space's session cookie."""
    client.set_cookie("session", "tampered.value.that.would.fail.to.verify")
    response = ask(client, mint(transport.client_id, "protection_status"), body(refugee))
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert response.json["protected"] is True
