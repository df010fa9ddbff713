"""Passwords: the rules, said plainly, and argon2id hashes.

The rules follow NIST SP 800-63B rather than habit: a length (12 characters, spaces and every
script count, so a short sentence in one's own language is a good password), no forced mix of
symbols, and a refusal of what attackers try first: the most common passwords, with or without
digits around them, runs like "123456789012" or "azertyuiopqs", and the person's own numbers.

Passwords are compared after Unicode NFKC normalisation: the same word typed on two phones can
arrive composed or decomposed. Hashes use argon2-cffi's defaults (argon2id); a hash made with
other parameters is replaced at the next sign-in.
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
MAX_LENGTH = 256

# Read at each call, so that tests can swap in a cheaper hasher.
HASHER = PasswordHasher()
_dummies: dict[tuple[int, int, int, int, int], str] = {}


class Problem(enum.StrEnum):
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    COMMON = "common"
    TOO_SIMPLE = "too_simple"
    CONTAINS_IDENTIFIER = "contains_identifier"


# The words of the most common passwords (lists published from leaks, English and French):
# one of these, alone or with digits and symbols around it, is refused.
COMMON_WORDS = frozenset("""
password passwd passw0rd pass motdepasse mdp secret changeme letmein welcome bienvenue
admin administrator root user login azerty azertyuiop qwerty qwertyuiop qwertz asdf asdfgh
qazwsx zxcvbn zxcvbnm abc abcd abcdef abcdefgh abcdefghij iloveyou iloveu jetaime teamo
monkey dragon sunshine princess football soccer baseball master shadow superman batman
michael jordan charlie daniel thomas nicolas julien camille marseille paris france
soleil bonjour doudou chouchou loulou nounours chocolat coucou amour bebe maman papa
ofpra ofpraconnect connect espace compte asile refugie hello hallo freedom whatever
trustno starwars pokemon naruto matrix computer internet samsung iphone google facebook
""".split())
# Whole passwords that are common and long enough to pass the length rule.
COMMON_PASSWORDS = frozenset("""
123456789012 1234567890123 12345678901234 1234567890abc 123456789abc 111111111111
000000000000 123123123123 121212121212 147258369147 123456123456 987654321098
qwertyuiopas azertyuiopqs qwerty123456 azerty123456 password1234 password12345
motdepasse123 motdepasse1234 iloveyou1234 aaaaaaaaaaaa abcabcabcabc 1q2w3e4r5t6y
1qaz2wsx3edc qazwsxedcrfv zaq12wsxcde3 passwordpassword
""".split())
# Runs typed along a keyboard row or counted up: any 8 or more of these in a row are refused.
RUNS = ("01234567890123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiopasdfghjklzxcvbnm",
        "azertyuiopqsdfghjklmwxcvbn", "qwertzuiopasdfghjklyxcvbnm", "1qaz2wsx3edc4rfv5tgb6yhn")
RUN_LENGTH = 8


def normalise(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def problems(password: str, identifiers: Iterable[str] = ()) -> list[Problem]:
    """Return what is wrong with `password` (empty if it is acceptable).

    `identifiers` are the person's numbers (AGDREF, OFPRA): a password containing one is refused.
    """
    password = normalise(password)
    found: list[Problem] = []
    if len(password) < MIN_LENGTH:
        found.append(Problem.TOO_SHORT)
    if len(password) > MAX_LENGTH:
        found.append(Problem.TOO_LONG)
    folded = password.casefold()
    compact = "".join(char for char in folded if char.isalnum())
    letters = "".join(char for char in folded if char.isalpha())
    if folded in COMMON_PASSWORDS or compact in COMMON_PASSWORDS or letters in COMMON_WORDS:
        found.append(Problem.COMMON)
    elif _too_simple(compact):
        found.append(Problem.TOO_SIMPLE)
    unspaced = "".join(char for char in folded if not char.isspace())
    if any(identifier and identifier.casefold() in unspaced for identifier in identifiers):
        found.append(Problem.CONTAINS_IDENTIFIER)
    return found


def _too_simple(compact: str) -> bool:
    if len(set(compact)) <= 3:
        return True  # "aaaaaaaaaaaa", "abababababab", "121212121212"
    for run in RUNS:
        for row in (run, run[::-1]):
            for start in range(len(row) - RUN_LENGTH + 1):
                if row[start:start + RUN_LENGTH] in compact:
                    return True
    return False


def hash_password(password: str) -> str:
    """Return the argon2id hash of `password` (about 100 ms: do it once per request)."""
    return HASHER.hash(normalise(password))


def verify(password_hash: str, password: str) -> bool:
    """Return True if `password` matches `password_hash`; False otherwise, or if it is broken."""
    try:
        return HASHER.verify(password_hash, normalise(password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Return True if the hash was made with other parameters than today's."""
    try:
        return HASHER.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def verify_dummy(password: str) -> None:
    """Spend the time of a verification, for an identifier that has no account.

    Without it, "no such account" would answer 100 ms sooner than "wrong password".
    """
    params = (HASHER.time_cost, HASHER.memory_cost, HASHER.parallelism, HASHER.hash_len,
              HASHER.salt_len)
    if params not in _dummies:
        _dummies[params] = HASHER.hash("not the password of anyone")
    verify(_dummies[params], password)
