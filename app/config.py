"""Configuration from the environment.

In development (the embedded default, `make run`), missing secrets are generated once and kept
under `instance/`, never in the repository. With `OFPRA_ENV=production` nothing is generated:
the service refuses to start until every secret and key is given.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = Path(os.environ.get("OFPRA_INSTANCE", ROOT / "instance"))

SCOPES = ("protection_status", "civil_status_progress", "civil_status")

SECRET_SETTINGS = ("SECRET_KEY", "PSEUDONYM_KEY")


class ConfigurationError(RuntimeError):
    """The service cannot start safely with this configuration."""


def defaults() -> dict[str, Any]:
    issuer = os.environ.get("OAUTH_ISSUER", "http://127.0.0.1:8000")
    return {
        "ENV": os.environ.get("OFPRA_ENV", "development"),
        "INSTANCE_PATH": str(INSTANCE),
        "DATABASE_URL": os.environ.get(
            "DATABASE_URL", f"sqlite:///{INSTANCE / 'ofpra-connect.db'}"
        ),
        "SECRET_KEY": os.environ.get("SECRET_KEY"),
        # Keyed pseudonyms of lookup inputs in the journal (HMAC-SHA256).
        "PSEUDONYM_KEY": os.environ.get("PSEUDONYM_KEY"),
        "KEYS_DIR": os.environ.get("KEYS_DIR", str(INSTANCE / "keys")),
        "OAUTH_ISSUER": issuer,
        # RFC 9068: the audience of access tokens is this API, not the authorization server.
        "API_AUDIENCE": os.environ.get("API_AUDIENCE", f"{issuer}/v1"),
        "ACCESS_TOKEN_LIFETIME": int(os.environ.get("ACCESS_TOKEN_LIFETIME", "300")),
        "CLIENT_ASSERTION_MAX_LIFETIME": int(
            os.environ.get("CLIENT_ASSERTION_MAX_LIFETIME", "300")
        ),
        # Shared-secret client authentication is refused unless a deployment turns it on.
        "ALLOW_CLIENT_SECRET": os.environ.get("ALLOW_CLIENT_SECRET", "") == "1",
        # How long a consent given on a partner's website (authorization code) lasts, in days,
        # within the scope's own maximum.
        "AUTHORIZATION_CONSENT_DAYS": int(os.environ.get("AUTHORIZATION_CONSENT_DAYS", "1")),
        # An unanswered consent request from a partner lapses after this many days.
        "CONSENT_REQUEST_DAYS": int(os.environ.get("CONSENT_REQUEST_DAYS", "14")),
        # The personal space's sessions end after this many idle minutes (shared phones).
        "SESSION_IDLE_MINUTES": int(os.environ.get("SESSION_IDLE_MINUTES", "15")),
        "RATE_LIMIT_DEFAULT": os.environ.get("RATE_LIMIT_DEFAULT", "20/second"),
        "REDIS_URL": os.environ.get("REDIS_URL"),
        # How long a worker trusts its cached copy of partners and habilitations, in seconds.
        "PARTNER_CACHE_SECONDS": float(os.environ.get("PARTNER_CACHE_SECONDS", "5")),
        # How long a worker trusts its cached list of revoked access tokens, in seconds.
        "REVOCATION_CACHE_SECONDS": float(os.environ.get("REVOCATION_CACHE_SECONDS", "2")),
        "JOURNAL_SEAL_GRACE_SECONDS": int(os.environ.get("JOURNAL_SEAL_GRACE_SECONDS", "10")),
        "JOURNAL_SEAL_BATCH": int(os.environ.get("JOURNAL_SEAL_BATCH", "10000")),
        # Alerts (app/notify). The address people are sent to: the personal space's home page,
        # always the same link, so that a lookalike link in a message stands out.
        "PUBLIC_URL": os.environ.get("PUBLIC_URL", issuer),
        # E-mail goes through an SMTP relay; unset, e-mails wait in the outbox unsent.
        "SMTP_HOST": os.environ.get("SMTP_HOST") or None,
        "SMTP_PORT": int(os.environ.get("SMTP_PORT", "25")),
        "SMTP_FROM": os.environ.get("SMTP_FROM", "Ofpra Connect <no-reply@localhost>"),
        # Upgrade the connection with STARTTLS; never falls back to clear text once asked.
        "SMTP_STARTTLS": os.environ.get("SMTP_STARTTLS", "") == "1",
        # A CA bundle for a relay whose certificate the system does not trust (a private CA).
        "SMTP_CA_FILE": os.environ.get("SMTP_CA_FILE") or None,
        # Credentials are only ever sent after STARTTLS.
        "SMTP_USERNAME": os.environ.get("SMTP_USERNAME") or None,
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD") or None,
        "SMTP_TIMEOUT": float(os.environ.get("SMTP_TIMEOUT", "15")),
        # SMS go to an HTTP gateway (POST JSON, bearer token); unset, SMS wait unsent.
        "SMS_GATEWAY_URL": os.environ.get("SMS_GATEWAY_URL") or None,
        "SMS_GATEWAY_TOKEN": os.environ.get("SMS_GATEWAY_TOKEN") or None,
        "SMS_GATEWAY_TIMEOUT": float(os.environ.get("SMS_GATEWAY_TIMEOUT", "10")),
        # A message is tried at most this many times, waiting BACKOFF * 2**(attempt - 1)
        # seconds (at most BACKOFF_MAX) between tries, then recorded as failed.
        "NOTIFY_MAX_ATTEMPTS": int(os.environ.get("NOTIFY_MAX_ATTEMPTS", "10")),
        "NOTIFY_BACKOFF_SECONDS": float(os.environ.get("NOTIFY_BACKOFF_SECONDS", "30")),
        "NOTIFY_BACKOFF_MAX_SECONDS": float(os.environ.get("NOTIFY_BACKOFF_MAX_SECONDS", "3600")),
        # How long a worker holds a claimed message before another worker may take it over
        # (a worker that died mid-send): longer than any one send, or messages go out twice.
        "NOTIFY_LEASE_SECONDS": float(os.environ.get("NOTIFY_LEASE_SECONDS", "300")),
        # Messages one pass of the worker handles at most before it reads the clock again.
        "NOTIFY_BATCH": int(os.environ.get("NOTIFY_BATCH", "100")),
        # Documents at rest: master keys as JSON {"key id": "base64 of 32 bytes"} (generated
        # once under instance/ in development), the one new documents use, and the store.
        "VAULT_MASTER_KEYS": os.environ.get("VAULT_MASTER_KEYS") or None,
        "VAULT_CURRENT_KEY": os.environ.get("VAULT_CURRENT_KEY") or None,
        "VAULT_STORAGE_DIR": os.environ.get("VAULT_STORAGE_DIR") or None,
        "VAULT_MAX_DOCUMENT_BYTES": int(os.environ.get("VAULT_MAX_DOCUMENT_BYTES",
                                                       str(10 * 1024 * 1024))),
        "JSON_SORT_KEYS": False,
    }


def load(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the settings, refusing production without real secrets."""
    config = defaults()
    config.update(overrides or {})
    production = config["ENV"] == "production"
    missing = [name for name in SECRET_SETTINGS if not config.get(name)]
    if missing and production:
        raise ConfigurationError(f"missing secrets in production: {', '.join(missing)}")
    if missing:
        config.update(_development_secrets(Path(config["INSTANCE_PATH"]), missing))
    for name in SECRET_SETTINGS:
        if len(str(config[name])) < 32:
            raise ConfigurationError(f"{name} must be at least 32 characters")
    return config


def _development_secrets(instance: Path, names: list[str]) -> dict[str, str]:
    """Generate (once) and return development secrets kept in instance/secrets.json."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secrets.json"
    stored = json.loads(path.read_text()) if path.exists() else {}
    for name in names:
        stored.setdefault(name, secrets.token_urlsafe(48))
    path.write_text(json.dumps(stored, indent=2))
    path.chmod(0o600)
    return {name: stored[name] for name in names}
