"""Every text people read is translated: French and English complete, no stale entry."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from app import i18n

ROOT = Path(__file__).resolve().parents[2]
# The same keywords as `make i18n` (pybabel extract -k lazy_gettext).
KEYWORDS = {**DEFAULT_KEYWORDS, "lazy_gettext": None}


def catalogue(language: str):  # type: ignore[no-untyped-def]
    with (ROOT / "app" / "translations" / language / "LC_MESSAGES" / "messages.po").open(
            "rb") as source:
        return read_po(source, locale=language)


def extracted() -> set[str]:
    """Return the message ids found in the code and templates, as `make i18n` finds them."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)
    ids = set()
    for _filename, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS):
        ids.add(message[0] if isinstance(message, tuple) else message)
    return ids


@pytest.mark.parametrize("language", list(i18n.LANGUAGES))
def test_every_message_is_translated(language: str) -> None:
    messages = catalogue(language)
    assert not messages.fuzzy, f"{language}: the catalogue is marked fuzzy"
    untranslated = [message.id for message in messages if message.id and (
        message.fuzzy or not all(message.string if isinstance(message.string, tuple)
                                 else [message.string]))]
    assert untranslated == [], f"{language}: translate these (then `make translations`)"
    # Placeholders such as %(status)s must survive the translation.
    errors = [(message.id, [str(e) for e in errs]) for message, errs in messages.check()]
    assert errors == []


@pytest.mark.parametrize("language", list(i18n.LANGUAGES))
def test_catalogues_follow_the_code(language: str) -> None:
    in_code = extracted()
    assert len(in_code) > 50
    in_catalogue = {message.id if isinstance(message.id, str) else message.id[0]
                    for message in catalogue(language) if message.id}
    assert sorted(in_code - in_catalogue) == [], "missing: run `make i18n` and translate"
    assert sorted(in_catalogue - in_code) == [], "stale: run `make i18n`"


def test_french_is_the_default_and_both_languages_are_offered() -> None:
    assert i18n.DEFAULT == "fr"
    assert list(i18n.LANGUAGES) == ["fr", "en"]
