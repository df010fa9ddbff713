"""The OAuth 2 authorization server, on Authlib: partners get access tokens here.

- Client credentials, for partners authenticated by `private_key_jwt` (RFC 7523): an
  assertion signed with ES256, EdDSA (Ed25519) or PS256, `aud` = the issuer, used once.
  Shared secrets are refused unless ALLOW_CLIENT_SECRET is on.
- The authorization code grant, for the person present on a partner's website (the
  authorization endpoint itself is app/oauth/authorize.py): PKCE with S256 only and always,
  exact redirect URIs, `iss` in every authorization response (RFC 9207), codes single-use and
  valid 60 s, `private_key_jwt` only whatever ALLOW_CLIENT_SECRET says. Its token is bound to
  the person and to the consent they gave: `sub` is a pairwise pseudonym, `consent_id` names
  the consent, and the API answers only while that consent is in force.
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
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from authlib.integrations import flask_oauth2
from authlib.oauth2.base import OAuth2Error
from authlib.oauth2.rfc6749 import (
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Request,
    UnauthorizedClientError,
    grants,
)
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
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
# A client's `state` comes back in the redirect and is kept meanwhile in the person's session
# cookie: bounded, so that the cookie stays well under browsers' 4 KB.
STATE_MAX_LENGTH = 256

TITLES = {
    "invalid_request": "The OAuth request is not valid",
    "invalid_client": "Client authentication failed",
    "invalid_grant": "The grant or token is not valid for this client",
    "unauthorized_client": "This client may not do this",
    "unsupported_grant_type": "Only the client_credentials and authorization_code grants are "
                              "supported",
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

    def get_jti(self, client: Any, grant_type: str, user: Any, scope: str) -> str:
        # A person-bound token's jti derives from its code: a replayed code can revoke it.
        if isinstance(user, services.Grantor):
            return user.jti
        return super().get_jti(client, grant_type, user, scope)  # type: ignore[no-any-return]

    def get_extra_claims(self, client: Any, grant_type: str, user: Any,
                         scope: str) -> dict[str, Any]:
        if isinstance(user, services.Grantor):
            return {"consent_id": user.consent_id}
        return {}


class ClientCredentials(grants.ClientCredentialsGrant):  # type: ignore[misc]
    def __init__(self, oauth_request: Any, server: Server) -> None:
        super().__init__(oauth_request, server)
        self.TOKEN_ENDPOINT_AUTH_METHODS = server.auth_methods

    def validate_requested_scope(self) -> None:
        """Refuse scopes this server does not know or the client's habilitations do not grant."""
        super().validate_requested_scope()
        scope = self.request.payload.scope
        client: clients.Client = self.client
        reserved = [item for item in dict.fromkeys((scope or "").split())
                    if item in clients.BACKOFFICE_SCOPES]
        if reserved and client.kind != clients.OFPRA_KIND:
            raise InvalidScopeError(description="Reserved for OFPRA's own systems: "
                                                f"{' '.join(reserved)}.")
        missing = client.missing_scopes(scope)
        if missing:
            raise InvalidScopeError(description="Not granted to this client today: "
                                                f"{' '.join(missing)}.")
        if client.get_allowed_scope(scope) is None:
            raise InvalidScopeError(description="No habilitation of this client is in force "
                                                "today.")


class S256Only(CodeChallenge):  # type: ignore[misc]
    """PKCE (RFC 7636) on every authorization request, S256 only (RFC 9700 section 2.1.1).

    `plain` is refused, and so is a request naming no method, which RFC 7636 would take as
    plain. The verifier is required at the token endpoint from every client.
    """

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def __init__(self) -> None:
        super().__init__(required=True)

    def validate_code_challenge(self, grant: Any, redirect_uri: Any) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("code_challenge is required (PKCE, RFC 7636, S256).")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256: plain is refused.")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("code_verifier is required (PKCE, RFC 7636).")
        super().validate_code_verifier(grant, result)

    def get_authorization_code_challenge_method(self, authorization_code: Any) -> str:
        return "S256"  # the only method ever accepted when the code was made


