"""RFC 8414 metadata and the JWKS: what partners and resource servers discover."""

from __future__ import annotations

from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from joserfc import jwk, jwt


def test_metadata_says_what_the_server_does(client):
    response = client.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.json == {
        "issuer": "http://localhost",
        "token_endpoint": "http://localhost/oauth/token",
        "jwks_uri": "http://localhost/oauth/jwks",
        "introspection_endpoint": "http://localhost/oauth/introspect",
        "revocation_endpoint": "http://localhost/oauth/revoke",
        "authorization_endpoint": "http://localhost/oauth/authorize",
        "grant_types_supported": ["client_credentials", "authorization_code"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
        "scopes_supported": ["protection_status", "civil_status_progress", "civil_status"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["ES256", "EdDSA", "Ed25519",
                                                             "PS256"],
        "introspection_endpoint_auth_methods_supported": ["private_key_jwt"],
        "introspection_endpoint_auth_signing_alg_values_supported": ["ES256", "EdDSA",
                                                                     "Ed25519", "PS256"],
        "revocation_endpoint_auth_methods_supported": ["private_key_jwt"],
        "revocation_endpoint_auth_signing_alg_values_supported": ["ES256", "EdDSA", "Ed25519",
                                                                  "PS256"],
        "service_documentation": "http://localhost/docs",
    }


def test_metadata_passes_authlibs_rfc8414_checks(client):
    metadata = AuthorizationServerMetadata(
        client.get("/.well-known/oauth-authorization-server").json)
    checked = [name for name in dir(metadata) if name.startswith("validate_")]
    assert "validate_authorization_endpoint" in checked
    assert "validate_code_challenge_methods_supported" in checked
    for name in checked:
        getattr(metadata, name)()


def test_jwks_publishes_the_access_token_signing_key(app, client):
    response = client.get("/oauth/jwks")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=300"
    signing_key = app.extensions["ofpra.keys"].signing_key("access-token")
    published = response.json["keys"]
    assert signing_key.as_dict(private=False) in published
    assert all("d" not in key for key in published)
    assert {key["kid"] for key in published} == \
        {key.kid for key in app.extensions["ofpra.keys"].keys("access-token")}


def test_a_resource_server_verifies_tokens_with_the_published_jwks(client, transport,
                                                                  access_token):
    key_set = jwk.KeySet.import_key_set(client.get("/oauth/jwks").json)
    token = jwt.decode(access_token(transport), key_set, algorithms=["ES256"])
    assert token.claims["client_id"] == transport.client_id
