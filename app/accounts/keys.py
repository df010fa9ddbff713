"""Connection keys and one-time codes: random, human-typable, stored only as keyed digests.

A connection key is 16 symbols of Crockford's base-32 alphabet (no I, L, O or U: nothing to
confuse on a paper notice), printed as four groups of four: 80 bits, out of reach of guessing.
A one-time code is 6 digits: short enough to copy from an SMS, and only worth 5 tries.

Both are random, so a fast keyed hash (HMAC-SHA256 under SECRET_KEY) is enough to store them:
a copy of the database without the secret says nothing. Changing SECRET_KEY voids every
key and code not yet used.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
KEY_SYMBOLS = 16
GROUP = 4
CODE_DIGITS = 6
# What people type for what they see (Crockford's decoding rules); separators are dropped.
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = str.maketrans("", "", " -_.\u00a0\u202f\t")


def new_key() -> str:
    """Return a fresh connection key, normalised (16 symbols, no separators)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(KEY_SYMBOLS))


def show_key(key: str) -> str:
    """Return the key as printed on the notice: ABCD-EFGH-JKMN-PQRS."""
    return "-".join(key[i:i + GROUP] for i in range(0, len(key), GROUP))


def normalise_key(typed: str) -> str | None:
    """Return the key a person typed, normalised; None if it cannot be a key."""
    key = typed.translate(_SEPARATORS).upper().translate(_READ_AS)
    if len(key) != KEY_SYMBOLS or any(symbol not in ALPHABET for symbol in key):
        return None
    return key


def new_code() -> str:
    """Return a fresh 6-digit one-time code."""
    return f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"


def normalise_code(typed: str) -> str | None:
    """Return the code a person typed (spaces dropped); None if it is not 6 digits."""
    code = typed.translate(_SEPARATORS)
    return code if len(code) == CODE_DIGITS and code.isascii() and code.isdigit() else None


def digest(secret: str | bytes, purpose: str, *parts: str | int) -> str:
    """Return the hex HMAC-SHA256 of `parts`, bound to `purpose`, under `secret`."""
    key = secret.encode() if isinstance(secret, str) else secret
    message = "\x1f".join([purpose, *map(str, parts)]).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    """Compare two digests in constant time."""
    return hmac.compare_digest(a, b)
