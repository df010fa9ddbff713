"""The consent pages stay light on a cheap phone, and carry no script.

They are behind the sign-in, so the browser already holds what every page shares (the DSFR
core, the fonts, the header): what counts is what these pages add to it. A cold visit (nothing
cached) is printed for the record.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.consents.conftest import ACCESSES, CONSENTS, partner
from tests.consents.test_access_log import journal
from tests.web.test_assets import first_visit

# Bytes a signed-in page may add to what the home page already brought: its HTML and the
# DSFR components only it uses (the alert, the pagination).
ADDED_BUDGET = 40_000


@pytest.mark.parametrize("path", [CONSENTS, ACCESSES])
def test_the_consent_pages_add_little_to_what_the_phone_already_holds(
        browser, db_session, signed_in, refugee, school, path, capsys) -> None:
    caf = partner(db_session, "Caisse d'allocations familiales de Paris",
                  {"civil_status": 365, "civil_status_progress": 180},
                  legal_basis="Code de la sécurité sociale, art. L. 512-1 et R. 512-1")
    now = datetime.now(UTC)
    for n in range(30):  # more than a full page of the access log
        journal(db_session, refugee, caf, now - timedelta(hours=n))
    shared = first_visit(browser, "/")
    sizes = first_visit(browser, path)  # first_visit asserts there is no script
    added = {url: size for url, size in sizes.items() if url not in shared}
    with capsys.disabled():
        print(f"\n{path}: adds {sum(added.values()):,} bytes (HTML {sizes[path]:,}); "
              f"{sum(sizes.values()):,} bytes with an empty cache")
    assert sum(added.values()) < ADDED_BUDGET
