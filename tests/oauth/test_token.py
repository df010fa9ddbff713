"""POST /oauth/token: client credentials for partners authenticated by private_key_jwt."""

from __future__ import annotations

import base64
import logging
import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from joserfc import jwk, jwt
from sqlalchemy import delete, select

from app import create_app
from app.config import ConfigurationError
from app.oauth import clients, services
from app.oauth.models import UsedAssertion
from app.partners.models import Habilitation, HabilitationScope, Partner
from tests import factories
from tests.conftest import settings
from tests.oauth.conftest import refused, sign, token_request


def decode(app, token: str):  # type: ignore[no-untyped-def]
    keys = app.extensions["ofpra.keys"]
    return jwt.decode(token, keys.key_set("access-token"), algorithms=["ES256"])


# --- success --------------------------------------------------------------------------------

@pytest.mark.parametrize("alg, key_name", [
    ("ES256", "ES256"), ("EdDSA", "EdDSA"), ("Ed25519", "EdDSA"), ("PS256", "PS256")])
def test_each_algorithm_gets_an_rfc9068_access_token(app, client, db_session, partner_keys,
                                                     assertion, alg, key_name):
    partner = factories.partner(db_session, {"protection_status": False},
                                key=partner_keys[key_name])
    db_session.commit()
    before = int(time.time())
    response = token_request(client, assertion(partner_keys[key_name], partner.client_id, alg),
                             scope="protection_status")
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["token_type"], body["expires_in"], body["scope"]) == \
        ("Bearer", 300, "protection_status")
    assert response.headers["Cache-Control"] == "no-store"

    token = decode(app, body["access_token"])
    signing_key = app.extensions["ofpra.keys"].signing_key("access-token")
    assert token.header == {"alg": "ES256", "typ": "at+jwt", "kid": signing_key.kid}
    claims = token.claims
    assert claims["iss"] == "http://localhost"
    assert claims["aud"] == "http://localhost/v1"
    assert claims["sub"] == claims["client_id"] == partner.client_id
    assert claims["scope"] == "protection_status"
    assert claims["exp"] - claims["iat"] == 300
    assert before <= claims["iat"] <= int(time.time())
    assert len(claims["jti"]) >= 16


def test_the_api_accepts_the_token(client, db_session, transport, access_token):
    someone = factories.person(db_session, protections=[("refugee", date(2021, 3, 2), None)])
    db_session.commit()
    token = access_token(transport, "protection_status")
    response = client.post("/v1/protection-status", headers={"Authorization": f"Bearer {token}"},
                           json={"ofpra_number": someone.ofpra_number,
                                 "recipient": factories.SIRET_TRANSPORT})
    assert response.status_code == 200, response.json
    assert (response.json["protected"], response.json["protection"]) == (True, "refugee")


def test_no_scope_asked_gets_every_scope_in_force(app, client, db_session, partner_keys,
                                                  assertion):
    partner = factories.partner(db_session, {"protection_status": False, "civil_status": True},
                                key=partner_keys["ES256"])
    db_session.commit()
    response = token_request(client, assertion(partner_keys["ES256"], partner.client_id))
    assert response.status_code == 200, response.json
    assert response.json["scope"] == "civil_status protection_status"
    assert decode(app, response.json["access_token"]).claims["scope"] == \
        "civil_status protection_status"


def test_the_token_lifetime_is_the_configured_one_and_never_over_300(database_url, keys_dir,
                                                                     tmp_path):
    with pytest.raises(ConfigurationError, match="ACCESS_TOKEN_LIFETIME"):
        create_app(settings(database_url, keys_dir, tmp_path, ACCESS_TOKEN_LIFETIME=301))


# --- scopes ---------------------------------------------------------------------------------

def test_a_scope_not_granted_is_invalid_scope(client, transport, assertion, partner_keys):
    response = token_request(client, assertion(partner_keys["ES256"], transport.client_id),
                             scope="protection_status civil_status")
    assert "civil_status" in refused(response, "invalid_scope")
    assert response.json["title"] == "The requested scope is not granted"


