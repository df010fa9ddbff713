"""Check an OFPRA attestation offline, with only OFPRA's published keys and revocation list.

    python docs/examples/verify_attestation.py --keys jwks.json --revoked revoked.json TOKEN

TOKEN is what the attestation's QR code reads (or "-" to read it from standard input). Fetch
the two files whenever online: <service>/attestations/jwks.json (OFPRA's attestation keys, old
ones included) and <service>/attestations/revoked.json (the signed revocation list; fetch a new
one by its `next_update`). Needs only joserfc (pip install joserfc).

Prints the verdict (valid, expired, revoked or forged) and, unless forged, the facts OFPRA
signed. Exit status: 0 valid, 1 expired, revoked or forged, 2 unusable key or list files,
3 valid but the revocation list is out of date (it may not know a recent revocation).
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from joserfc import errors, jwk, jws

PARIS = ZoneInfo("Europe/Paris")
COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
QUESTIONS = {"ps": "protection status", "csp": "civil-status progress", "cs": "civil status"}
# The short claim names (app/attestations/payload.py), spelled out for people.
NAMES = {"n": "birth name", "u": "usage name", "g": "given names", "s": "sex",
         "b": "birth date", "p": "protected", "k": "kind", "d": "date", "st": "status",
         "rc": "family form received on", "by": "expected by", "in": "within the delay",
         "es": "established on", "e": "established", "a": "acts", "no": "number",
         "f": "family", "x": "unknown"}


class Forged(Exception):
    pass


def canonical_b64(segment: str) -> bytes:
    """Decode base64url, refusing any spelling but the one OFPRA writes."""
    data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    if base64.urlsafe_b64encode(data).rstrip(b"=").decode() != segment:
        raise Forged("not canonical base64url")
    return data


def open_token(token: str, keys: jwk.KeySet) -> dict:
    """The claims of a token signed by one of `keys` (ES256 only); raises Forged."""
    if len(token) > 4096 or not COMPACT.fullmatch(token):
        raise Forged("not a compact JWS")
    try:
        segments = [canonical_b64(segment) for segment in token.split(".")]
        header = json.loads(segments[0])
    except ValueError as error:
        raise Forged("unreadable") from error
    if not isinstance(header, dict) or set(header) != {"alg", "kid"} \
            or header["alg"] != "ES256":
        raise Forged("unexpected header")
    try:
        signed = jws.deserialize_compact(token, keys.get_by_kid(header["kid"]),
                                         algorithms=["ES256"])
        claims = json.loads(signed.payload)
    except errors.InvalidKeyIdError as error:
        raise Forged("signed with a key OFPRA does not publish") from error
    except (errors.JoseError, ValueError) as error:
        raise Forged("the signature does not match") from error
    if not isinstance(claims, dict) or claims.get("v") != 1:
        raise Forged("not an attestation this verifier knows")
    return claims


def spelled(value: object) -> object:
    if isinstance(value, dict):
        return {NAMES.get(key, key): spelled(item) for key, item in value.items()}
    if isinstance(value, list):
        return [spelled(item) for item in value]
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("qr", metavar="TOKEN",
                        help='what the QR code reads, or "-" for standard input')
    parser.add_argument("--keys", required=True, help="OFPRA's JWKS file")
    parser.add_argument("--revoked", required=True, help="OFPRA's revocation list file")
    parser.add_argument("--at", help="check as of this ISO date-time (default: now)")
    args = parser.parse_args(argv)
    now = datetime.fromisoformat(args.at) if args.at else datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    given = sys.stdin.read() if args.qr == "-" else args.qr
    token = "".join(given.split())
    try:
        with open(args.keys, encoding="utf-8") as file:
            keys = jwk.KeySet.import_key_set(json.load(file))
        with open(args.revoked, encoding="utf-8") as file:
            listing = json.loads(jws.deserialize_json(json.load(file), keys,
                                                      algorithms=["ES256"]).payload)
        revoked = set(listing["revoked"])
        next_update = datetime.fromisoformat(listing["next_update"].replace("Z", "+00:00"))
    except (OSError, ValueError, KeyError, TypeError, errors.JoseError) as error:
        print(f"error: unusable keys or revocation list ({error})", file=sys.stderr)
        return 2

    try:
        claims = open_token(token, keys)
        if claims.get("iss") != listing["iss"]:
            raise Forged(f"issued by {claims.get('iss')!r}, not {listing['iss']!r}")
    except Forged as error:
        print(f"verdict: forged ({error})")
        return 1
    today = now.astimezone(PARIS).date()
    if claims["id"] in revoked:
        verdict = "revoked"
    elif today > date.fromisoformat(claims["to"]):
        verdict = "expired"
    else:
        verdict = "valid"
    print(f"verdict: {verdict}")
    print(f"attestation: {claims['id']}, issued on {claims['on']}, valid until {claims['to']} "
          f"inclusive, by {claims['iss']}")
    print(f"question: {QUESTIONS.get(claims['q'], claims['q'])}")
    print("holder: " + json.dumps(spelled(claims["h"]), ensure_ascii=False))
    print("facts: " + json.dumps(spelled(claims["r"]), ensure_ascii=False))
    if verdict != "valid":
        return 1
    if now > next_update:
        print(f"warning: the revocation list was due for renewal on {listing['next_update']}: "
              "fetch a new one, a recent revocation may be missing")
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
