"""Who looked at my information: every journal entry about the person, newest first."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from app.db import Raw
from app.journal import entries
from consent import ledger
from consent.models import Method
from tests import factories
from tests.consents.conftest import ACCESSES, account, fetch, partner, sign_in

BASE = datetime(2026, 1, 15, 13, 5, tzinfo=UTC)  # 14:05 in Paris (winter time)


def journal(db_session, person, made, at, **changes) -> None:
    """Append an entry the way the partner API does."""
    entry = entries.Entry(
        at=at, request_id="req-00000001", partner_id=made.id, client_id=made.client_id,
        scope="protection_status", recipient=factories.SIRET_SCHOOL, outcome="found",
        basis="legal_basis", habilitation_id=made.habilitations[0].id, consent_id=None,
        person_id=person.id if person else None, subject_key="0" * 64)
    entries.append(Raw(db_session), replace(entry, **changes))


def page(client, number: int | None = None, status: int = 200) -> str:
    path = ACCESSES if number is None else f"{ACCESSES}?page={number}"
    code, body, headers = fetch(client, path)
    assert code == status
    return body.decode()


def listed(text: str) -> list[str]:
    return re.findall(r'<time datetime="([^"]+)">', text)


@pytest.fixture()
def bus(db_session):
    return partner(db_session, "Réseau de bus", {"protection_status": None},
                   legal_basis="Code des transports, art. L. 1113-1")


def test_a_visitor_without_a_session_is_sent_to_sign_in(browser) -> None:
    response = browser.get(ACCESSES)
    assert response.status_code == 302
    assert response.headers["Location"] == "/signin?next=%2Fespace%2Facces"


def test_entries_come_newest_first_twenty_a_page(browser, db_session, signed_in, refugee,
                                                 bus) -> None:
    for n in range(45):
        journal(db_session, refugee, bus, BASE + timedelta(minutes=n))
    first, second, third = page(browser), page(browser, 2), page(browser, 3)
    expected = [(BASE + timedelta(minutes=n)).isoformat() for n in reversed(range(45))]
    assert listed(first) == expected[:20]
    assert listed(second) == expected[20:40]
    assert listed(third) == expected[40:]
    assert "Demandes vous concernant\u00a0: 45 au total." in first
    page(browser, 4, status=404)
    page(browser, -1, status=404)
    # DSFR pagination: the page number is the only thing in the URL.
    assert 'aria-current="page" title="Page 2">2</a>' in second
    assert 'href="?page=1"' in second and 'href="?page=3"' in second
    assert "Page suivante" in second and "Page précédente" in second
    assert '<a class="fr-pagination__link fr-pagination__link--last" aria-disabled="true"' \
        in third
    assert "<title>Qui a consulté mes informations — page 3 sur 3 — " in third


def test_each_entry_says_who_when_what_and_on_which_basis(browser, db_session, signed_in,
                                                         refugee, bus, school) -> None:
    consent = ledger.give(db_session, person_id=refugee.id, partner_id=school.id,
                          scopes=["civil_status_progress"], purpose="p",
                          granted_at=datetime(2026, 1, 10, 9, tzinfo=UTC),
                          expires_at=datetime(2026, 4, 10, 9, tzinfo=UTC),
                          method=Method.ONLINE, collected_by="person")
    journal(db_session, refugee, bus, BASE)
    journal(db_session, refugee, school, BASE + timedelta(hours=1),
            scope="civil_status_progress", outcome="refused:consent_required", basis=None)
    journal(db_session, refugee, school, BASE + timedelta(hours=2), scope="consent_request",
            outcome="consent_requested", basis=None)
    journal(db_session, refugee, school, datetime(2026, 7, 1, 12, tzinfo=UTC),
            scope="civil_status_progress", basis="consent", consent_id=consent.id)
    text = page(browser)
    items = re.findall(r'<li class="fr-mb-3w">.*?</li>', text, re.S)
    assert len(items) == 4
    summer, requested, refused, by_law = items
    assert "École Jules-Ferry" in summer
    assert "1 juillet 2026, 14:00" in summer  # summer time in Paris
    assert "L’avancement de vos documents d’état civil à l’OFPRA" in summer
    assert "Elle a reçu la réponse." in summer
    assert f'href="/espace/consentements#consentement-{consent.id}">' \
           "votre consentement du 10 janvier 2026</a>" in summer
    assert "Une demande de consentement" in requested
    assert "Elle a seulement appris que l’OFPRA a un dossier à votre nom." in requested
    assert "pour demander votre consentement\u00a0:" in requested
    assert "Code de l&#39;éducation, art. L. 131-1" in requested
    assert "Refusé\u00a0: vous n’aviez pas donné votre consentement. Elle n’a rien reçu." \
        in refused
    assert "rien\u00a0: la réponse a été refusée." in refused
    assert "Réseau de bus" in by_law and "15 janvier 2026, 14:05" in by_law
    assert "Votre statut de protection (réfugié, protection subsidiaire, apatride)" in by_law
    assert '<a href="https://www.legifrance.gouv.fr/codes/article_lc/X">' \
           "Code des transports, art. L. 1113-1</a>" in by_law


def test_the_log_is_in_english_for_an_english_account(browser, db_session, refugee,
                                                      bus) -> None:
    sign_in(browser, account(db_session, refugee, language="en"))
    journal(db_session, refugee, bus, BASE)
    text = page(browser).replace("\u202f", " ")
    assert "<h1>Who looked at my information</h1>" in text
    assert "January 15, 2026, 2:05 PM" in text
    assert "It received the answer." in text


def test_the_entries_of_other_people_are_never_shown(browser, db_session, signed_in,
                                                     refugee, bus) -> None:
    other = factories.person(db_session)
    spy = partner(db_session, "Administration curieuse", {"protection_status": None})
    journal(db_session, other, spy, BASE)
    journal(db_session, None, spy, BASE, outcome="not_found", basis=None)
    assert "Aucune administration n’a encore demandé d’informations sur vous." in page(browser)
    journal(db_session, refugee, bus, BASE + timedelta(minutes=1))
    text = page(browser)
    assert listed(text) == [(BASE + timedelta(minutes=1)).isoformat()]
    assert "Administration curieuse" not in text


def test_one_query_reads_a_page(app, browser, db_session, signed_in, refugee, bus) -> None:
    for n in range(25):
        journal(db_session, refugee, bus, BASE + timedelta(minutes=n))
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    engine = app.extensions["ofpra.db"].engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        page(browser, 2)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    journal_reads = [sql for sql in statements if "journal_entry" in sql]
    assert len(journal_reads) == 1
    assert "count(*) OVER ()" in journal_reads[0]
    if db_session.get_bind().dialect.name == "sqlite":
        plan = db_session.connection().exec_driver_sql(
            "EXPLAIN QUERY PLAN " + journal_reads[0].replace("?", str(refugee.id), 1)
            .replace("?", "20").replace("?", "20")).all()
        assert "ix_journal_entry_person_id_id" in str(plan)
