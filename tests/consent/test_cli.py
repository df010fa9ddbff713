"""`flask consents`: a consent collected on paper at a desk, recorded by OFPRA staff."""

from datetime import date

from sqlalchemy import select

from consent.models import Consent, EventKind, Method
from tests import factories


def test_record_then_withdraw(app, db_session):
    person = factories.person(db_session, protections=[("refugee", date(2021, 1, 1), None)])
    caf = factories.partner(db_session, {"civil_status": True})
    db_session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=[
        "consents", "record", "--ofpra-number", person.ofpra_number, "--partner", caf.client_id,
        "--scope", "civil_status", "--days", "90", "--purpose", "Ouverture de droits",
        "--by", "agent-12"])
    assert result.exit_code == 0, result.output
    consent = db_session.scalars(select(Consent)).one()
    assert (consent.person_id, consent.partner_id, consent.scopes, consent.method,
            consent.collected_by) == (person.id, caf.id, "civil_status", Method.DESK, "agent-12")
    assert (consent.expires_at - consent.granted_at).days == 90
    assert consent.id in result.output

    result = runner.invoke(args=["consents", "withdraw", consent.id, "--by", "agent-12"])
    assert result.exit_code == 0, result.output
    db_session.expire_all()
    assert [event.kind for event in db_session.get(Consent, consent.id).events] == \
        [EventKind.GIVEN, EventKind.WITHDRAWN]


def test_record_refuses_what_the_habilitation_does_not_allow(app, db_session):
    person = factories.person(db_session)
    caf = factories.partner(db_session, {"civil_status": True, "protection_status": False})
    db_session.commit()
    runner = app.test_cli_runner()
    base = ["consents", "record", "--ofpra-number", person.ofpra_number, "--partner",
            caf.client_id, "--purpose", "p", "--by", "a"]
    too_long = runner.invoke(args=[*base, "--scope", "civil_status", "--days", "366"])
    assert too_long.exit_code == 1 and "at most 365 days" in too_long.output
    no_consent = runner.invoke(args=[*base, "--scope", "protection_status", "--days", "10"])
    assert no_consent.exit_code == 1 and "does not ask consent" in no_consent.output
    nobody = runner.invoke(args=["consents", "record", "--ofpra-number", "900199999999",
                                 "--partner", caf.client_id, "--scope", "civil_status",
                                 "--days", "10", "--purpose", "p", "--by", "a"])
    assert nobody.exit_code == 1 and "person not found" in nobody.output
    assert db_session.scalars(select(Consent)).all() == []
