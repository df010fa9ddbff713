"""OAuth clients: a partner as the authorization server sees it, its public keys, its secret.

A partner authenticates with `private_key_jwt`: OFPRA stores the public JWK Set it registered
and never a private key. Shared secrets exist only for deployments that allow them; then only
a scrypt hash is stored. A partner whose own website asks the person (the authorization code
flow) also registers its exact redirect URIs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import ClientMixin
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from joserfc import jwk
from joserfc.errors import JoseError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.partners import models as partner_models
from consent import policy

GRANT_TYPE = "client_credentials"
AUTHORIZATION_CODE = "authorization_code"
PRIVATE_KEY_JWT = "private_key_jwt"
SECRET_METHODS = ("client_secret_basic", "client_secret_post")
# OFPRA's own services (introspection) are clients of this kind, never partner administrations.
OFPRA_KIND = partner_models.PartnerKind.OFPRA.value
# OFPRA's back office (/backoffice/v1): scopes only clients of kind `ofpra` ever hold. A
# partner's habilitation naming one grants nothing (see `find`), and the token endpoint refuses
# them to any other client.
BACKOFFICE_PEOPLE = "backoffice:people"
BACKOFFICE_DOCUMENTS = "backoffice:documents"
BACKOFFICE_SCOPES = (BACKOFFICE_PEOPLE, BACKOFFICE_DOCUMENTS)

# What a partner may sign its client assertions with, by key type. "Ed25519" is RFC 9864's
# fully specified name for EdDSA over Ed25519; only that curve is accepted.
ALGORITHMS_BY_KEY_TYPE: dict[str, tuple[str, ...]] = {
    "EC": ("ES256",),
    "OKP": ("EdDSA", "Ed25519"),
    "RSA": ("PS256",),
}
ASSERTION_ALGORITHMS = ("ES256", "EdDSA", "Ed25519", "PS256")
MIN_RSA_BITS = 2048

# scrypt (RFC 7914) at one of OWASP's recommended costs (N=2^14, r=8, p=5): 16 MiB per check.
_SCRYPT = {"n": 2**14, "r": 8, "p": 5}
_SCRYPT_MAXMEM = 64 * 1024 * 1024


@dataclass(frozen=True)
class Client(ClientMixin):  # type: ignore[misc]  # Authlib ships no type information
    """A partner as an OAuth client, with the scopes its habilitations grant on `today`.

    `consent_scopes` are those of `scopes` that a habilitation in force grants only with the
    person's consent (and for some days): the only ones the authorization code flow may ask.
    """

    client_id: str
    kind: str
    active: bool
    auth_method: str
    jwks: dict[str, Any]
    secret_hash: str | None
    scopes: tuple[str, ...]
    partner_id: int
    name: str
    redirect_uris: tuple[str, ...]
    consent_scopes: tuple[str, ...]

    def get_client_id(self) -> str:
        return self.client_id

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """Return the scope to issue: all granted scopes when none is asked; None if refused."""
        if not scope:
            return " ".join(self.scopes) or None
        asked = list(dict.fromkeys(scope.split()))
        if not set(asked) <= set(self.scopes):
            return None
        return " ".join(asked)

    def missing_scopes(self, scope: str | None) -> list[str]:
        return [item for item in dict.fromkeys((scope or "").split()) if item not in self.scopes]

    def check_grant_type(self, grant_type: str) -> bool:
        if grant_type == AUTHORIZATION_CODE:
            return bool(self.redirect_uris)
        return grant_type == GRANT_TYPE

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and bool(self.redirect_uris)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Exact comparison with a registered URI: no prefix, no pattern, no normalisation."""
        return redirect_uri in self.redirect_uris

    def get_default_redirect_uri(self) -> None:
        # Never a default: the request must name its redirect URI, compared exactly.
        return None

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if method == PRIVATE_KEY_JWT:
            return self.auth_method == PRIVATE_KEY_JWT
        return method in SECRET_METHODS and self.auth_method in SECRET_METHODS

    def check_client_secret(self, client_secret: str) -> bool:
        return self.secret_hash is not None and check_secret(client_secret, self.secret_hash)

    def key_set(self) -> jwk.KeySet:
        return jwk.KeySet.import_key_set(self.jwks)  # type: ignore[arg-type]


