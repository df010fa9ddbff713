"""Signing attestations and checking their signature: a compact JWS (RFC 7515), ES256.

Why a JWS and not COSE (RFC 9052, the EU digital COVID certificate's choice):
- The QR code's content stays text: a clerk pastes it into /verify, a developer into any JOSE
  tool. COSE is binary; it needs CBOR, zlib and Base45 on top, and a COSE library at every
  verifier.
- OFPRA already signs JWTs and publishes JWKS with joserfc: the attestation key is one more
  purpose of the same `KeyStore` (app/oauth/keys.py), published as a JWKS at
  /attestations/jwks.json and rotated the same way. A COSE verifier would need its own key
  format.
- COSE would make the QR code smaller (about a third less). We kept the JWS small instead
  (short claim names, dates as YYYY-MM-DD: app/attestations/payload.py) and measured it
  (bench/attestations.py, error correction M): a protection status is a 491-character token,
  QR version 17, printed 56 mm wide; an established civil status with a family of five is
  1,090 characters, version 27, 72 mm wide (0.54 mm modules): both read back from the
  rendered page by a real decoder in the tests.

ES256 and not EdDSA: see app/oauth/keys.py. The signature is 64 bytes either way.

A verifier refuses anything that is not exactly what OFPRA signs: three canonical base64url
segments (no padding, no spare bits, else one token has several spellings and a changed last
character can still verify), a header of `alg` ES256 and a published `kid`, nothing else.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from joserfc import errors, jwk, jws

from app.attestations import payload

PURPOSE = "attestation"
ALGORITHM = "ES256"
# Error correction M (15 %): what a printed, folded, photocopied sheet needs.
QR_ERROR = "M"
# Far above the largest attestation (an established civil status with a family: ~1 100).
MAX_LENGTH = 4096
_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


class Forged(Exception):
    """Not an attestation OFPRA signed; `reason` says which check failed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def sign(claims: dict[str, Any], key: jwk.Key) -> str:
    """The compact JWS of the claims (canonical JSON), signed with `key`."""
    return jws.serialize_compact({"alg": ALGORITHM, "kid": key.kid}, payload.canonical(claims),
                                 key, algorithms=[ALGORITHM])


def sign_json(body: dict[str, Any], key: jwk.Key) -> dict[str, Any]:
    """The flattened JSON JWS of `body` (for files, such as the revocation list)."""
    return dict(jws.serialize_json({"protected": {"alg": ALGORITHM, "kid": key.kid}},
                                   payload.canonical(body), key, algorithms=[ALGORITHM]))


def clean(text: str) -> str:
    """The token without the spaces and line breaks that copying and pasting add."""
    return "".join(text.split())


def verify(token: str, keys: jwk.KeySet) -> tuple[str, dict[str, Any]]:
    """Return the key id and the claims of a token signed by one of `keys`.

    Raises Forged: `malformed` (not a compact JWS as we write them), `unknown_key` (a kid we
    do not publish), `bad_signature`, `malformed_claims` (signed, but not a JSON object).
    """
    if len(token) > MAX_LENGTH or not _COMPACT.fullmatch(token):
        raise Forged("malformed")
    segments = token.split(".")
    try:
        header = json.loads(_decode(segments[0]))
        _decode(segments[1])
        _decode(segments[2])
    except (ValueError, binascii.Error) as error:
        raise Forged("malformed") from error
    if not isinstance(header, dict) or set(header) != {"alg", "kid"} \
            or header["alg"] != ALGORITHM or not isinstance(header["kid"], str):
        raise Forged("malformed")
    try:
        key = keys.get_by_kid(header["kid"])
    except errors.InvalidKeyIdError as error:
        raise Forged("unknown_key") from error
    try:
        signed = jws.deserialize_compact(token, key, algorithms=[ALGORITHM])
    except errors.JoseError as error:
        raise Forged("bad_signature") from error
    try:
        claims = json.loads(signed.payload)
    except ValueError as error:
        raise Forged("malformed_claims") from error
    if not isinstance(claims, dict):
        raise Forged("malformed_claims")
    return header["kid"], claims


def _decode(segment: str) -> bytes:
    """Base64url without padding, refusing any spelling but the canonical one."""
    data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    if base64.urlsafe_b64encode(data).rstrip(b"=").decode() != segment:
        raise ValueError("non-canonical base64url")
    return data