def test_an_unknown_scope_is_invalid_scope(client, transport, assertion, partner_keys):
    response = token_request(client, assertion(partner_keys["ES256"], transport.client_id),
                             scope="nationality")
    refused(response, "invalid_scope")


def test_a_habilitation_not_in_force_today_grants_nothing(client, db_session, partner_keys,
                                                          assertion):
    partner = factories.partner(db_session, {"protection_status": False},
                                valid_until=date.today() - timedelta(days=2),
                                key=partner_keys["ES256"])
    db_session.commit()
    response = token_request(client, assertion(partner_keys["ES256"], partner.client_id))
    assert "in force" in refused(response, "invalid_scope")
    response = token_request(client, assertion(partner_keys["ES256"], partner.client_id),
                             scope="protection_status")
    assert "protection_status" in refused(response, "invalid_scope")


# --- the client assertion -------------------------------------------------------------------

def test_a_replayed_assertion_is_refused(client, db_session, transport, assertion,
                                         partner_keys):
    made = assertion(partner_keys["ES256"], transport.client_id, jti="once-only")
    assert token_request(client, made).status_code == 200
    assert "already used" in refused(token_request(client, made), "invalid_client")
    used = db_session.scalars(select(UsedAssertion).where(
        UsedAssertion.client_id == transport.client_id)).one()
    assert used.jti == "once-only"
    # Kept until the assertion could no longer be accepted anyway (exp plus the leeway).
    assert used.expires_at > datetime.now(UTC) + timedelta(seconds=60)


def test_the_same_jti_from_two_clients_is_two_assertions(client, db_session, partner_keys,
                                                         assertion):
    first = factories.partner(db_session, {"protection_status": False}, key=partner_keys["ES256"])
    second = factories.partner(db_session, {"protection_status": False},
                               key=partner_keys["ES256"])
    db_session.commit()
    for partner in (first, second):
        made = assertion(partner_keys["ES256"], partner.client_id, jti="shared")
        assert token_request(client, made).status_code == 200


def test_a_concurrent_replay_is_refused(app, partner_keys, assertion):
    """A replay arriving while the first use is still in flight waits for it, then is refused.

    Committed for real (no rollback fixture), so the two transactions are truly concurrent.
    """
    database = app.extensions["ofpra.db"]
    with database.sessions() as setup:
        partner = factories.partner(setup, {"protection_status": False},
                                    key=partner_keys["ES256"])
        setup.commit()
    made = assertion(partner_keys["ES256"], partner.client_id, jti="raced")
    outcome = {}
    try:
        with database.sessions() as first_use:  # the first request, between its insert and commit
            expires = datetime.now(UTC) + timedelta(minutes=5)
            assert services.remember_assertion(first_use, partner.client_id, "raced", expires)
            replay = threading.Thread(target=lambda: outcome.update(
                response=token_request(app.test_client(), made)))
            replay.start()
            time.sleep(0.3)
            assert replay.is_alive(), "the replay did not wait for the first use"
            first_use.commit()
            replay.join(timeout=10)
        assert "already used" in refused(outcome["response"], "invalid_client")
    finally:
        with database.sessions() as cleanup:
            cleanup.execute(delete(UsedAssertion).where(
                UsedAssertion.client_id == partner.client_id))
            habilitations = select(Habilitation.id).where(Habilitation.partner_id == partner.id)
            cleanup.execute(delete(HabilitationScope).where(
                HabilitationScope.habilitation_id.in_(habilitations)))
            cleanup.execute(delete(Habilitation).where(Habilitation.partner_id == partner.id))
            cleanup.execute(delete(Partner).where(Partner.id == partner.id))
            cleanup.commit()


