"""Partners' keys and client assertions, made the way a partner's own software makes them."""

from __future__ import annotations

import secrets
import time
import warnings
from typing import Any

import pytest
from joserfc import jwk, jwt
from joserfc.errors import SecurityWarning

from app.partners.models import PartnerKind
from tests import factories

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture(scope="session")
def partner_keys() -> dict[str, jwk.Key]:
    """One key per algorithm partners may sign with (RSA generation is slow: once)."""
    return {
        "ES256": jwk.ECKey.generate_key("P-256", parameters={"kid": "es-1"}),
        "EdDSA": jwk.OKPKey.generate_key("Ed25519", parameters={"kid": "ed-1"}),
        "PS256": jwk.RSAKey.generate_key(2048, parameters={"kid": "ps-1"}),
    }


def sign(key: jwk.Key, claims: dict[str, Any], alg: str = "ES256", **header: Any) -> str:
    with warnings.catch_warnings():
        # joserfc warns a signer using "EdDSA" (RFC 9864); partners' libraries do the same.
        warnings.simplefilter("ignore", SecurityWarning)
        return jwt.encode({"alg": alg, "kid": key.kid, **header}, claims, key, algorithms=[alg])


@pytest.fixture()
def assertion(app):  # type: ignore[no-untyped-def]
    """make(key, client_id, alg, **claims): a client assertion; a claim given None is left out."""

    def make(key: jwk.Key, client_id: str, alg: str = "ES256", **claims: Any) -> str:
        now = int(time.time())
        payload = {"iss": client_id, "sub": client_id, "aud": app.config["OAUTH_ISSUER"],
                   "iat": now, "exp": now + 60, "jti": secrets.token_urlsafe(16)}
        payload.update(claims)
        return sign(key, {name: value for name, value in payload.items() if value is not None},
                    alg)

    return make


def token_request(client, client_assertion: str, **form: str):  # type: ignore[no-untyped-def]
    data = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": client_assertion, **form}
    return client.post("/oauth/token", data=data)


PROBLEM_FIELDS = {"error", "error_description", "type", "title", "status", "code", "detail",
                  "instance"}


def refused(response, error: str, status: int = 400) -> str:
    """Check an OAuth error that is also an RFC 9457 problem; return its description."""
    assert response.status_code == status, response.json
    assert response.mimetype == "application/json"
    body = response.json
    assert PROBLEM_FIELDS <= set(body)
    assert body["error"] == body["code"] == error
    assert body["status"] == status
    assert body["type"] == f"https://connect.ofpra.gouv.fr/problems/{error}"
    assert body["detail"] == body["error_description"]
    assert body["instance"].startswith("urn:request:")
    return str(body["error_description"])


def authenticated(client_assertion: str, **form: str) -> dict[str, str]:
    return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": client_assertion,
            **form}


@pytest.fixture()
def transport(db_session, partner_keys):  # type: ignore[no-untyped-def]
    partner = factories.partner(db_session, {"protection_status": False},
                                kind=PartnerKind.TRANSPORT, key=partner_keys["ES256"])
    db_session.commit()
    return partner


@pytest.fixture()
def ofpra_service(db_session, partner_keys):  # type: ignore[no-untyped-def]
    """One of OFPRA's own services (a resource server): may introspect."""
    partner = factories.partner(db_session, {}, kind=PartnerKind.OFPRA, key=partner_keys["EdDSA"])
    db_session.commit()
    return partner


@pytest.fixture()
def access_token(client, assertion, partner_keys):  # type: ignore[no-untyped-def]
    """get(partner, scope=None): an access token from POST /oauth/token, for an ES256 partner."""

    def get(partner: Any, scope: str | None = None) -> str:
        form = {"scope": scope} if scope else {}
        response = token_request(client, assertion(partner_keys["ES256"], partner.client_id),
                                 **form)
        assert response.status_code == 200, response.json
        return str(response.json["access_token"])

    return get
