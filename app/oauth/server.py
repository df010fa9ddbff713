"""The OAuth 2 authorization server, on Authlib: partners get access tokens here.

- Client credentials only, for partners authenticated by `private_key_jwt` (RFC 7523): an
  assertion signed with ES256, EdDSA (Ed25519) or PS256, `aud` = the issuer, used once.
  Shared secrets are refused unless ALLOW_CLIENT_SECRET is on.
- Access tokens are RFC 9068 JWTs for this API, at most 300 s, carrying the scopes the
  partner's habilitations grant today (Paris time).
- Published: RFC 8414 metadata, the JWKS, RFC 7662 introspection (OFPRA's own services only)
  and RFC 7009 revocation.

Errors keep the RFC 6749 body (`error`, `error_description`) that OAuth clients read, plus the
RFC 9457 fields every other error of this service carries (`type`, `title`, `status`, `code`,
`detail`, `instance`). Each view is its request's one commit point: client authentication
records the assertion's `jti` even when the request then fails.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from authlib.integrations import flask_oauth2
from authlib.oauth2.base import OAuth2Error
from authlib.oauth2.rfc6749 import (
    InvalidClientError,
    InvalidGrantError,
    InvalidScopeError,
    grants,
)
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oauth2.rfc8414 import get_well_known_url
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from flask import Blueprint, Flask, Response, current_app, jsonify, request
from joserfc import jwk, jws, jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    JoseError,
    MissingClaimError,
    UnsupportedAlgorithmError,
)

from app import config as settings
from app import web
from app.oauth import clients, services

PURPOSE = "access-token"
PARIS = ZoneInfo("Europe/Paris")
MAX_ACCESS_TOKEN_LIFETIME = 300
# Clock skew allowed on a partner's assertion (its iat, nbf and exp).
LEEWAY = 10
JTI_MAX_LENGTH = 128
# Discovery documents change only with a key rotation or a deployment; the JWKS keeps old keys.
PUBLIC_CACHE = "public, max-age=300"

TITLES = {
    "invalid_request": "The OAuth request is not valid",
    "invalid_client": "Client authentication failed",
    "invalid_grant": "The grant or token is not valid for this client",
    "unauthorized_client": "This client may not do this",
    "unsupported_grant_type": "Only the client_credentials grant is supported",
    "invalid_scope": "The requested scope is not granted",
    "unsupported_token_type": "This token type is not supported",
    "insecure_transport": "OAuth requires HTTPS",
}


def today() -> date:
    """Today's date in Paris, the date habilitations are written in."""
    return datetime.now(PARIS).date()


class AssertionAlgorithms(jws.JWSRegistry):
    """ES256, PS256 and EdDSA over Ed25519 only, for client assertions.

    joserfc warns on "EdDSA" because RFC 9864 deprecates that name, which also covers Ed448.
    It is verified here as the fully specified Ed25519, which checks the curve, so the
    ambiguity the warning is about cannot arise.
    """

    def get_alg(self, name: str) -> Any:
        return super().get_alg("Ed25519" if name == "EdDSA" else name)


ASSERTION_REGISTRY = AssertionAlgorithms(algorithms=["ES256", "PS256", "Ed25519"])