def test_an_expired_assertion_is_refused(client, transport, assertion, partner_keys):
    now = int(time.time())
    made = assertion(partner_keys["ES256"], transport.client_id, iat=now - 120, exp=now - 60)
    assert "expired" in refused(token_request(client, made), "invalid_client")


def test_an_assertion_living_over_300_seconds_is_refused(client, transport, assertion,
                                                         partner_keys):
    now = int(time.time())
    made = assertion(partner_keys["ES256"], transport.client_id, iat=now, exp=now + 301)
    assert "at most 300 s" in refused(token_request(client, made), "invalid_client")
    made = assertion(partner_keys["ES256"], transport.client_id, iat=now, exp=now + 300)
    assert token_request(client, made).status_code == 200


@pytest.mark.parametrize("missing", ["jti", "iat", "exp"])
def test_jti_iat_and_exp_are_required(client, transport, assertion, partner_keys, missing):
    made = assertion(partner_keys["ES256"], transport.client_id, **{missing: None})
    assert missing in refused(token_request(client, made), "invalid_client")


@pytest.mark.parametrize("aud", [
    "http://localhost/oauth/token",
    ["http://localhost", "https://elsewhere.example"],
    "https://elsewhere.example",
])
def test_aud_must_be_the_issuer_alone(client, transport, assertion, partner_keys, aud):
    made = assertion(partner_keys["ES256"], transport.client_id, aud=aud)
    assert "aud must be the issuer" in refused(token_request(client, made), "invalid_client")


def test_iss_and_sub_must_both_be_the_client(client, transport, assertion, partner_keys):
    made = assertion(partner_keys["ES256"], transport.client_id, iss="someone-else")
    assert "iss and sub" in refused(token_request(client, made), "invalid_client")


def test_a_wrong_signature_is_refused(client, transport, assertion):
    impostor = jwk.ECKey.generate_key("P-256", parameters={"kid": "es-1"})
    made = assertion(impostor, transport.client_id)
    assert "does not verify" in refused(token_request(client, made), "invalid_client")


def test_an_unaccepted_algorithm_is_refused(client, transport, partner_keys):
    now = int(time.time())
    claims = {"iss": transport.client_id, "sub": transport.client_id, "aud": "http://localhost",
              "iat": now, "exp": now + 60, "jti": "hs"}
    made = sign(jwk.OctKey.generate_key(256, parameters={"kid": "es-1"}), claims, "HS256")
    assert "ES256, EdDSA (Ed25519) or PS256" in refused(token_request(client, made),
                                                         "invalid_client")


def test_an_unknown_client_is_refused(client, db_session, assertion, partner_keys):
    made = assertion(partner_keys["ES256"], "nobody")
    assert "does not exist" in refused(token_request(client, made), "invalid_client")


def test_a_suspended_partner_is_refused(client, db_session, assertion, partner_keys):
    partner = factories.partner(db_session, {"protection_status": False}, active=False,
                                key=partner_keys["ES256"])
    db_session.commit()
    made = assertion(partner_keys["ES256"], partner.client_id)
    assert "suspended" in refused(token_request(client, made), "invalid_client")


def test_a_client_id_parameter_must_match_the_assertion(client, transport, assertion,
                                                        partner_keys):
    made = assertion(partner_keys["ES256"], transport.client_id)
    response = token_request(client, made, client_id="another-client")
    assert "does not match" in refused(response, "invalid_client")


def test_no_client_authentication_is_refused(client, db_session):
    response = client.post("/oauth/token", data={"grant_type": "client_credentials"})
    assert "private_key_jwt" in refused(response, "invalid_client")


def test_other_grants_are_unsupported(client, db_session):
    response = client.post("/oauth/token", data={"grant_type": "password", "username": "a",
                                                 "password": "b"})
    refused(response, "unsupported_grant_type")


# --- shared secrets -------------------------------------------------------------------------

def basic(client_id: str, secret: str) -> dict[str, str]:
    credentials = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {credentials}"}