def find(db_session: Session, client_id: str, today: date) -> Client | None:
    """Return the client with its scopes in force on `today`, or None if unknown."""
    partner = db_session.scalars(
        select(partner_models.Partner)
        .where(partner_models.Partner.client_id == client_id)
        .options(selectinload(partner_models.Partner.habilitations)
                 .selectinload(partner_models.Habilitation.scopes))
    ).one_or_none()
    if partner is None:
        return None
    in_force = [
        item
        for habilitation in partner.habilitations for item in habilitation.scopes
        if policy.Grant(habilitation.id, item.scope, item.consent_required,
                        habilitation.valid_from, habilitation.valid_until).in_force(today)
    ]
    ofpra = partner.kind is partner_models.PartnerKind.OFPRA
    granted = {item.scope for item in in_force if ofpra or item.scope not in BACKOFFICE_SCOPES}
    # As app.consents.services.consentable_scopes: a consent must be allowed some days.
    consent = {item.scope for item in in_force
               if item.consent_required and (item.max_consent_days or 0) > 0}
    return Client(partner.client_id, partner.kind.value, partner.active,
                  partner.token_endpoint_auth_method, partner.jwks, partner.client_secret_hash,
                  tuple(sorted(granted)), partner.id, partner.name,
                  tuple(partner.redirect_uris or ()), tuple(sorted(consent)))


def hash_secret(secret: str) -> str:
    """Return a salted scrypt hash of `secret`, the only form in which a secret is stored."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, maxmem=_SCRYPT_MAXMEM, **_SCRYPT)
    return "$".join(("scrypt", str(_SCRYPT["n"]), str(_SCRYPT["r"]), str(_SCRYPT["p"]),
                     _b64(salt), _b64(digest)))


def check_secret(secret: str, stored: str) -> bool:
    """Return whether `secret` matches the stored hash (constant-time); False if malformed."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.urlsafe_b64decode(digest + "==")
        given = hashlib.scrypt(secret.encode(), salt=base64.urlsafe_b64decode(salt + "=="),
                               n=int(n), r=int(r), p=int(p), maxmem=_SCRYPT_MAXMEM,
                               dklen=len(expected))
    except ValueError:
        return False
    return hmac.compare_digest(given, expected)


def _b64(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).decode().rstrip("=")


# --- Registering a partner's redirect URIs ------------------------------------------------

MAX_REDIRECT_URI_LENGTH = 500  # the column's size (partner.redirect_uris, authorization_code)


def redirect_uri_problem(uri: str) -> str | None:
    """Return why `uri` cannot be registered as a redirect URI, or None if it can.

    https only (RFC 9700 section 2.6), or http on a loopback address for development; an
    absolute URI without fragment, user information or wildcard, at most 500 characters.
    """
    if len(uri) > MAX_REDIRECT_URI_LENGTH:
        return f"at most {MAX_REDIRECT_URI_LENGTH} characters"
    if any(ord(char) <= 0x20 or ord(char) == 0x7F for char in uri) or "\\" in uri:
        return "no spaces, control characters or backslashes"
    try:
        parts = urlsplit(uri)
        hostname = parts.hostname
        parts.port  # noqa: B018 (raises ValueError on a malformed port)
    except ValueError:
        return "not a valid URL"
    if not hostname or not parts.netloc:
        return "an absolute URL with a host"
    if "@" in parts.netloc:
        return "no user information (user@host)"
    if parts.fragment or "#" in uri:
        return "no fragment (#…)"
    if "*" in uri:
        return "no wildcard: register each exact URI"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and _loopback(hostname):
        return None
    return "https, or http on a loopback address (127.0.0.1, [::1], localhost) for development"


def _loopback(hostname: str) -> bool:
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


# --- Registering a partner's public keys -------------------------------------------------


class UnusableKey(ValueError):
    """The key given at registration cannot authenticate a partner; the message says why."""


@dataclass(frozen=True)
class PublicKeys:
    """The JWK Set to store (public parts only), and whether a private key was given."""

    jwks: dict[str, Any]
    private_given: bool