class PrivateKeyJWT(JWTBearerClientAssertion):  # type: ignore[misc]  # Authlib is untyped
    """`private_key_jwt` client authentication (RFC 7523 section 2.2), with a strict profile."""

    CLIENT_AUTH_METHOD = clients.PRIVATE_KEY_JWT

    def __init__(self, issuer: str, max_lifetime: int) -> None:
        super().__init__(leeway=LEEWAY)
        self.issuer = issuer
        self.max_lifetime = max_lifetime

    def __call__(self, query_client: Any, oauth_request: Any) -> clients.Client | None:
        client = super().__call__(query_client, oauth_request)
        given = oauth_request.form.get("client_id")
        if client is not None and given and given != client.client_id:
            raise InvalidClientError(description="client_id does not match the assertion.")
        return client  # type: ignore[no-any-return]

    def get_audiences(self) -> list[str]:
        return [self.issuer]

    def resolve_client_public_key(self, client: clients.Client) -> jwk.KeySet:
        try:
            return client.key_set()
        except (JoseError, ValueError, KeyError, TypeError) as error:
            raise InvalidClientError(
                description="This client has no usable registered key.") from error

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> dict[str, Any]:
        """Verify the signature (algorithms named explicitly), then the claims."""
        try:
            token = jwt.decode(assertion, resolve_key, registry=ASSERTION_REGISTRY)
        except UnsupportedAlgorithmError as error:
            raise InvalidClientError(description="Sign the client assertion with ES256, "
                                                 "EdDSA (Ed25519) or PS256.") from error
        except BadSignatureError as error:
            raise InvalidClientError(
                description="The client assertion signature does not verify.") from error
        except (JoseError, ValueError) as error:
            # No key of this kid and algorithm, or not a JWT: the messages may echo the input.
            raise InvalidClientError(description="The client assertion cannot be verified "
                                                 "with the keys registered for this client.") \
                from error
        self.verify_claims(token.claims)
        return token.claims

    def verify_claims(self, claims: dict[str, Any]) -> None:
        registry = jwt.JWTClaimsRegistry(
            leeway=LEEWAY,
            iss={"essential": True}, sub={"essential": True}, aud={"essential": True},
            exp={"essential": True}, iat={"essential": True}, jti={"essential": True},
        )
        try:
            registry.validate(claims)
        except ExpiredTokenError as error:
            raise InvalidClientError(description="The client assertion has expired.") from error
        except MissingClaimError as error:
            raise InvalidClientError(
                description=f"The client assertion lacks: {error.claim}.") from error
        except JoseError as error:
            raise InvalidClientError(description="The client assertion claims are not valid "
                                                 "(iss, sub, aud, exp, iat, nbf, jti).") from error
        if claims["iss"] != claims["sub"]:
            raise InvalidClientError(description="iss and sub must both be the client_id.")
        # RFC 7523bis: the audience is the issuer itself, alone, so that an assertion made
        # for another server (or for several) is never accepted here.
        if claims["aud"] not in (self.issuer, [self.issuer]):
            raise InvalidClientError(description=f"aud must be the issuer, {self.issuer}.")
        if claims["exp"] - claims["iat"] > self.max_lifetime:
            raise InvalidClientError(description=f"The client assertion may live at most "
                                                 f"{self.max_lifetime} s (exp - iat).")
        jti = claims["jti"]
        if not 0 < len(jti) <= JTI_MAX_LENGTH:
            raise InvalidClientError(description=f"jti must have 1 to {JTI_MAX_LENGTH} "
                                                 f"characters.")
        expires_at = datetime.fromtimestamp(claims["exp"] + LEEWAY, UTC)
        if not services.remember_assertion(web.session(), claims["sub"], jti, expires_at):
            raise InvalidClientError(description="This client assertion was already used: "
                                                 "make a new one, with a new jti.")


class AccessTokens(JWTBearerTokenGenerator):  # type: ignore[misc]
    """RFC 9068 access tokens for this API, signed by the newest access-token key."""

    def __init__(self, keys: Any, issuer: str, audience: str, lifetime: int) -> None:
        super().__init__(issuer, alg=keys.algorithm(PURPOSE), expires_generator=lifetime)
        self.keys = keys
        self.audience = audience

    def get_jwks(self) -> jwk.KeySet:
        # A one-key set: joserfc then writes that key's kid in the header.
        return jwk.KeySet([self.keys.signing_key(PURPOSE)])

    def get_audiences(self, client: Any, user: Any, scope: str) -> str:
        return self.audience


class ClientCredentials(grants.ClientCredentialsGrant):  # type: ignore[misc]
    def __init__(self, oauth_request: Any, server: Server) -> None:
        super().__init__(oauth_request, server)
        self.TOKEN_ENDPOINT_AUTH_METHODS = server.auth_methods

    def validate_requested_scope(self) -> None:
        """Refuse scopes this server does not know or the client's habilitations do not grant."""
        super().validate_requested_scope()
        scope = self.request.payload.scope
        client: clients.Client = self.client
        missing = client.missing_scopes(scope)
        if missing:
            raise InvalidScopeError(description="Not granted to this client today: "
                                                f"{' '.join(missing)}.")
        if client.get_allowed_scope(scope) is None:
            raise InvalidScopeError(description="No habilitation of this client is in force "
                                                "today.")


@dataclass(frozen=True)
class IssuedToken:
    """A live access token this server issued, as introspection and revocation see it."""

    claims: dict[str, Any]
    revoked: bool

    def check_client(self, client: clients.Client) -> bool:
        return bool(self.claims["client_id"] == client.client_id)

    def is_expired(self) -> bool:
        return False  # read_access_token returns live tokens only

    def is_revoked(self) -> bool:
        return self.revoked


class IntrospectionForbidden(OAuth2Error):  # type: ignore[misc]
    error = "unauthorized_client"
    status_code = 403
    description = "Only OFPRA's own services may introspect tokens."