@pytest.fixture()
def secret_partner(db_session):  # type: ignore[no-untyped-def]
    partner = factories.partner(db_session, {"protection_status": False})
    partner.token_endpoint_auth_method = "client_secret_basic"
    partner.client_secret_hash = clients.hash_secret("correct horse battery staple")
    db_session.commit()
    return partner


def test_secrets_are_refused_by_default(client, secret_partner):
    response = client.post("/oauth/token", data={"grant_type": "client_credentials"},
                           headers=basic(secret_partner.client_id, "correct horse battery staple"))
    refused(response, "invalid_client", status=401)
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    response = client.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": secret_partner.client_id,
        "client_secret": "correct horse battery staple"})
    refused(response, "invalid_client")


@pytest.fixture(scope="session")
def secret_app(app, database_url, keys_dir, tmp_path_factory):  # type: ignore[no-untyped-def]
    """The same service with ALLOW_CLIENT_SECRET, on the same database (and rollback)."""
    other = create_app(settings(database_url, keys_dir, tmp_path_factory.mktemp("secrets"),
                                ALLOW_CLIENT_SECRET=True))
    other.extensions["ofpra.db"].engine.dispose()
    other.extensions["ofpra.db"] = app.extensions["ofpra.db"]
    return other


def test_secrets_work_only_where_allowed_and_only_the_right_one(app, secret_app, db_session,
                                                                secret_partner):
    client = secret_app.test_client()
    response = client.post("/oauth/token", data={"grant_type": "client_credentials"},
                           headers=basic(secret_partner.client_id, "correct horse battery staple"))
    assert response.status_code == 200, response.json
    assert decode(app, response.json["access_token"]).claims["client_id"] == \
        secret_partner.client_id
    response = client.post("/oauth/token", data={"grant_type": "client_credentials"},
                           headers=basic(secret_partner.client_id, "wrong"))
    refused(response, "invalid_client", status=401)
    methods = client.get("/.well-known/oauth-authorization-server").json[
        "token_endpoint_auth_methods_supported"]
    assert methods == ["private_key_jwt", "client_secret_basic", "client_secret_post"]


def test_secret_hashes_are_salted_and_checked_in_constant_time():
    stored = clients.hash_secret("s3cret")
    assert stored.startswith("scrypt$") and "s3cret" not in stored
    assert stored != clients.hash_secret("s3cret")
    assert clients.check_secret("s3cret", stored)
    assert not clients.check_secret("s3cret!", stored)
    assert not clients.check_secret("s3cret", "not-a-hash")


# --- logs -----------------------------------------------------------------------------------

def test_no_identifier_or_secret_reaches_the_logs(client, transport, assertion, partner_keys,
                                                  caplog):
    caplog.set_level(logging.DEBUG)
    made = assertion(partner_keys["ES256"], transport.client_id)
    response = token_request(client, made)
    assert response.status_code == 200
    refused(token_request(client, made), "invalid_client")
    logged = caplog.text
    for secret in (transport.client_id, made, response.json["access_token"]):
        assert secret not in logged



# --- the date of habilitations --------------------------------------------------------------

@pytest.mark.parametrize("utc_time, granted", [
    (datetime(2025, 12, 31, 22, 30, tzinfo=UTC), False),  # 23:30 in Paris: still 31 December
    (datetime(2025, 12, 31, 23, 30, tzinfo=UTC), True),  # 00:30 in Paris: 1 January
])
def test_habilitations_are_in_force_by_the_paris_date(client, db_session, partner_keys,
                                                      assertion, utc_time, granted):
    partner = factories.partner(db_session, {"protection_status": False},
                                valid_from=date(2026, 1, 1), key=partner_keys["ES256"])
    db_session.commit()
    with time_machine.travel(utc_time):
        response = token_request(client, assertion(partner_keys["ES256"], partner.client_id))
    if granted:
        assert response.status_code == 200, response.json
        assert response.json["scope"] == "protection_status"
    else:
        assert "in force" in refused(response, "invalid_scope")
