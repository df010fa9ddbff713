"""Ask Ofpra Connect one question, as a partner administration does.

    python docs/examples/ask_ofpra.py instance/demo/partners/transport.json \
        protection-status --ofpra-number 900000000001

The credentials file is what OFPRA gives a partner at registration (the demo ones are written by
`make run`): client_id, the partner's private JWK (which never leaves the partner), scopes,
token endpoint, issuer, API base. Needs only `joserfc` (pip install joserfc).
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from joserfc import jwk, jwt

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
QUESTIONS = {
    "protection-status": "protection_status",
    "civil-status-progress": "civil_status_progress",
    "civil-status": "civil_status",
}


def post(url: str, body: bytes, content_type: str, token: str | None = None) -> dict:
    if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise SystemExit(f"refusing to send credentials to {url}: use https")
    request = urllib.request.Request(url, data=body, method="POST",  # noqa: S310 (checked above)
                                     headers={"Content-Type": content_type})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (checked above)
            return {"status": response.status, "body": json.load(response)}
    except urllib.error.HTTPError as error:
        # Errors are RFC 9457 problem documents: keep `code`, quote `instance` to OFPRA.
        return {"status": error.code, "body": json.load(error)}


def client_assertion(credentials: dict) -> str:
    """A private_key_jwt assertion (RFC 7523): signed by our key, for OFPRA's issuer, once."""
    key = jwk.import_key(credentials["private_jwk"])
    now = int(time.time())
    claims = {
        "iss": credentials["client_id"], "sub": credentials["client_id"],
        "aud": credentials["issuer"], "iat": now, "exp": now + 60,
        "jti": secrets.token_urlsafe(24),  # never reused: OFPRA refuses a replay
    }
    header = {"alg": credentials["private_jwk"].get("alg", "ES256"), "kid": key.kid}
    return jwt.encode(header, claims, key, algorithms=[header["alg"]])


def access_token(credentials: dict, scope: str) -> str:
    form = urllib.parse.urlencode({
        "grant_type": "client_credentials", "scope": scope,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": client_assertion(credentials),
    }).encode()
    answer = post(credentials["token_endpoint"], form, "application/x-www-form-urlencoded")
    if answer["status"] != 200:
        raise SystemExit(f"token refused: {answer['body']}")
    # The token lives at most 5 minutes: reuse it for every question until then.
    return str(answer["body"]["access_token"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("credentials", type=Path)
    parser.add_argument("question", choices=sorted(QUESTIONS))
    parser.add_argument("--ofpra-number")
    parser.add_argument("--agdref-number")
    parser.add_argument("--birth-date")
    parser.add_argument("--recipient", help="SIRET of the body using the answer "
                                            "(default: the partner's own)")
    args = parser.parse_args(argv)
    credentials = json.loads(args.credentials.read_text())
    token = access_token(credentials, QUESTIONS[args.question])
    person = {name: value for name, value in (("ofpra_number", args.ofpra_number),
                                             ("agdref_number", args.agdref_number),
                                             ("birth_date", args.birth_date)) if value}
    body = json.dumps({**person, "recipient": args.recipient or credentials["siret"]}).encode()
    answer = post(f"{credentials['api_base']}/{args.question}", body, "application/json", token)
    print(json.dumps(answer, indent=2, ensure_ascii=False))
    return 0 if answer["status"] == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