class Introspection(IntrospectionEndpoint):  # type: ignore[misc]
    """RFC 7662, for OFPRA's own services (partners of kind `ofpra`) only."""

    def __init__(self, server: Server) -> None:
        super().__init__(server)
        self.CLIENT_AUTH_METHODS = server.auth_methods

    def authenticate_endpoint_client(self, oauth_request: Any) -> clients.Client:
        try:
            client: clients.Client = super().authenticate_endpoint_client(oauth_request)
        except InvalidClientError as error:
            error.status_code = 401  # RFC 7662 section 2.3
            raise
        if client.kind != clients.OFPRA_KIND:
            raise IntrospectionForbidden()
        return client

    def query_token(self, token_string: str, token_type_hint: str | None) -> IssuedToken | None:
        return self.server.read_token(token_string)  # type: ignore[no-any-return]

    def check_permission(self, token: IssuedToken, client: clients.Client,
                         oauth_request: Any) -> bool:
        return True  # the caller is one of OFPRA's services: authenticate_endpoint_client

    def introspect_token(self, token: IssuedToken) -> dict[str, Any]:
        claims = token.claims
        return {
            "active": True, "token_type": "Bearer", "scope": claims.get("scope", ""),
            "client_id": claims["client_id"], "sub": claims["sub"], "aud": claims["aud"],
            "iss": claims["iss"], "exp": claims["exp"], "iat": claims["iat"],
            "jti": claims["jti"],
        }


class Revocation(RevocationEndpoint):  # type: ignore[misc]
    """RFC 7009: a client revokes its own access token, until that token would expire."""

    def __init__(self, server: Server) -> None:
        super().__init__(server)
        self.CLIENT_AUTH_METHODS = server.auth_methods

    def query_token(self, token_string: str, token_type_hint: str | None) -> IssuedToken | None:
        # Only access tokens exist here: a "refresh_token" hint is searched as one too.
        return self.server.read_token(token_string)  # type: ignore[no-any-return]

    def authenticate_token(self, oauth_request: Any, client: clients.Client) -> Any:
        self.check_params(oauth_request, client)
        token = self.query_token(oauth_request.form["token"],
                                 oauth_request.form.get("token_type_hint"))
        if token is not None and not token.check_client(client):
            raise InvalidGrantError(description="This token was not issued to this client.")
        # An unknown, invalid or expired token needs no revocation: 200 all the same.
        return token

    def revoke_token(self, token: IssuedToken, oauth_request: Any) -> None:
        services.revoke(web.session(), str(token.claims["jti"]), str(token.claims["client_id"]),
                        datetime.fromtimestamp(token.claims["exp"], UTC))