@dataclass(frozen=True)
class IssuedCode:
    """A code just marked used, as Authlib's grant reads it."""

    digest: str
    person_id: int
    consent_id: str
    redirect_uri: str
    scope: str
    code_challenge: str

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


class AuthorizationCodeFlow(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    """The person present on a partner's website (RFC 6749 section 4.1, profiled by FAPI 2.0).

    At the authorization endpoint: a known client, a redirect URI registered exactly, only
    scopes its habilitations in force ask with consent. At the token endpoint:
    `private_key_jwt`, the code (single-use, 60 s), the same redirect URI, the PKCE verifier.
    """

    TOKEN_ENDPOINT_AUTH_METHODS = [clients.PRIVATE_KEY_JWT]

    def validate_authorization_request(self) -> str:
        state = self.request.payload.state
        if state is not None and len(state) > STATE_MAX_LENGTH:
            # Not sent back: the client would get the overlong state again.
            raise InvalidRequestError(f"state may have at most {STATE_MAX_LENGTH} characters.")
        redirect_uri: str = super().validate_authorization_request()
        client: clients.Client = self.client
        if not client.active:
            raise UnauthorizedClientError("This partner's access is suspended.",
                                          redirect_uri=redirect_uri)
        if not self.request.payload.scope:
            # No scope asked: every scope the partner asks with consent (checked non-empty).
            self.request.scope = " ".join(client.consent_scopes)
        return redirect_uri

    def validate_requested_scope(self) -> None:
        """Only scopes that a habilitation in force grants with the person's consent."""
        client: clients.Client = self.client
        asked = list(dict.fromkeys((self.request.payload.scope or "").split()))
        unknown = [scope for scope in asked if scope not in settings.SCOPES]
        if unknown:
            raise InvalidScopeError(description=f"Unknown scope: {' '.join(unknown)}.")
        if not asked and not client.consent_scopes:
            raise InvalidScopeError(description="This partner asks no scope with the person's "
                                                "consent today.")
        refused = [scope for scope in asked if scope not in client.consent_scopes]
        if refused:
            raise InvalidScopeError(description="Not asked with the person's consent under a "
                                                f"habilitation in force: {' '.join(refused)}.")

    def save_authorization_code(self, code: str, oauth_request: Any) -> None:
        grantor: services.Grantor = oauth_request.user
        services.save_code(
            web.session(), digest=services.code_digest(self.server.secret, code),
            client_id=oauth_request.client.client_id, person_id=grantor.person_id,
            consent_id=grantor.consent_id, redirect_uri=oauth_request.payload.redirect_uri,
            scope=oauth_request.scope,
            code_challenge=oauth_request.payload.data["code_challenge"],
            now=datetime.now(UTC))

    def query_authorization_code(self, code: str, client: clients.Client) -> IssuedCode | None:
        """Use the code up (whatever follows); refuse one used before, revoking its token."""
        digest = services.code_digest(self.server.secret, code)
        state, row = services.use_code(web.session(), digest, client.client_id,
                                       datetime.now(UTC))
        if row is None:
            return None  # Authlib: invalid_grant, "Invalid 'code' in request."
        if state is services.CodeState.USED:
            # RFC 6749 section 4.1.2: a code used twice was intercepted or replayed; the
            # token its first use gave (if any) is revoked until it would have expired.
            used_at = row.used_at or datetime.now(UTC)
            services.revoke(web.session(), services.code_token_jti(self.server.secret, digest),
                            client.client_id,
                            used_at + timedelta(seconds=self.server.lifetime + LEEWAY))
            raise InvalidGrantError(description="This code was already used: it works once. "
                                                "The access token it gave is revoked.")
        if state is services.CodeState.EXPIRED:
            raise InvalidGrantError(description="This code has expired: a code is valid "
                                                f"{int(services.CODE_LIFETIME.total_seconds())}"
                                                " s. Ask the person again.")
        return IssuedCode(digest, row.person_id, row.consent_id, row.redirect_uri, row.scope,
                          row.code_challenge)

    def authenticate_user(self, code: IssuedCode) -> services.Grantor:
        """The person, as a pseudonym for this partner, while the consent is still in force."""
        client: clients.Client = self.request.client
        if not services.consent_in_force(web.session(), code.consent_id, client.partner_id,
                                         code.scope.split(), datetime.now(UTC)):
            raise InvalidGrantError(description="The person's consent is no longer in force.")
        secret = self.server.secret
        return services.Grantor(
            code.person_id, code.consent_id,
            services.pairwise_subject(secret, client.client_id, code.person_id),
            services.code_token_jti(secret, code.digest))

    def delete_authorization_code(self, authorization_code: IssuedCode) -> None:
        """Nothing to delete: `use_code` marked it used, and its row recognises a replay."""


def kept_request(uri: str, params: dict[str, str]) -> OAuth2Request:
    """An authorization request kept since the consent screen, to be validated again as is."""
    oauth_request = OAuth2Request("GET", uri)
    oauth_request.payload = BasicOAuth2Payload(params)
    return oauth_request


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
        answer = {
            "active": True, "token_type": "Bearer", "scope": claims.get("scope", ""),
            "client_id": claims["client_id"], "sub": claims["sub"], "aud": claims["aud"],
            "iss": claims["iss"], "exp": claims["exp"], "iat": claims["iat"],
            "jti": claims["jti"],
        }
        if "consent_id" in claims:  # a person-bound token: the consent it answers under
            answer["consent_id"] = claims["consent_id"]
        return answer


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
        self.secret: str = app.config["SECRET_KEY"]
        self.lifetime = lifetime
        self.keys = app.extensions["ofpra.keys"]
        self.auth_methods = [clients.PRIVATE_KEY_JWT]
        if app.config["ALLOW_CLIENT_SECRET"]:
            self.auth_methods += clients.SECRET_METHODS
        # The back office's scopes are known here (the token endpoint then decides who may
        # have them) but not advertised in the metadata, which is for partners.
        self.scopes_supported = [*settings.SCOPES, *clients.BACKOFFICE_SCOPES]
        self.register_token_generator(
            "default", AccessTokens(self.keys, self.issuer, self.audience, lifetime))
        self.register_client_auth_method(clients.PRIVATE_KEY_JWT,
                                         PrivateKeyJWT(self.issuer, max_assertion))
        self.register_grant(ClientCredentials)
        self.register_grant(AuthorizationCodeFlow, [S256Only()])
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

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        # An authorization request kept since the consent screen is validated as it was.
        if isinstance(request, OAuth2Request):
            return request
        return super().create_oauth2_request(request)  # type: ignore[no-any-return]

    def authorization_grant(self, oauth_request: OAuth2Request | None = None
                            ) -> AuthorizationCodeFlow:
        """Validate an authorization request (this HTTP request's, or a kept one).

        Raises OAuth2Error: with `redirect_uri` set when the error may be sent to the client;
        without it when the client or its redirect URI cannot be trusted (then a page says
        so to the person, and nobody is redirected anywhere).
        """
        return self.get_consent_grant(request=oauth_request)  # type: ignore[no-any-return]

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
            "authorization_endpoint": f"{self.issuer}/oauth/authorize",
            "grant_types_supported": [clients.GRANT_TYPE, clients.AUTHORIZATION_CODE],
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": True,
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
    # The authorization endpoint is a page for people (app/oauth/authorize.py imports this
    # module, hence the import here).
    from app.oauth import authorize

    authorize.init_app(app)
    # Authlib logs client ids and whole issued tokens at DEBUG: never let that reach a log.
    logging.getLogger("authlib").setLevel(logging.INFO)
