"""OFPRA's signing keys: one directory per purpose, the newest key signs, all keys verify.

Rotation adds a key (`flask keys rotate PURPOSE`); old keys stay published so that what they
signed keeps verifying until an operator retires them. Private keys live under `KEYS_DIR`
(instance/ by default), never in the repository.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

from joserfc import jwk

from app.config import ConfigurationError

# purpose -> (key type, curve or size, JOSE algorithm)
PURPOSES: dict[str, tuple[str, str, str]] = {
    "access-token": ("EC", "P-256", "ES256"),
    "journal": ("OKP", "Ed25519", "EdDSA"),
    # Attestations are checked by others (clerks' tools, docs/examples/verify_attestation.py):
    # ES256 verifies everywhere (WebCrypto, Java, .NET, OpenSSL, every JOSE library), EdDSA not
    # yet; both signatures are 64 bytes, so the QR code is no larger.
    "attestation": ("EC", "P-256", "ES256"),
}


class KeyStore:
    def __init__(self, directory: str | Path, generate: bool) -> None:
        self.directory = Path(directory)
        self.generate = generate
        self._keys: dict[str, list[jwk.Key]] = {}

    def keys(self, purpose: str) -> list[jwk.Key]:
        """Return this purpose's keys, newest first; generate one in development if none."""
        if purpose not in self._keys:
            found = self._load(purpose)
            if not found:
                if not self.generate:
                    raise ConfigurationError(f"no {purpose} signing key in {self.directory}")
                self.rotate(purpose)
                found = self._load(purpose)
            self._keys[purpose] = found
        return self._keys[purpose]

    def signing_key(self, purpose: str) -> jwk.Key:
        return self.keys(purpose)[0]

    def algorithm(self, purpose: str) -> str:
        return PURPOSES[purpose][2]

    def public_jwks(self, purpose: str) -> dict[str, Any]:
        return {"keys": [key.as_dict(private=False) for key in self.keys(purpose)]}

    def key_set(self, purpose: str) -> jwk.KeySet:
        return jwk.KeySet(self.keys(purpose))

    def rotate(self, purpose: str) -> str:
        """Create a new key for `purpose`, which signs from now on; return its kid."""
        kty, crv, alg = PURPOSES[purpose]
        kid = f"{purpose}-{time.strftime('%Y%m%d%H%M%S', time.gmtime())}-{secrets.token_hex(3)}"
        if kty == "EC":
            key: jwk.Key = jwk.ECKey.generate_key(crv, parameters={"kid": kid, "alg": alg})
        else:
            key = jwk.OKPKey.generate_key("Ed25519", parameters={"kid": kid, "alg": alg})
        folder = self.directory / purpose
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{kid}.json"
        path.write_text(json.dumps(key.as_dict(private=True)))
        path.chmod(0o600)
        self._keys.pop(purpose, None)
        return kid

    def _load(self, purpose: str) -> list[jwk.Key]:
        folder = self.directory / purpose
        if not folder.is_dir():
            return []
        paths = sorted(folder.glob("*.json"), reverse=True)
        return [jwk.import_key(json.loads(path.read_text())) for path in paths]
