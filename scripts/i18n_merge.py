"""Bring the catalogues up to date and fill them from app/translations/pending/*.json.

Several people translate at once: each writes its texts to its own pending file
({"English msgid": {"fr": "…", "en": "…"}}, "en" defaulting to the msgid) instead of editing
the .po files, then runs, under a lock so runs never interleave:

    flock /tmp/ofpra-i18n.lock .venv/bin/python scripts/i18n_merge.py

It extracts the texts from the code and templates (as `make i18n`), updates fr and en, fills
every empty msgstr found in a pending file, and compiles. Filled entries stay in the .po files;
a pending file can be deleted once merged.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from babel.messages import pofile

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "app" / "translations"
BIN = Path(sys.executable).parent


def main() -> int:
    build = ROOT / "build"
    build.mkdir(exist_ok=True)
    pot = build / "messages.pot"
    subprocess.run([BIN / "pybabel", "extract", "-F", "babel.cfg", "-k", "lazy_gettext",
                    "--add-location=file", "--project=Ofpra Connect",
                    "--copyright-holder=OFPRA", "-o", str(pot), "."], cwd=ROOT, check=True,
                   capture_output=True)
    subprocess.run([BIN / "pybabel", "update", "-i", str(pot), "-d", str(TRANSLATIONS),
                    "--ignore-obsolete", "--no-fuzzy-matching"], cwd=ROOT, check=True,
                   capture_output=True)
    pending: dict[str, dict[str, str]] = {}
    for path in sorted((TRANSLATIONS / "pending").glob("*.json")):
        pending.update(json.loads(path.read_text()))
    missing: dict[str, list[str]] = {}
    for language in ("fr", "en"):
        path = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
        with path.open("rb") as handle:
            catalog = pofile.read_po(handle, locale=language)
        for message in catalog:
            filled = (all(message.string) if isinstance(message.string, tuple | list)
                      else bool(message.string))
            if not message.id or filled:
                continue
            msgid = message.id if isinstance(message.id, str) else message.id[0]
            texts = pending.get(msgid, {})
            text = texts.get(language) or (msgid if language == "en" else None)
            if isinstance(message.id, tuple):
                plural = texts.get(f"{language}_plural") or (
                    message.id[1] if language == "en" else None)
                if text and plural:
                    message.string = (text, plural)
                    continue
            elif text:
                message.string = text
                continue
            missing.setdefault(language, []).append(msgid)
        with path.open("wb") as handle:
            pofile.write_po(handle, catalog, width=100, include_previous=False)
    subprocess.run([BIN / "pybabel", "compile", "-d", str(TRANSLATIONS)], cwd=ROOT,
                   check=True, capture_output=True)
    for language, msgids in missing.items():
        print(f"{language}: {len(msgids)} texts still to translate:")
        for msgid in msgids:
            print(f"  {msgid!r}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
