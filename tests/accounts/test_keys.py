"""Connection keys and codes: typable, unguessable, stored as keyed digests only."""

from __future__ import annotations

import math

import pytest

from app.accounts import keys


def test_a_key_has_80_bits_in_4_groups_of_4_unambiguous_symbols() -> None:
    key = keys.new_key()
    assert len(key) == 16 and set(key) <= set(keys.ALPHABET)
    assert len(keys.ALPHABET) == 32 and not set("ILOU") & set(keys.ALPHABET)
    assert math.log2(len(keys.ALPHABET)) * len(key) >= 80
    shown = keys.show_key(key)
    assert len(shown.split("-")) == 4 and all(len(group) == 4 for group in shown.split("-"))
    assert len({keys.new_key() for _ in range(1000)}) == 1000


@pytest.mark.parametrize(("typed", "expected"), [
    ("ABCD-EFGH-JKMN-PQRS", "ABCDEFGHJKMNPQRS"),
    ("abcd efgh jkmn pqrs", "ABCDEFGHJKMNPQRS"),
    ("  abcd\u00a0efgh.jkmn_pqrs ", "ABCDEFGHJKMNPQRS"),
    ("O0I1-L1AB-CDEF-GHJK", "0011" "11AB" "CDEF" "GHJK"),  # read as they look
    ("ABCD-EFGH-JKMN-PQR", None), ("ABCD-EFGH-JKMN-PQRSU", None), ("UUUU-EFGH-JKMN-PQRS", None),
    ("", None),
])
def test_keys_are_read_as_people_type_them(typed: str, expected: str | None) -> None:
    assert keys.normalise_key(typed) == expected


def test_codes_have_6_digits() -> None:
    codes = {keys.new_code() for _ in range(200)}
    assert all(len(code) == 6 and code.isdigit() for code in codes)
    assert keys.normalise_code(" 12 34 56 ") == "123456"
    assert keys.normalise_code("12345") is None and keys.normalise_code("١٢٣٤٥٦") is None


def test_digests_depend_on_the_secret_and_the_purpose() -> None:
    one = keys.digest("s" * 32, "activation-key", "ABCD")
    assert len(one) == 64 and "ABCD" not in one
    assert one == keys.digest("s" * 32, "activation-key", "ABCD")
    assert one != keys.digest("t" * 32, "activation-key", "ABCD")
    assert one != keys.digest("s" * 32, "one-time-code", "ABCD")
    assert keys.same(one, one) and not keys.same(one, "0" * 64)
