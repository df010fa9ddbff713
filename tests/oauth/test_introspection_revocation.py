"""RFC 7662 introspection (OFPRA's own services only) and RFC 7009 revocation (own tokens)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from joserfc import jwt
from sqlalchemy import select

from app.oauth.models import RevokedToken
from tests import factories
from tests.oauth.conftest import authenticated, refused


def introspect(client, assertion, partner_keys, caller, token, **form):  # type: ignore[no-untyped-def]
    key = partner_keys["EdDSA"] if caller.kind.value == "ofpra" else partner_keys["ES256"]
    alg = "EdDSA" if caller.kind.value == "ofpra" else "ES256"
    return client.post("/oauth/introspect", data=authenticated(
        assertion(key, caller.client_id, alg), token=token, **form))


def revoke(client, assertion, partner_keys, caller, token):  # type: ignore[no-untyped-def]
    return client.post("/oauth/revoke", data=authenticated(
        assertion(partner_keys["ES256"], caller.client_id), token=token))


# --- introspection --------------------------------------------------------------------------

def test_ofpra_services_introspect_a_live_token(client, transport, ofpra_service, assertion,
                                                partner_keys, access_token):
    token = access_token(transport, "protection_status")
    response = introspect(client, assertion, partner_keys, ofpra_service, token)
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["active"], body["token_type"], body["scope"], body["client_id"], body["sub"],
            body["aud"], body["iss"]) == (True, "Bearer", "protection_status",
                                          transport.client_id, transport.client_id,
                                          "http://localhost/v1", "http://localhost")
    assert body["exp"] - body["iat"] == 300


def test_unknown_foreign_or_expired_tokens_are_inactive(client, transport, ofpra_service,
                                                        assertion, partner_keys, mint):
    for token in ("not-a-jwt", mint(transport.client_id, "protection_status", exp=1),
                  mint(transport.client_id, "protection_status",
                       iss="https://impostor.example")):
        response = introspect(client, assertion, partner_keys, ofpra_service, token)
        assert response.status_code == 200, response.json
        assert response.json == {"active": False}


def test_partners_may_not_introspect(client, transport, assertion, partner_keys, access_token):
    token = access_token(transport)
    response = introspect(client, assertion, partner_keys, transport, token)
    assert "OFPRA's own services" in refused(response, "unauthorized_client", status=403)


def test_introspection_without_client_authentication_is_401(client, transport, access_token):
    response = client.post("/oauth/introspect", data={"token": access_token(transport)})
    refused(response, "invalid_client", status=401)


# --- revocation -----------------------------------------------------------------------------

STATUS = "/v1/protection-status"


def test_a_revoked_token_is_refused_by_the_api(app, client, db_session, transport, assertion,
                                               partner_keys, access_token, ofpra_service):
    someone = factories.person(db_session, protections=[("refugee", date(2021, 3, 2), None)])
    db_session.commit()
    token = access_token(transport, "protection_status")
    ask = {"headers": {"Authorization": f"Bearer {token}"},
           "json": {"ofpra_number": someone.ofpra_number, "recipient": factories.SIRET_TRANSPORT}}
    assert client.post(STATUS, **ask).status_code == 200

    response = revoke(client, assertion, partner_keys, transport, token)
    assert response.status_code == 200, response.json
    revoked = db_session.scalars(select(RevokedToken)).one()
    claims = jwt.decode(token, app.extensions["ofpra.keys"].key_set("access-token"),
                        algorithms=["ES256"]).claims
    assert (revoked.jti, revoked.client_id) == (claims["jti"], transport.client_id)
    assert revoked.expires_at == datetime.fromtimestamp(claims["exp"], UTC)

    app.extensions["ofpra.tokens"].forget()
    response = client.post(STATUS, **ask)
    assert response.status_code == 401
    assert response.json["code"] == "invalid_token"
    assert response.json["detail"] == "The access token was revoked."
    assert introspect(client, assertion, partner_keys, ofpra_service, token).json == \
        {"active": False}


def test_revoking_twice_or_an_unknown_token_is_fine(client, db_session, transport, assertion,
                                                    partner_keys, access_token):
    token = access_token(transport)
    for value in (token, token, "not-a-jwt"):
        response = revoke(client, assertion, partner_keys, transport, value)
        assert response.status_code == 200, response.json
        assert response.json == {}
    assert len(db_session.scalars(select(RevokedToken)).all()) == 1


def test_a_client_cannot_revoke_another_clients_token(client, db_session, transport, assertion,
                                                      partner_keys, access_token):
    other = factories.partner(db_session, {"protection_status": False},
                              key=partner_keys["ES256"])
    db_session.commit()
    response = revoke(client, assertion, partner_keys, other, access_token(transport))
    assert "not issued to this client" in refused(response, "invalid_grant")
    assert db_session.scalars(select(RevokedToken)).all() == []


def test_revocation_needs_client_authentication(client, transport, access_token):
    response = client.post("/oauth/revoke", data={"token": access_token(transport)})
    refused(response, "invalid_client")


def test_an_unknown_token_type_hint_is_an_error(client, transport, assertion, partner_keys,
                                                access_token):
    response = client.post("/oauth/revoke", data=authenticated(
        assertion(partner_keys["ES256"], transport.client_id), token=access_token(transport),
        token_type_hint="id_token"))
    refused(response, "unsupported_token_type")