def keys_from_jwk(text: str) -> PublicKeys:
    """Read a JWK or a JWK Set (JSON); raise UnusableKey when a key cannot be used."""
    try:
        data = json.loads(text)
    except ValueError as error:
        raise UnusableKey("not JSON: give a JWK or a JWK Set") from error
    if isinstance(data, dict) and isinstance(data.get("keys"), list):
        items = data["keys"]
    elif isinstance(data, dict) and "kty" in data:
        items = [data]
    else:
        raise UnusableKey("neither a JWK (with 'kty') nor a JWK Set (with 'keys')")
    if not items:
        raise UnusableKey("the JWK Set holds no key")
    keys = []
    for item in items:
        if not isinstance(item, dict):
            raise UnusableKey("a key of the set is not a JSON object")
        if item.get("kty") == "oct":
            raise UnusableKey("a symmetric ('oct') key is a shared secret, not a public key")
        if item.get("kty") == "RSA":
            _check_rsa_size(_rsa_bits(item.get("n")))
        try:
            keys.append(jwk.import_key(item))
        except (JoseError, ValueError, TypeError, KeyError) as error:
            raise UnusableKey(f"a key cannot be read ({type(error).__name__})") from error
    return _public(keys)


def keys_from_pem(data: bytes) -> PublicKeys:
    """Read a PEM public key (or, by mistake, a private one); raise UnusableKey if unusable."""
    private = False
    try:
        public: Any = serialization.load_pem_public_key(data)
    except ValueError:
        try:
            public = serialization.load_pem_private_key(data, password=None).public_key()
        except TypeError as error:
            raise UnusableKey("an encrypted private key: give the public key instead") from error
        except ValueError as error:
            raise UnusableKey("not a PEM public key") from error
        private = True
    key_type = _pem_key_type(public)
    if key_type == "RSA":
        _check_rsa_size(public.key_size)
    pem = public.public_bytes(serialization.Encoding.PEM,
                              serialization.PublicFormat.SubjectPublicKeyInfo)
    key = jwk.import_key(pem, key_type)  # type: ignore[call-overload]
    return PublicKeys(_public([key]).jwks, private)


def _pem_key_type(public: Any) -> str:
    if isinstance(public, ec.EllipticCurvePublicKey):
        return "EC"
    if isinstance(public, ed25519.Ed25519PublicKey):
        return "OKP"
    if isinstance(public, rsa.RSAPublicKey):
        return "RSA"
    raise UnusableKey("unsupported key type: give an EC P-256, Ed25519 or RSA key")


def _public(keys: list[jwk.Key]) -> PublicKeys:
    public = []
    for key in keys:
        _check_usable(key)
        key.ensure_kid()
        public.append(key.as_dict(private=False))
    kids = [item["kid"] for item in public]
    if len(set(kids)) != len(kids):
        raise UnusableKey("two keys share a 'kid'")
    return PublicKeys({"keys": public}, any(key.is_private for key in keys))


def _rsa_bits(modulus: Any) -> int:
    # Read before joserfc imports the key: it would only warn about a short one.
    try:
        return int.from_bytes(base64.urlsafe_b64decode(str(modulus) + "==")).bit_length()
    except ValueError as error:
        raise UnusableKey("an RSA key with an unreadable modulus 'n'") from error


def _check_rsa_size(bits: int) -> None:
    if bits < MIN_RSA_BITS:
        raise UnusableKey(f"an RSA key must have at least {MIN_RSA_BITS} bits (PS256)")


def _check_usable(key: jwk.Key) -> None:
    algorithms = ALGORITHMS_BY_KEY_TYPE.get(key.key_type)
    if algorithms is None:
        raise UnusableKey(f"unsupported key type {key.key_type}")
    if key.key_type == "EC" and key.get("crv") != "P-256":
        raise UnusableKey("an EC key must be on P-256 (ES256)")
    if key.key_type == "OKP" and key.get("crv") != "Ed25519":
        raise UnusableKey("an OKP key must be Ed25519 (EdDSA)")
    if key.get("use") not in (None, "sig"):
        raise UnusableKey("the key is not for signatures ('use' must be 'sig')")
    if key.alg is not None and key.alg not in algorithms:
        raise UnusableKey(f"alg {key.alg} is not accepted for a {key.key_type} key: "
                          f"use {' or '.join(algorithms)}")
