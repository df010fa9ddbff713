"""The bench partner: registered with `flask partners add`, authenticated like any partner.

The partner holds an ES256 key pair; OFPRA holds its public key. An access token is obtained
from OFPRA's token endpoint with the client credentials grant and a private_key_jwt assertion
(RFC 7523: iss = sub = client_id, aud = the issuer, a fresh jti), exactly as a partner does.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

from joserfc import jwk, jwt

ROOT = Path(__file__).resolve().parent.parent
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class Partner:
    """A partner's side: its client_id and private key."""

    def __init__(self, client_id: str) -> None:
        self.client_id = client_id
        self.key = jwk.ECKey.generate_key("P-256", parameters={"alg": "ES256", "use": "sig"})
        self.key.ensure_kid()

    def register(self, flask: Path, env: dict[str, str], folder: Path, *, scope: str,
                 recipient: str, rate_limit: int | None) -> None:
        """`flask partners add` with the public key; a habilitation on a legal basis."""
        public = folder / f"{self.client_id}.jwk.json"
        public.write_text(json.dumps(self.key.as_dict(private=False)))
        command = [str(flask), "partners", "add", "--client-id", self.client_id,
                   "--name", f"Benchmark partner {self.client_id}", "--siret", recipient,
                   "--kind", "other", "--scope", scope,
                   "--legal-basis", "Load benchmark (no legal effect)",
                   "--legal-basis-url", "https://www.legifrance.gouv.fr/",
                   "--purpose", "Measure the cost of a question", "--retention-days", "1",
                   "--valid-from", "2020-01-01", "--jwk", str(public)]
        if rate_limit is not None:
            command += ["--rate-limit", str(rate_limit)]
        done = subprocess.run(command, cwd=ROOT, env={**os.environ, **env},
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"flask partners add failed:\n{done.stdout}{done.stderr}")

    def assertion(self, issuer: str) -> str:
        now = int(time.time())
        claims = {"iss": self.client_id, "sub": self.client_id, "aud": issuer, "iat": now,
                  "exp": now + 60, "jti": secrets.token_urlsafe(24)}
        return jwt.encode({"alg": "ES256", "kid": self.key.kid}, claims, self.key,
                          algorithms=["ES256"])

    def token_form(self, issuer: str, scope: str) -> bytes:
        return urllib.parse.urlencode({
            "grant_type": "client_credentials", "scope": scope,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(issuer),
        }).encode()

    def access_token(self, issuer: str, scope: str,
                     post: Callable[[str, bytes], tuple[int, bytes]] | None = None) -> str:
        """Ask the token endpoint (over HTTP, or through `post(path, form)` in-process)."""
        status, body = (post or _http_post(issuer))("/oauth/token",
                                                    self.token_form(issuer, scope))
        if status != 200:
            raise RuntimeError(f"token refused ({status}): {body.decode(errors='replace')}")
        return str(json.loads(body)["access_token"])


def _http_post(base: str) -> Callable[[str, bytes], tuple[int, bytes]]:
    def post(path: str, form: bytes) -> tuple[int, bytes]:
        request = urllib.request.Request(  # noqa: S310 (http on loopback, by construction)
            base + path, data=form, method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (same)
                return int(response.status), response.read()
        except urllib.error.HTTPError as error:
            return int(error.code), error.read()

    return post
