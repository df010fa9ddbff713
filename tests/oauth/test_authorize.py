"""The person present: authorization code with PKCE S256, from the partner's link to the answer."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from joserfc import jwt
from sqlalchemy import select

from app import create_app
from app.config import ConfigurationError
from app.journal import entries
from app.journal.models import JournalEntry
from app.oauth import services
from app.oauth.models import AuthorizationCode
from app.partners.models import PartnerKind
from consent import ledger
from consent.models import Consent, ConsentEvent, EventKind, Method
from tests import factories
from tests.conftest import settings
from tests.oauth.conftest import ASSERTION_TYPE, refused
from tests.oauth.flow import (
    REDIRECT_URI,
    STATE,
    account_for,
    authorize_path,
    decide,
    exchange,
    hidden,
    pkce,
    redirected,
    sign_in,
)

ISSUER = "http://localhost"


@pytest.fixture()
def website(db_session, partner_keys):  # type: ignore[no-untyped-def]
    """A transport authority whose website asks the person (protection_status with consent);
    civil_status_progress it may ask on its legal basis alone."""
    partner = factories.partner(db_session, {"protection_status": True,
                                             "civil_status_progress": False},
                                kind=PartnerKind.TRANSPORT, key=partner_keys["ES256"])
    partner.name = "Régie des transports de test"
    partner.redirect_uris = [REDIRECT_URI]
    habilitation = partner.habilitations[0]
    habilitation.purpose = "Accorder le tarif réduit aux personnes protégées"
    habilitation.legal_basis = "Code des transports, art. L. 1113-1"
    db_session.commit()
    return partner


@pytest.fixture()
def refugee(db_session):  # type: ignore[no-untyped-def]
    person = factories.person(db_session, protections=[("refugee", date(2021, 3, 2), None)])
    db_session.commit()
    return person


@pytest.fixture()
def account(db_session, refugee):  # type: ignore[no-untyped-def]
    created = account_for(db_session, refugee)
    db_session.commit()
    return created


@pytest.fixture()
def signed_in(client, account):  # type: ignore[no-untyped-def]
    sign_in(client, account)
    return client


def consent_page(client, website, challenge, **overrides):  # type: ignore[no-untyped-def]
    response = client.get(authorize_path(website.client_id, challenge, **overrides))
    assert response.status_code == 200, response.get_data(as_text=True)[:800]
    return response


def code_for(client, website, challenge, **overrides) -> str:  # type: ignore[no-untyped-def]
    target, params = redirected(decide(client, consent_page(client, website, challenge,
                                                            **overrides)))
    assert target == REDIRECT_URI
    return params["code"]


def decode(app, token: str):  # type: ignore[no-untyped-def]
    keys = app.extensions["ofpra.keys"]
    return jwt.decode(token, keys.key_set("access-token"), algorithms=["ES256"])


def ask(client, token: str, body: dict, path: str = "/v1/protection-status"):  # type: ignore[no-untyped-def]
    return client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})


# --- the whole journey ----------------------------------------------------------------------

def test_the_person_consents_and_the_partner_asks_about_them_without_identifiers(
        app, signed_in, db_session, website, refugee, account, assertion, partner_keys):
    client = signed_in
    verifier, challenge = pkce()

    page = consent_page(client, website, challenge)
    html = page.get_data(as_text=True)
    # Who asks, exactly what it would be told about this person, why, under which law.
    assert "Régie des transports de test" in html
    assert "2 mars 2021" in html or "2 March 2021" in html
    assert "réfugié" in html or "refugee" in html
    assert "Accorder le tarif réduit aux personnes protégées" in html
    assert "Code des transports, art. L. 1113-1" in html
    assert 'name="decision" value="accept"' in html and 'name="decision" value="decline"' in html
    # The client's parameters are not in the form: only the kept request's random id.
    form = html.split('action="/oauth/authorize/decision"')[1].split("</form>")[0]
    assert REDIRECT_URI not in form and challenge not in form and STATE not in form
    assert website.client_id not in form
    # The consent form may lead back to the partner's origin, and nowhere else.
    csp = page.headers["Content-Security-Policy"]
    assert "form-action 'self' https://partner.example;" in csp
    assert "script-src" not in csp and page.headers["Cache-Control"] == "no-store"

    before = datetime.now(UTC)
    answer = decide(client, page)
    assert answer.status_code == 303
    target, params = redirected(answer)
    assert target == REDIRECT_URI
    assert set(params) == {"code", "state", "iss"}
    assert (params["state"], params["iss"]) == (STATE, ISSUER)

    # The consent is in the ledger, given by the person, for one day.
    [consent] = db_session.scalars(select(Consent)).all()
    assert (consent.person_id, consent.partner_id, consent.scopes, consent.method,
            consent.collected_by) == (refugee.id, website.id, "protection_status",
                                      Method.AUTHORIZATION_CODE, "person")
    assert consent.expires_at - consent.granted_at == timedelta(days=1)
    assert consent.purpose == "Accorder le tarif réduit aux personnes protégées"
    assert [event.kind for event in consent.events] == [EventKind.GIVEN]
    # The code is stored as a digest only, bound to all it was issued for, for 60 s.
    [stored] = db_session.scalars(select(AuthorizationCode)).all()
    assert stored.code_digest == services.code_digest(app.config["SECRET_KEY"], params["code"])
    assert params["code"] not in stored.code_digest
    assert (stored.client_id, stored.person_id, stored.consent_id, stored.redirect_uri,
            stored.scope, stored.code_challenge, stored.used_at) == \
        (website.client_id, refugee.id, consent.id, REDIRECT_URI, "protection_status",
         challenge, None)
    assert stored.expires_at - stored.created_at == timedelta(seconds=60)
    assert before <= stored.created_at <= datetime.now(UTC)

    response = exchange(client, assertion(partner_keys["ES256"], website.client_id),
                        params["code"], verifier)
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["token_type"], body["expires_in"], body["scope"]) == \
        ("Bearer", 300, "protection_status")
    assert "refresh_token" not in body
    claims = decode(app, body["access_token"]).claims
    subject = services.pairwise_subject(app.config["SECRET_KEY"], website.client_id, refugee.id)
    assert (claims["sub"], claims["consent_id"], claims["client_id"], claims["scope"],
            claims["aud"], claims["iss"]) == (subject, consent.id, website.client_id,
                                              "protection_status", "http://localhost/v1",
                                              ISSUER)
    # Nothing OFPRA knows the person by is in the token.
    for identifier in (str(refugee.id), refugee.ofpra_number, refugee.agdref_number):
        assert identifier not in jwt.decode(body["access_token"], app.extensions[
            "ofpra.keys"].key_set("access-token")).claims.values()
    assert claims["jti"] == services.code_token_jti(app.config["SECRET_KEY"],
                                                    stored.code_digest)

    # The question names no one: the token's person is the consent's.
    answer = ask(client, body["access_token"], {"recipient": factories.SIRET_TRANSPORT})
    assert answer.status_code == 200, answer.json
    assert answer.json == {"as_of": answer.json["as_of"], "protected": True,
                           "protection": "refugee", "protected_since": "2021-03-02"}
    [entry] = db_session.scalars(select(JournalEntry)).all()
    assert (entry.outcome, entry.basis, entry.consent_id, entry.person_id, entry.partner_id,
            entry.recipient) == ("found", "consent", consent.id, refugee.id, website.id,
                                 factories.SIRET_TRANSPORT)
    assert entry.subject_key == entries.pseudonym(app.config["PSEUDONYM_KEY"],
                                                  f"protection_status|consent:{consent.id}")


def test_the_subject_is_pairwise(app, db_session, refugee):
    secret = app.config["SECRET_KEY"]
    one = services.pairwise_subject(secret, "client-a", refugee.id)
    assert one == services.pairwise_subject(secret, "client-a", refugee.id)
    assert one != services.pairwise_subject(secret, "client-b", refugee.id)
    assert one != services.pairwise_subject("another secret of 32 characters at least", "client-a",
                                            refugee.id)
    assert len(one) == 64


def test_no_scope_asked_means_every_scope_asked_with_consent(signed_in, db_session, website):
    _verifier, challenge = pkce()
    decide(signed_in, consent_page(signed_in, website, challenge, scope=None))
    [consent] = db_session.scalars(select(Consent)).all()
    assert consent.scopes == "protection_status"


def test_the_consent_lasts_the_configured_days_within_the_habilitations_limit(
        app, signed_in, db_session, website, monkeypatch):
    [asked] = [item for item in website.habilitations[0].scopes
               if item.scope == "protection_status"]
    asked.max_consent_days = 7
    db_session.commit()
    monkeypatch.setitem(app.config, "AUTHORIZATION_CONSENT_DAYS", 30)
    _verifier, challenge = pkce()
    page = consent_page(signed_in, website, challenge)
    assert "7 days" in page.get_data(as_text=True) or "7 jours" in page.get_data(as_text=True)
    decide(signed_in, page)
    [consent] = db_session.scalars(select(Consent)).all()
    assert consent.expires_at - consent.granted_at == timedelta(days=7)


# --- signing in -----------------------------------------------------------------------------

def test_a_visitor_is_sent_to_sign_in_and_back(client, db_session, website):
    _verifier, challenge = pkce()
    path = authorize_path(website.client_id, challenge)
    response = client.get(path)
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert target.path == "/signin" and not target.netloc
    assert parse_qs(target.query) == {"next": [path]}
    assert db_session.scalars(select(Consent)).all() == []


def test_an_invalid_request_is_refused_before_asking_to_sign_in(client, db_session, website):
    _verifier, challenge = pkce()
    response = client.get(authorize_path(website.client_id, challenge,
                                         redirect_uri="https://evil.example/cb"))
    assert response.status_code == 400 and "Location" not in response.headers


# --- requests that cannot go back to the partner: a page, never a redirect --------------------

@pytest.mark.parametrize("overrides", [
    {"redirect_uri": "https://evil.example/ofpra/callback"},
    {"redirect_uri": REDIRECT_URI + "/"},
    {"redirect_uri": REDIRECT_URI + "?x=1"},
    {"redirect_uri": REDIRECT_URI.upper()},
    {"redirect_uri": None},
    {"client_id": "nobody-knows-me"},
    {"client_id": None},
    {"state": "s" * 257},
])
def test_an_untrusted_client_or_redirect_uri_gets_a_page_not_a_redirect(
        signed_in, db_session, website, overrides):
    _verifier, challenge = pkce()
    response = signed_in.get(authorize_path(**{"client_id": website.client_id,
                                                "code_challenge": challenge, **overrides}))
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True).split('<main')[1].split("</main>")[0]
    assert "We cannot continue with this request" in html or \
        "Nous ne pouvons pas donner suite à cette demande" in html
    assert "evil.example" not in html
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert db_session.scalars(select(Consent)).all() == []


def test_a_repeated_parameter_gets_a_page(signed_in, website):
    _verifier, challenge = pkce()
    path = authorize_path(website.client_id, challenge) + "&redirect_uri=https%3A%2F%2Fevil.example"
    response = signed_in.get(path)
    assert response.status_code == 400 and "Location" not in response.headers


def test_a_partner_without_redirect_uris_gets_a_page(signed_in, db_session, partner_keys):
    machine = factories.partner(db_session, {"protection_status": True}, key=partner_keys["ES256"])
    db_session.commit()
    _verifier, challenge = pkce()
    response = signed_in.get(authorize_path(machine.client_id, challenge))
    assert response.status_code == 400 and "Location" not in response.headers


# --- errors the partner is told, with state and iss --------------------------------------------

@pytest.mark.parametrize("overrides, error, words", [
    ({"code_challenge": None, "code_challenge_method": None}, "invalid_request",
     "code_challenge is required"),
    ({"code_challenge_method": None}, "invalid_request", "must be S256"),
    ({"code_challenge_method": "plain"}, "invalid_request", "plain is refused"),
    ({"code_challenge": "short"}, "invalid_request", "code_challenge"),
    ({"response_type": "token"}, "unsupported_response_type", ""),
    ({"response_type": None}, "unsupported_response_type", ""),
    ({"scope": "civil_status_progress"}, "invalid_scope", "civil_status_progress"),
    ({"scope": "civil_status"}, "invalid_scope", "civil_status"),
    ({"scope": "nationality"}, "invalid_scope", "Unknown scope"),
])
def test_other_errors_go_back_to_the_partner_with_state_and_iss(
        signed_in, db_session, website, overrides, error, words):
    verifier, challenge = pkce()
    overrides.setdefault("code_challenge", challenge)
    if overrides.get("code_challenge_method", "S256") == "plain":
        overrides["code_challenge"] = verifier
    response = signed_in.get(authorize_path(**{"client_id": website.client_id, **overrides}))
    target, params = redirected(response)
    assert target == REDIRECT_URI
    assert (params["error"], params["state"], params["iss"]) == (error, STATE, ISSUER)
    assert words in params.get("error_description", "")
    assert "code" not in params
    assert db_session.scalars(select(Consent)).all() == []


def test_a_suspended_partner_is_told_so(signed_in, db_session, website):
    website.active = False
    db_session.commit()
    _verifier, challenge = pkce()
    _target, params = redirected(signed_in.get(authorize_path(website.client_id, challenge)))
    assert (params["error"], params["iss"]) == ("unauthorized_client", ISSUER)


# --- the decision ---------------------------------------------------------------------------

def test_declining_sends_access_denied_and_records_nothing(signed_in, db_session, website):
    _verifier, challenge = pkce()
    response = decide(signed_in, consent_page(signed_in, website, challenge), "decline")
    assert response.status_code == 303
    target, params = redirected(response)
    assert target == REDIRECT_URI
    assert params == {"error": "access_denied", "state": STATE, "iss": ISSUER}
    assert db_session.scalars(select(Consent)).all() == []
    assert db_session.scalars(select(ConsentEvent)).all() == []
    assert db_session.scalars(select(AuthorizationCode)).all() == []
    assert db_session.scalars(select(JournalEntry)).all() == []


def test_without_state_the_response_has_none(signed_in, website):
    _verifier, challenge = pkce()
    response = decide(signed_in, consent_page(signed_in, website, challenge, state=None))
    _target, params = redirected(response)
    assert set(params) == {"code", "iss"}


def test_a_decision_is_taken_once(signed_in, db_session, website):
    _verifier, challenge = pkce()
    page = consent_page(signed_in, website, challenge)
    redirected(decide(signed_in, page))
    again = decide(signed_in, page)
    assert again.status_code == 400 and "Location" not in again.headers
    assert len(db_session.scalars(select(Consent)).all()) == 1


def test_the_decision_needs_the_forms_csrf_token(signed_in, db_session, website):
    _verifier, challenge = pkce()
    html = consent_page(signed_in, website, challenge).get_data(as_text=True)
    response = signed_in.post("/oauth/authorize/decision", data={
        "request": hidden(html, "request"), "decision": "accept"})
    assert response.status_code == 400 and "Location" not in response.headers
    assert db_session.scalars(select(Consent)).all() == []


def test_a_kept_request_serves_only_the_account_it_was_shown_to(client, db_session, website,
                                                                account):
    _verifier, challenge = pkce()
    sign_in(client, account)
    page = consent_page(client, website, challenge)
    other = account_for(db_session, factories.person(db_session))
    db_session.commit()
    with client.session_transaction() as session:  # another person on the same browser
        session.update(account_id=other.id, generation=0, seen=int(time.time()))
    response = decide(client, page)
    assert response.status_code == 400 and "Location" not in response.headers
    assert db_session.scalars(select(Consent)).all() == []


def test_the_kept_request_is_validated_again_at_the_decision(signed_in, db_session, website):
    _verifier, challenge = pkce()
    page = consent_page(signed_in, website, challenge)
    website.redirect_uris = ["https://partner.example/elsewhere"]
    db_session.commit()
    response = decide(signed_in, page)
    assert response.status_code == 400 and "Location" not in response.headers
    assert db_session.scalars(select(Consent)).all() == []


def test_a_kept_request_lapses(signed_in, db_session, website):
    _verifier, challenge = pkce()
    page = consent_page(signed_in, website, challenge)
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=11)):
        with signed_in.session_transaction() as session:
            session["seen"] = int(time.time())
        response = decide(signed_in, page)
    assert response.status_code == 400
    assert db_session.scalars(select(Consent)).all() == []


# --- the token endpoint ---------------------------------------------------------------------

def test_a_wrong_verifier_is_invalid_grant_and_uses_the_code_up(
        signed_in, website, assertion, partner_keys):
    verifier, challenge = pkce()
    code = code_for(signed_in, website, challenge)
    other, _ = pkce()
    response = exchange(signed_in, assertion(partner_keys["ES256"], website.client_id), code,
                        other)
    assert "challenge" in refused(response, "invalid_grant")
    response = exchange(signed_in, assertion(partner_keys["ES256"], website.client_id), code,
                        verifier)
    assert "already used" in refused(response, "invalid_grant")


def test_no_verifier_is_invalid_request(signed_in, website, assertion, partner_keys):
    _verifier, challenge = pkce()
    code = code_for(signed_in, website, challenge)
    response = exchange(signed_in, assertion(partner_keys["ES256"], website.client_id), code,
                        None)
    assert "code_verifier" in refused(response, "invalid_request")


@pytest.mark.parametrize("redirect_uri", [None, "https://partner.example/other",
                                          REDIRECT_URI + "/"])
def test_the_redirect_uri_must_be_the_same(signed_in, website, assertion, partner_keys,
                                           redirect_uri):
    verifier, challenge = pkce()
    code = code_for(signed_in, website, challenge)
    response = exchange(signed_in, assertion(partner_keys["ES256"], website.client_id), code,
                        verifier, redirect_uri=redirect_uri)
    assert "redirect_uri" in refused(response, "invalid_grant")


def test_a_code_works_once_and_its_replay_revokes_the_token(
        app, signed_in, website, assertion, partner_keys, db_session):
    verifier, challenge = pkce()
    code = code_for(signed_in, website, challenge)
    first = exchange(signed_in, assertion(partner_keys["ES256"], website.client_id), code,
                     verifier)
    assert first.status_code == 200, first.json
    token = first.json["access_token"]
    body = {"recipient": factories.SIRET_TRANSPORT}
    assert ask(signed_in, token, body).status_code == 200

    second = exchange(signed_in, assertion(partner_keys["ES256"], website.client_id), code,
                      verifier)
    assert "already used" in refused(second, "invalid_grant")
    app.extensions["ofpra.tokens"].forget()  # the revocation list is re-read every 2 s
    response = ask(signed_in, token, body)
    assert response.status_code == 401
    assert response.json["detail"] == "The access token was revoked."


def test_a_code_expires_after_60_seconds(signed_in, website, assertion, partner_keys):
    verifier, challenge = pkce()
    code = code_for(signed_in, website, challenge)
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=61)):
        response = exchange(signed_in, assertion(partner_keys["ES256"], website.client_id),
                            code, verifier)
    assert "expired" in refused(response, "invalid_grant")


def test_a_code_is_good_within_60_seconds(signed_in, website, assertion, partner_keys):
    verifier, challenge = pkce()
    code = code_for(signed_in, website, challenge)
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=55)):
        response = exchange(signed_in, assertion(partner_keys["ES256"], website.client_id),
                            code, verifier)
    assert response.status_code == 200, response.json


def test_another_client_cannot_use_the_code(signed_in, db_session, website, assertion,
                                            partner_keys):
    verifier, challenge = pkce()
    code = code_for(signed_in, website, challenge)
    thief = factories.partner(db_session, {"protection_status": True}, key=partner_keys["EdDSA"])
    thief.redirect_uris = [REDIRECT_URI]
    db_session.commit()
    response = exchange(signed_in, assertion(partner_keys["EdDSA"], thief.client_id, "EdDSA"),
                        code, verifier)
    assert "Invalid 'code'" in refused(response, "invalid_grant")
    # The thief's try did not use the code up for its client.
    response = exchange(signed_in, assertion(partner_keys["ES256"], website.client_id), code,
                        verifier)
    assert response.status_code == 200, response.json


def test_an_unknown_code_is_invalid_grant(signed_in, website, assertion, partner_keys):
    verifier, _challenge = pkce()
    response = exchange(signed_in, assertion(partner_keys["ES256"], website.client_id),
                        "not-a-code", verifier)
    refused(response, "invalid_grant")


def test_the_code_grant_needs_private_key_jwt(signed_in, website):
    verifier, challenge = pkce()
    code = code_for(signed_in, website, challenge)
    response = signed_in.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier, "client_id": website.client_id})
    refused(response, "invalid_client")


def test_a_consent_withdrawn_before_the_exchange_gives_no_token(
        signed_in, db_session, website, assertion, partner_keys):
    verifier, challenge = pkce()
    code = code_for(signed_in, website, challenge)
    [consent] = db_session.scalars(select(Consent)).all()
    ledger.withdraw(db_session, consent.id, at=datetime.now(UTC), actor="person")
    db_session.commit()
    response = exchange(signed_in, assertion(partner_keys["ES256"], website.client_id), code,
                        verifier)
    assert "no longer in force" in refused(response, "invalid_grant")


# --- the person-bound token at the API ------------------------------------------------------

@pytest.fixture()
def bound_token(signed_in, website, assertion, partner_keys):  # type: ignore[no-untyped-def]
    verifier, challenge = pkce()
    code = code_for(signed_in, website, challenge)
    response = exchange(signed_in, assertion(partner_keys["ES256"], website.client_id), code,
                        verifier)
    assert response.status_code == 200, response.json
    return response.json["access_token"]


def test_a_withdrawal_bites_on_the_very_next_question(signed_in, db_session, website,
                                                      bound_token, refugee):
    body = {"recipient": factories.SIRET_TRANSPORT}
    assert ask(signed_in, bound_token, body).status_code == 200
    [consent] = db_session.scalars(select(Consent)).all()
    ledger.withdraw(db_session, consent.id, at=datetime.now(UTC), actor="person")
    db_session.commit()
    response = ask(signed_in, bound_token, body)
    assert response.status_code == 403
    assert response.json["code"] == "consent_required"
    refusal = db_session.scalars(select(JournalEntry).order_by(JournalEntry.id.desc())).first()
    assert (refusal.outcome, refusal.person_id, refusal.consent_id) == \
        ("refused:consent_required", refugee.id, None)


def test_identifiers_with_a_person_bound_token_are_422(signed_in, db_session, bound_token):
    other = factories.person(db_session, protections=[("refugee", date(2020, 1, 1), None)])
    db_session.commit()
    response = ask(signed_in, bound_token, {"ofpra_number": other.ofpra_number,
                                            "recipient": factories.SIRET_TRANSPORT})
    assert response.status_code == 422
    assert response.json["code"] == "invalid_request"
    assert "ofpra_number" in response.json["errors"]
    assert db_session.scalars(select(JournalEntry)).all() == []


def test_the_token_carries_only_the_consented_scope(signed_in, bound_token):
    response = ask(signed_in, bound_token, {"recipient": factories.SIRET_TRANSPORT},
                   path="/v1/civil-status-progress")
    assert response.status_code == 403
    assert response.json["code"] == "insufficient_scope"


def test_introspection_names_the_consent_of_a_person_bound_token(
        app, signed_in, db_session, bound_token, assertion, partner_keys):
    service = factories.partner(db_session, {}, kind=PartnerKind.OFPRA, key=partner_keys["EdDSA"])
    db_session.commit()
    response = signed_in.post("/oauth/introspect", data={
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion(partner_keys["EdDSA"], service.client_id, "EdDSA"),
        "token": bound_token})
    assert response.status_code == 200, response.json
    [consent] = db_session.scalars(select(Consent)).all()
    assert (response.json["active"], response.json["consent_id"]) == (True, consent.id)
    assert response.json["sub"] == decode(app, bound_token).claims["sub"]


def test_the_consent_days_setting_is_checked_at_start(database_url, keys_dir, tmp_path):
    with pytest.raises(ConfigurationError, match="AUTHORIZATION_CONSENT_DAYS"):
        create_app(settings(database_url, keys_dir, tmp_path, AUTHORIZATION_CONSENT_DAYS=0))


def test_kept_requests_keep_the_cookie_small(signed_in, db_session, website):
    long_uri = "https://partner.example/" + "c" * (500 - len("https://partner.example/"))
    website.redirect_uris = [long_uri]
    db_session.commit()
    pages = []
    for _ in range(3):  # at most two are kept: the oldest goes
        _verifier, challenge = pkce()
        pages.append(consent_page(signed_in, website, challenge, redirect_uri=long_uri,
                                  state="s" * 256))
    cookie = signed_in.get_cookie("session")
    assert cookie is not None and len(cookie.value) < 3800
    assert decide(signed_in, pages[0]).status_code == 400  # evicted
    _target, params = redirected(decide(signed_in, pages[2]))
    assert params["state"] == "s" * 256
