"""The password rules, and argon2id."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from app.accounts import passwords
from app.accounts.passwords import Problem


@pytest.mark.parametrize("password", [
    "un chat gris sous la pluie", "Correct horse battery staple", "ma fille s'appelle Keza 2012",
    "نحن نحب القهوة كثيرا", "j7#Qm2!vLp9@xZ", "Δ λόγος είναι καλός",
])
def test_good_passwords_pass(password: str) -> None:
    assert passwords.problems(password, ["7500000005", "900000000001"]) == []


@pytest.mark.parametrize(("password", "problem"), [
    ("court", Problem.TOO_SHORT), ("x" * 257 + "yz1", Problem.TOO_LONG),
    ("password1234", Problem.COMMON), ("Motdepasse2024!", Problem.COMMON),
    ("AZERTYUIOP12", Problem.COMMON), ("iloveyou!!!!!!", Problem.COMMON),
    ("123456789012", Problem.COMMON), ("ofpra connect 2025", Problem.COMMON),
    ("aaaaaaaaaaaaaaa", Problem.TOO_SIMPLE), ("abababababab", Problem.TOO_SIMPLE),
    ("qsdfghjklm42x", Problem.TOO_SIMPLE), ("98765432109x!", Problem.TOO_SIMPLE),
    ("moi 75 00 00 00 05", Problem.CONTAINS_IDENTIFIER),
    ("900000000001 et moi", Problem.CONTAINS_IDENTIFIER),
])
def test_bad_passwords_are_refused_with_their_reason(password: str, problem: Problem) -> None:
    assert problem in passwords.problems(password, ["7500000005", "900000000001"])


def test_hashes_are_argon2id_and_compare_unicode_forms_alike() -> None:
    composed, decomposed = "café au lait chaud", "cafe\u0301 au lait chaud"
    stored = passwords.hash_password(composed)
    assert stored.startswith("$argon2id$")
    assert passwords.verify(stored, decomposed)
    assert not passwords.verify(stored, "the wrong one entirely")
    assert not passwords.verify("not a hash", composed)


def test_production_uses_argon2_cffi_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()  # the module's own hasher, not the tests' cheaper one
    default = PasswordHasher()
    assert (passwords.HASHER.time_cost, passwords.HASHER.memory_cost,
            passwords.HASHER.parallelism) == (default.time_cost, default.memory_cost,
                                              default.parallelism)
    assert passwords.HASHER.type.name == "ID"


def test_a_hash_of_other_parameters_needs_rehash(monkeypatch: pytest.MonkeyPatch) -> None:
    old = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("a long enough phrase")
    monkeypatch.setattr(passwords, "HASHER", PasswordHasher(time_cost=2, memory_cost=8,
                                                            parallelism=1))
    assert passwords.needs_rehash(old)
    assert passwords.verify(old, "a long enough phrase")
    assert not passwords.needs_rehash(passwords.hash_password("a long enough phrase"))
