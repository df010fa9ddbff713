from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from consent import ledger
from consent.ledger import State
from consent.models import Consent, ConsentEvent, EventKind, Method
from tests import factories

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture()
def parties(db_session):
    return factories.person(db_session), factories.partner(db_session, {"civil_status": True})


def give(db_session, parties, **values):
    person, partner = parties
    fields = {"person_id": person.id, "partner_id": partner.id, "scopes": ["civil_status"],
              "purpose": "Ouverture de droits", "granted_at": NOW,
              "expires_at": NOW + timedelta(days=90), "method": Method.DESK,
              "collected_by": "agent-7"}
    fields.update(values)
    return ledger.give(db_session, **fields)


def test_give_appends_a_given_event(db_session, parties):
    consent = give(db_session, parties)
    events = db_session.scalars(select(ConsentEvent)).all()
    assert [(event.consent_id, event.kind, event.at, event.actor) for event in events] == \
        [(consent.id, EventKind.GIVEN, NOW, "agent-7")]
    assert consent.method is Method.DESK


def test_active_consent_over_time(db_session, parties):
    person, partner = parties
    consent = give(db_session, parties)

    def active(at, scope="civil_status"):
        return ledger.active_consent_id(db_session, person_id=person.id, partner_id=partner.id,
                                        scope=scope, at=at)

    assert active(NOW - timedelta(seconds=1)) is None
    assert active(NOW) == consent.id
    assert active(NOW, scope="protection_status") is None
    assert active(NOW + timedelta(days=90) - timedelta(microseconds=1)) == consent.id
    assert active(NOW + timedelta(days=90)) is None


def test_withdrawal_is_an_event_and_the_consent_row_is_untouched(db_session, parties):
    consent = give(db_session, parties)
    before = (consent.scopes, consent.expires_at, consent.granted_at)
    ledger.withdraw(db_session, consent.id, at=NOW + timedelta(hours=1), actor="person")
    db_session.expire_all()
    reloaded = db_session.get(Consent, consent.id)
    assert (reloaded.scopes, reloaded.expires_at, reloaded.granted_at) == before
    assert [event.kind for event in reloaded.events] == [EventKind.GIVEN, EventKind.WITHDRAWN]
    assert ledger.state(reloaded, NOW + timedelta(minutes=59)) is State.ACTIVE
    assert ledger.state(reloaded, NOW + timedelta(hours=1)) is State.WITHDRAWN
    with pytest.raises(ledger.ConsentClosed):
        ledger.withdraw(db_session, consent.id, at=NOW + timedelta(hours=2), actor="person")


def test_withdraw_unknown_consent(db_session):
    with pytest.raises(ledger.ConsentNotFound):
        ledger.withdraw(db_session, "00000000-0000-0000-0000-000000000000", at=NOW, actor="x")


def test_expiries_are_recorded_once(db_session, parties):
    due = give(db_session, parties, expires_at=NOW + timedelta(days=1))
    give(db_session, parties)
    assert ledger.record_expiries(db_session, NOW + timedelta(days=2)) == 1
    assert ledger.record_expiries(db_session, NOW + timedelta(days=2)) == 0
    db_session.expire_all()
    assert [event.kind for event in db_session.get(Consent, due.id).events] == \
        [EventKind.GIVEN, EventKind.EXPIRED]


@pytest.mark.parametrize("values", [{"scopes": []}, {"expires_at": NOW}])
def test_give_refuses_empty_or_backwards(db_session, parties, values):
    with pytest.raises(ledger.ConsentError):
        give(db_session, parties, **values)
