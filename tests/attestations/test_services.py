"""Issuing, checking, revoking when facts change, expiry, and keys that rotate."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import time_machine
from sqlalchemy import select

from app.attestations import payload, revocation, services, signing
from app.attestations.models import Attestation, AttestationRevocation
from app.db import Raw
from app.people import repository
from app.people.models import CivilStatusFile, FileStatus, Protection
from tests import factories
from tests.attestations.conftest import check, issue, qr_texts, render

NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)


def test_issuing_stores_the_digest_of_the_facts_and_signs_them(app, db_session,
                                                               refugee) -> None:
    issued = issue(app, db_session, refugee, "protection_status", NOW)
    row = db_session.get(Attestation, issued.terms.id)
    assert (row.person_id, row.scope, row.key_id) == (refugee.id, "protection_status",
                                                      issued.key_id)
    assert row.issued_at == NOW
    # Valid 90 days after the day it is issued, to the end of that day in Paris.
    assert issued.terms == payload.Terms(app.config["ATTESTATION_ISSUER"], row.id,
                                         date(2026, 3, 10), date(2026, 6, 8))
    assert row.expires_at == datetime(2026, 6, 8, 22, 0, tzinfo=UTC)
    raw = Raw(db_session)
    assert row.record_digest == payload.digest(
        "protection_status", services.holder(raw, refugee.id),
        repository.record(raw, "protection_status", refugee.id, date(2026, 3, 10)))
    result = check(app, db_session, issued.token, NOW)
    assert result.verdict == "valid"
    assert result.attestation.record == issued.record
    assert issued.record.protected and issued.record.protection == "refugee"


def test_a_token_with_one_byte_changed_is_forged(app, db_session, refugee) -> None:
    token = issue(app, db_session, refugee, "protection_status", NOW).token
    middle = len(token) // 2
    for position in (5, middle, len(token) - 1):
        char = "A" if token[position] != "A" else "B"
        result = check(app, db_session, token[:position] + char + token[position + 1:], NOW)
        assert result.verdict == "forged" and result.attestation is None


def test_a_well_signed_token_ofpra_never_issued_is_forged(app, db_session, refugee) -> None:
    issued = issue(app, db_session, refugee, "protection_status", NOW)
    key = app.extensions["ofpra.keys"].signing_key("attestation")
    claims = payload.claims(issued.terms, issued.scope, issued.holder, issued.record)
    unknown = signing.sign({**claims, "id": "00000000-0000-4000-8000-000000000000"}, key)
    assert check(app, db_session, unknown, NOW).reason == "unknown_attestation"
    elsewhere = signing.sign({**claims, "iss": "https://example.org"}, key)
    assert check(app, db_session, elsewhere, NOW).reason == "wrong_issuer"
    other_scope = signing.sign({**claims, "q": "cs", "r": {"e": False}}, key)
    assert check(app, db_session, other_scope, NOW).reason == "unknown_attestation"


def test_ending_the_protection_revokes_the_attestations_that_said_protected(
        app, db_session, refugee) -> None:
    protected = issue(app, db_session, refugee, "protection_status", NOW)
    progress = issue(app, db_session, refugee, "civil_status_progress", NOW)
    later = NOW + timedelta(days=20)
    assert revocation.revoke_stale(db_session, refugee.id, later) == 0
    protection = db_session.scalars(
        select(Protection).where(Protection.person_id == refugee.id)).one()
    protection.ended_on = date(2026, 3, 25)
    assert revocation.revoke_stale(db_session, refugee.id, later) == 1
    assert revocation.revoke_stale(db_session, refugee.id, later) == 0  # once is enough
    revoked = db_session.get(AttestationRevocation, protected.terms.id)
    assert (revoked.reason, revoked.revoked_at) == ("facts_changed", later)
    result = check(app, db_session, protected.token, later)
    assert result.verdict == "revoked" and result.revoked_at == later
    assert result.attestation.record.protected  # what it said, shown as revoked
    assert check(app, db_session, progress.token, later).verdict == "valid"
    assert revocation.revoked_ids(db_session, later) == [protected.terms.id]


def test_establishing_the_civil_status_revokes_what_said_it_was_not(
        app, db_session, refugee) -> None:
    other = factories.person(db_session, protections=[("stateless", date(2019, 1, 1), None)])
    mine = {scope: issue(app, db_session, refugee, scope, NOW)
            for scope in ("protection_status", "civil_status_progress", "civil_status")}
    theirs = issue(app, db_session, other, "civil_status", NOW)
    file = db_session.scalars(
        select(CivilStatusFile).where(CivilStatusFile.person_id == refugee.id)).one()
    file.status = FileStatus.ESTABLISHED
    file.established_on = date(2026, 3, 12)
    later = NOW + timedelta(days=3)
    # Everyone's, as the job does: only the refugee's two civil-status attestations.
    assert revocation.revoke_stale(db_session, None, later) == 2
    verdicts = {scope: check(app, db_session, issued.token, later).verdict
                for scope, issued in mine.items()}
    assert verdicts == {"protection_status": "valid", "civil_status_progress": "revoked",
                        "civil_status": "revoked"}
    assert check(app, db_session, theirs.token, later).verdict == "valid"


def test_facts_that_change_with_time_alone_are_caught_by_the_job(app, db_session) -> None:
    person = factories.person(db_session, protections=[("refugee", date(2020, 1, 1), None)],
                              civil_status_file=("in_progress", date(2025, 1, 1),
                                                 date(2026, 3, 20)))
    issued = issue(app, db_session, person, "civil_status_progress", NOW)
    assert issued.record.within_delay is True
    assert revocation.revoke_stale(db_session, None, NOW + timedelta(days=5)) == 0
    # The expected date passes: OFPRA would no longer say "within the delay".
    assert revocation.revoke_stale(db_session, None, NOW + timedelta(days=15)) == 1


def test_an_attestation_expires_after_its_last_day(app, db_session, refugee) -> None:
    issued = issue(app, db_session, refugee, "protection_status", NOW)
    last_evening = datetime(2026, 6, 8, 21, 59, tzinfo=UTC)  # 23:59 in Paris
    assert check(app, db_session, issued.token, last_evening).verdict == "valid"
    with time_machine.travel(datetime(2026, 6, 8, 22, 1, tzinfo=UTC), tick=False):
        result = check(app, db_session, issued.token)
    assert result.verdict == "expired"
    assert result.attestation.terms.valid_until == date(2026, 6, 8)
    # Expired ones leave the revocation list: they are refused anyway.
    db_session.add(AttestationRevocation(attestation_id=issued.terms.id, reason="test"))
    db_session.flush()
    assert revocation.revoked_ids(db_session, last_evening) == [issued.terms.id]
    assert revocation.revoked_ids(db_session, datetime(2026, 6, 9, tzinfo=UTC)) == []


def test_a_rotated_key_still_verifies_what_the_old_one_signed(app, db_session, refugee,
                                                              own_keys) -> None:
    old = issue(app, db_session, refugee, "protection_status", NOW)
    with time_machine.travel(datetime.now(UTC) + timedelta(days=1)):
        new_kid = own_keys.rotate("attestation")
    new = issue(app, db_session, refugee, "protection_status", NOW)
    assert new.key_id == new_kid != old.key_id
    published = {key["kid"] for key in own_keys.public_jwks("attestation")["keys"]}
    assert published == {old.key_id, new_kid}
    assert check(app, db_session, old.token, NOW).verdict == "valid"
    assert check(app, db_session, new.token, NOW).verdict == "valid"
    # Read back from the old PDF too.
    assert check(app, db_session, qr_texts(render(app, old))[0], NOW).verdict == "valid"


def test_downloading_again_gives_the_same_attestation_to_its_holder_only(
        app, db_session, refugee) -> None:
    keys = app.extensions["ofpra.keys"]
    first = issue(app, db_session, refugee, "protection_status", NOW)
    stranger = factories.person(db_session)

    def again(person_id: int, when: datetime = NOW) -> services.Issued | None:
        return services.reissue(db_session, keys, person_id=person_id,
                                attestation_id=first.terms.id, now=when,
                                issuer=app.config["ATTESTATION_ISSUER"])

    same = again(refugee.id)
    assert same is not None and same.token != first.token  # signed anew
    assert (same.terms, same.record, same.holder) == (first.terms, first.record, first.holder)
    assert check(app, db_session, same.token, NOW).verdict == "valid"
    assert again(stranger.id) is None
    assert again(refugee.id, datetime(2026, 6, 9, tzinfo=UTC)) is None  # expired
    protection = db_session.scalars(
        select(Protection).where(Protection.person_id == refugee.id)).one()
    protection.ended_on = date(2026, 3, 1)  # ended before it was issued: the facts changed
    db_session.flush()
    assert again(refugee.id) is None
