"""`flask attestations revoke-stale`: the job for the facts that change with time alone."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from app.attestations.models import AttestationRevocation
from app.people.models import Protection
from tests import factories
from tests.attestations.conftest import issue


def test_the_job_revokes_what_is_stale_for_one_person_or_everyone(app, db_session,
                                                                  refugee) -> None:
    other = factories.person(db_session, protections=[("refugee", date(2019, 1, 1), None)])
    mine = issue(app, db_session, refugee, "protection_status")
    theirs = issue(app, db_session, other, "protection_status")
    for person in (refugee, other):
        protection = db_session.scalars(
            select(Protection).where(Protection.person_id == person.id)).one()
        protection.ended_on = date(2026, 1, 1)
    db_session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["attestations", "revoke-stale", "--person", str(refugee.id)])
    assert result.exit_code == 0, result.output
    assert result.output == "1 attestation(s) revoked\n"
    db_session.expire_all()
    assert db_session.get(AttestationRevocation, mine.terms.id) is not None
    assert db_session.get(AttestationRevocation, theirs.terms.id) is None
    result = runner.invoke(args=["attestations", "revoke-stale"])
    assert result.output == "1 attestation(s) revoked\n"
    assert runner.invoke(args=["attestations", "revoke-stale"]).output == \
        "0 attestation(s) revoked\n"
    revoked = db_session.get(AttestationRevocation, theirs.terms.id)
    assert revoked.reason == "facts_changed"
    assert revoked.revoked_at <= datetime.now(UTC)