class Server(flask_oauth2.AuthorizationServer):  # type: ignore[misc]
    def __init__(self, app: Flask) -> None:
        super().__init__()
        lifetime = int(app.config["ACCESS_TOKEN_LIFETIME"])
        if not 0 < lifetime <= MAX_ACCESS_TOKEN_LIFETIME:
            raise settings.ConfigurationError(
                f"ACCESS_TOKEN_LIFETIME must be 1 to {MAX_ACCESS_TOKEN_LIFETIME} seconds")
        max_assertion = int(app.config["CLIENT_ASSERTION_MAX_LIFETIME"])
        if max_assertion <= 0:
            raise settings.ConfigurationError("CLIENT_ASSERTION_MAX_LIFETIME must be positive")
        self.issuer: str = app.config["OAUTH_ISSUER"]
        self.audience: str = app.config["API_AUDIENCE"]
        self.keys = app.extensions["ofpra.keys"]
        self.auth_methods = [clients.PRIVATE_KEY_JWT]
        if app.config["ALLOW_CLIENT_SECRET"]:
            self.auth_methods += clients.SECRET_METHODS
        self.scopes_supported = list(settings.SCOPES)
        self.register_token_generator(
            "default", AccessTokens(self.keys, self.issuer, self.audience, lifetime))
        self.register_client_auth_method(clients.PRIVATE_KEY_JWT,
                                         PrivateKeyJWT(self.issuer, max_assertion))
        self.register_grant(ClientCredentials)
        self.register_endpoint(Introspection(self))
        self.register_endpoint(Revocation(self))

    def query_client(self, client_id: str) -> clients.Client | None:
        # Read in a short session of its own, so that the request's transaction begins with
        # its write (the assertion's jti): SQLite then queues concurrent writers instead of
        # failing the one that had read first.
        with current_app.extensions["ofpra.db"].sessions() as db_session:
            return clients.find(db_session, client_id, today())

    def save_token(self, token: dict[str, Any], oauth_request: Any) -> None:
        """Nothing to store: the JWT is self-contained; a revocation records its jti."""

    def authenticate_client(self, oauth_request: Any, methods: list[str],
                            endpoint: str = "token") -> clients.Client:
        client: clients.Client = super().authenticate_client(oauth_request, methods, endpoint)
        # Checked once the client has proved who it is, so that nobody can probe for it.
        if not client.active:
            raise InvalidClientError(description="This client is suspended.")
        return client

    def read_token(self, token: str) -> IssuedToken | None:
        """Return a live access token of this server with its revocation state, else None."""
        claims = services.read_access_token(token, self.keys.key_set(PURPOSE),
                                            self.keys.algorithm(PURPOSE), self.issuer,
                                            self.audience, int(time.time()))
        if claims is None:
            return None
        return IssuedToken(claims, services.is_revoked(web.session(), str(claims["jti"])))

    def handle_error_response(self, oauth_request: Any, error: OAuth2Error) -> Response:
        """The RFC 6749 error body, with the RFC 9457 problem fields added."""
        if error.error == "invalid_client" and "Authorization" in request.headers:
            # RFC 6749 section 5.2: a client that tried HTTP authentication gets a 401.
            error.status_code = 401
        if error.error == "unsupported_token_type":
            error.status_code = 400  # RFC 7009 section 2.2.1: an error response, not a 401
        status, body, headers = error(self.get_error_uri(oauth_request, error))
        code = str(body["error"])
        title = TITLES.get(code, "The OAuth request failed")
        # Authlib leaves some descriptions out (or would echo the request): the title says it.
        body.setdefault("error_description", title)
        body.update({
            "type": web.PROBLEM_TYPE + code, "title": title, "status": status, "code": code,
            "detail": body["error_description"], "instance": f"urn:request:{web.request_id()}",
        })
        return self.handle_response(status, body, headers)  # type: ignore[no-any-return]

    def metadata(self) -> dict[str, Any]:
        """RFC 8414 metadata."""
        algorithms = list(clients.ASSERTION_ALGORITHMS)
        return {
            "issuer": self.issuer,
            "token_endpoint": f"{self.issuer}/oauth/token",
            "jwks_uri": f"{self.issuer}/oauth/jwks",
            "introspection_endpoint": f"{self.issuer}/oauth/introspect",
            "revocation_endpoint": f"{self.issuer}/oauth/revoke",
            "grant_types_supported": [clients.GRANT_TYPE],
            # No authorization endpoint yet: the person-present flow will add "code".
            "response_types_supported": [],
            "scopes_supported": list(settings.SCOPES),
            "token_endpoint_auth_methods_supported": list(self.auth_methods),
            "token_endpoint_auth_signing_alg_values_supported": algorithms,
            "introspection_endpoint_auth_methods_supported": list(self.auth_methods),
            "introspection_endpoint_auth_signing_alg_values_supported": algorithms,
            "revocation_endpoint_auth_methods_supported": list(self.auth_methods),
            "revocation_endpoint_auth_signing_alg_values_supported": algorithms,
            "service_documentation": f"{self.issuer}/docs",
        }


def server() -> Server:
    return current_app.extensions["ofpra.oauth"]  # type: ignore[no-any-return]


def _answer(endpoint: str | None) -> Response:
    """Run an Authlib endpoint, then commit this request's one transaction."""
    try:
        if endpoint is None:
            response: Response = server().create_token_response()
        else:
            response = server().create_endpoint_response(endpoint)
    except OAuth2Error as error:  # raised before Authlib's own handling (e.g. plain HTTP)
        response = server().handle_error_response(None, error)
    web.session().commit()
    return response


def token() -> Response:
    return _answer(None)


def introspect() -> Response:
    return _answer("introspection")


def revoke() -> Response:
    return _answer("revocation")


def metadata() -> Response:
    response = jsonify(server().metadata())
    response.headers["Cache-Control"] = PUBLIC_CACHE
    return response


def jwks() -> Response:
    response = jsonify(server().keys.public_jwks(PURPOSE))
    response.headers["Cache-Control"] = PUBLIC_CACHE
    return response


def init_app(app: Flask) -> None:
    oauth_server = Server(app)
    app.extensions["ofpra.oauth"] = oauth_server
    blueprint = Blueprint("oauth", __name__)
    blueprint.add_url_rule("/oauth/token", view_func=token, methods=["POST"])
    blueprint.add_url_rule("/oauth/introspect", view_func=introspect, methods=["POST"])
    blueprint.add_url_rule("/oauth/revoke", view_func=revoke, methods=["POST"])
    blueprint.add_url_rule("/oauth/jwks", view_func=jwks, methods=["GET"])
    # RFC 8414 section 3: an issuer with a path has its metadata under that path.
    blueprint.add_url_rule(get_well_known_url(oauth_server.issuer), view_func=metadata,
                           methods=["GET"])
    app.register_blueprint(blueprint)
    # Authlib logs client ids and whole issued tokens at DEBUG: never let that reach a log.
    logging.getLogger("authlib").setLevel(logging.INFO)
