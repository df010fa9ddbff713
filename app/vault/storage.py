"""Where documents' bytes live: outside the database, encrypted at rest.

Each document is encrypted with AES-256-GCM under a key of its own; that key is wrapped
(AES-GCM too) by the master key named `key_id` from VAULT_MASTER_KEYS. The database keeps the
wrapped key, the nonce and the plaintext's SHA-256; the store keeps only ciphertext. Rotating
the master key adds a new one (new documents use it); old ones stay to unwrap older documents.

The store is a small interface (`put`, `get`, `delete`) with a filesystem implementation under
instance/vault by default; another (object storage) can replace it without touching callers.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.config import ConfigurationError

CHUNK = 64 * 1024


class Store(Protocol):
    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...


class FileStore:
    """Ciphertexts as files, written atomically (temporary file, fsync, rename)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not key or "/" in key or key.startswith("."):
            raise ValueError("invalid storage key")
        return self.root / key[:2] / key

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        with temporary.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


@dataclass(frozen=True)
class Sealed:
    """What the database keeps of a stored document."""

    storage_key: str
    size: int
    sha256: str
    wrapped_key: bytes
    key_id: str
    nonce: bytes


class Vault:
    """Encrypts into, and decrypts out of, a store."""

    def __init__(self, store: Store, master_keys: dict[str, bytes], current: str) -> None:
        if current not in master_keys:
            raise ConfigurationError(f"no vault master key {current!r}")
        for key_id, key in master_keys.items():
            if len(key) != 32:
                raise ConfigurationError(f"vault master key {key_id!r} must be 32 bytes")
        self.store = store
        self.master_keys = master_keys
        self.current = current

    def seal(self, plaintext: bytes, document_id: str) -> Sealed:
        """Encrypt and store `plaintext`; the document id is bound in as associated data."""
        data_key = AESGCM.generate_key(bit_length=256)
        nonce = secrets.token_bytes(12)
        ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, document_id.encode())
        wrap_nonce = secrets.token_bytes(12)
        wrapped = wrap_nonce + AESGCM(self.master_keys[self.current]).encrypt(
            wrap_nonce, data_key, document_id.encode())
        storage_key = secrets.token_hex(20)
        self.store.put(storage_key, ciphertext)
        return Sealed(storage_key, len(plaintext), hashlib.sha256(plaintext).hexdigest(),
                      wrapped, self.current, nonce)

    def open(self, sealed: Sealed, document_id: str) -> bytes:
        """Return the plaintext; raise if it was altered (GCM tag or SHA-256 mismatch)."""
        master = self.master_keys[sealed.key_id]
        wrap_nonce, wrapped = sealed.wrapped_key[:12], sealed.wrapped_key[12:]
        data_key = AESGCM(master).decrypt(wrap_nonce, wrapped, document_id.encode())
        plaintext = AESGCM(data_key).decrypt(sealed.nonce, self.store.get(sealed.storage_key),
                                             document_id.encode())
        if hashlib.sha256(plaintext).hexdigest() != sealed.sha256:
            raise ValueError("document does not match its recorded SHA-256")
        return plaintext

    def stream(self, sealed: Sealed, document_id: str) -> Iterator[bytes]:
        """The plaintext in chunks, for a streamed download (decrypted and checked first:
        GCM authenticates the whole ciphertext, so nothing unverified is ever sent)."""
        plaintext = self.open(sealed, document_id)
        for start in range(0, len(plaintext), CHUNK):
            yield plaintext[start:start + CHUNK]


def master_keys_from(config_value: str | None, instance: Path, generate: bool) -> dict[str, bytes]:
    """VAULT_MASTER_KEYS is JSON {"key_id": "base64 of 32 bytes", ...}; in development one is
    generated once under instance/ (never in the repository)."""
    if config_value:
        return {key_id: base64.b64decode(value)
                for key_id, value in json.loads(config_value).items()}
    path = instance / "vault-master-keys.json"
    if not path.exists():
        if not generate:
            raise ConfigurationError("VAULT_MASTER_KEYS is required in production")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"k1": base64.b64encode(secrets.token_bytes(32)).decode()}))
        path.chmod(0o600)
    return {key_id: base64.b64decode(value)
            for key_id, value in json.loads(path.read_text()).items()}


def from_app_config(config: dict[str, object]) -> Vault:
    instance = Path(str(config["INSTANCE_PATH"]))
    keys = master_keys_from(config.get("VAULT_MASTER_KEYS"),  # type: ignore[arg-type]
                            instance, generate=config.get("ENV") != "production")
    current = str(config.get("VAULT_CURRENT_KEY") or sorted(keys)[-1])
    root = config.get("VAULT_STORAGE_DIR") or instance / "vault"
    return Vault(FileStore(str(root)), keys, current)
