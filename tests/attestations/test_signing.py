"""A token verifies only as OFPRA wrote it: any other byte, key, header or spelling is refused."""

from __future__ import annotations

import base64
import json

import pytest
from joserfc import jwk, jws

from app.attestations import signing

CLAIMS = {"v": 1, "iss": "http://localhost", "id": "one", "q": "ps", "r": {"p": True}}
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@pytest.fixture(scope="module")
def key() -> jwk.ECKey:
    return jwk.ECKey.generate_key("P-256", parameters={"kid": "attestation-test", "alg": "ES256"})


@pytest.fixture(scope="module")
def keys(key: jwk.ECKey) -> jwk.KeySet:
    return jwk.KeySet([key])


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_signed_token_verifies_and_gives_its_claims(key, keys) -> None:
    token = signing.sign(CLAIMS, key)
    assert signing.verify(token, keys) == ("attestation-test", CLAIMS)
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header == {"alg": "ES256", "kid": "attestation-test"}
    # Pasted with line breaks and spaces: the same token.
    spread = " ".join(token[i:i + 40] for i in range(0, len(token), 40)) + "\n"
    assert signing.verify(signing.clean(spread), keys)[1] == CLAIMS


def test_changing_any_single_character_is_refused(key, keys) -> None:
    token = signing.sign(CLAIMS, key)
    for position, char in enumerate(token):
        for other in (ALPHABET[(ALPHABET.find(char) + 1) % 64], "."):
            if other == char:
                continue
            tampered = token[:position] + other + token[position + 1:]
            with pytest.raises(signing.Forged):
                signing.verify(tampered, keys)


def test_a_key_ofpra_does_not_publish_is_refused(keys) -> None:
    stranger = jwk.ECKey.generate_key("P-256", parameters={"kid": "attestation-test"})
    with pytest.raises(signing.Forged, match="bad_signature"):
        signing.verify(signing.sign(CLAIMS, stranger), keys)
    unknown = jwk.ECKey.generate_key("P-256", parameters={"kid": "somebody"})
    with pytest.raises(signing.Forged, match="unknown_key"):
        signing.verify(signing.sign(CLAIMS, unknown), keys)


@pytest.mark.parametrize("header", [
    {"alg": "none", "kid": "attestation-test"},
    {"alg": "HS256", "kid": "attestation-test"},
    {"alg": "ES256"},
    {"alg": "ES256", "kid": "attestation-test", "crit": ["exp"]},
])
def test_other_headers_are_refused(key, keys, header) -> None:
    token = signing.sign(CLAIMS, key)
    _header, body, signature = token.split(".")
    with pytest.raises(signing.Forged, match="malformed"):
        signing.verify(f"{b64(header)}.{body}.{signature}", keys)


def test_only_what_we_sign_is_accepted(key, keys) -> None:
    not_an_object = jws.serialize_compact({"alg": "ES256", "kid": key.kid}, b"[1, 2]", key)
    with pytest.raises(signing.Forged, match="malformed_claims"):
        signing.verify(not_an_object, keys)
    for text in ("", "eyJ", "a.b", "a.b.c.d", "x" * 5000, "é.é.é"):
        with pytest.raises(signing.Forged, match="malformed"):
            signing.verify(text, keys)
