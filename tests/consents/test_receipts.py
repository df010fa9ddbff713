"""The consent receipt (ISO/IEC TS 27560): its structure, its values, and its owner only."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from consent import ledger
from consent.models import Method
from tests import factories
from tests.consents.conftest import CONSENTS, account, sign_in


def url(consent_id: str) -> str:
    return f"{CONSENTS}/{consent_id}/recu.json"


def give(db_session, person, partner, *, scopes=("civil_status_progress",), days=90,
         granted_at=None, method=Method.ONLINE, collected_by="person"):
    granted_at = granted_at or datetime.now(UTC) - timedelta(minutes=5)
    return ledger.give(db_session, person_id=person.id, partner_id=partner.id,
                       scopes=list(scopes), purpose="Inscription scolaire",
                       granted_at=granted_at, expires_at=granted_at + timedelta(days=days),
                       method=method, collected_by=collected_by)


def test_the_receipt_follows_iso_27560(app, browser, db_session, signed_in, refugee,
                                       school) -> None:
    consent = give(db_session, refugee, school, scopes=("civil_status_progress", "civil_status"))
    withdrawn_at = datetime.now(UTC) - timedelta(minutes=1)
    ledger.withdraw(db_session, consent.id, at=withdrawn_at, actor="person")
    response = browser.get(url(consent.id))
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == \
        f'attachment; filename="ofpra-consent-{consent.id}.json"'
    body = response.json
    assert list(body) == ["header", "processing", "parties", "events"]

    header = body["header"]
    assert header["schema_version"] == \
        "ofpra-connect-consent-receipt/1 (ISO/IEC TS 27560:2023)"
    assert header["record_id"] == consent.id
    assert uuid.UUID(header["receipt_id"]).version == 4
    assert header["record_created_at"] == consent.created_at.isoformat(timespec="seconds")
    assert datetime.fromisoformat(header["receipt_issued_at"]) >= withdrawn_at.replace(
        microsecond=0)
    assert (header["language"], header["jurisdiction"], header["state"]) == \
        ("fr", "FR", "withdrawn")

    [purpose] = body["processing"]["purposes"]
    assert purpose["purpose"] == "Inscription scolaire"
    assert purpose["lawful_basis"] == {
        "type": "consent", "reference": "GDPR art. 6(1)(a)",
        "legal_basis": "Code de l'éducation, art. L. 131-1",
        "legal_basis_url": "https://www.legifrance.gouv.fr/codes/article_lc/X"}
    categories = {item["pii_type"]: item["pii_attributes"]
                  for item in purpose["pii_information"]}
    assert categories["civil_status_progress"] == [
        "as_of", "status", "family_form_received_on", "expected_by", "within_delay",
        "established_on"]
    assert {"identity.birth_name", "identity.birth_date", "acts.number",
            "family.relation", "family.unknown"} <= set(categories["civil_status"])
    assert not [name for name in categories["civil_status"]
                if "nationality" in name or "origin" in name]
    assert purpose["retention_period"] == {"duration": "P90D", "days": 90,
                                           "held_by": "recipient"}
    assert purpose["validity"] == {
        "from": consent.granted_at.isoformat(timespec="seconds"),
        "until": consent.expires_at.isoformat(timespec="seconds")}
    assert purpose["collection_method"] == "online"
    assert purpose["storage_locations"] == ["FR"]
    assert purpose["withdrawal_method"] == app.config["PUBLIC_URL"].rstrip("/") + CONSENTS
    assert (purpose["pii_controllers"], purpose["recipient_third_parties"]) == \
        (["ofpra"], ["recipient"])

    principal, controller, recipient = body["parties"]
    assert principal["party_role"] == "PII principal"
    assert len(principal["pseudonym"]) == 64
    assert controller["party_id"] == "ofpra" and controller["party_role"] == "PII controller"
    assert recipient == {"party_id": "recipient", "party_role": "Recipient",
                         "party_name": "École Jules-Ferry", "siret": factories.SIRET_SCHOOL}

    given, withdrawn = body["events"]
    assert given == {"event_time": consent.granted_at.isoformat(timespec="seconds"),
                     "event_state": "consent given", "dpv_status": "dpv:ConsentGiven",
                     "event_type": "explicit", "method": "online", "entity": "pii-principal",
                     "validity_duration": "P90D"}
    assert withdrawn == {"event_time": withdrawn_at.isoformat(timespec="seconds"),
                         "event_state": "consent withdrawn",
                         "dpv_status": "dpv:ConsentWithdrawn", "event_type": "explicit",
                         "method": "online", "entity": "pii-principal"}


def test_the_person_is_a_pseudonym_never_a_number(browser, db_session, signed_in, refugee,
                                                  school) -> None:
    first = give(db_session, refugee, school)
    second = give(db_session, refugee, school, scopes=("protection_status",))
    one, two = (browser.get(url(c.id)).get_data(as_text=True) for c in (first, second))
    for text in (one, two):
        assert refugee.ofpra_number not in text and refugee.agdref_number not in text
        assert "Testperson" not in text and str(refugee.birth_date) not in text
    pseudonym = browser.get(url(first.id)).json["parties"][0]["pseudonym"]
    assert browser.get(url(second.id)).json["parties"][0]["pseudonym"] == pseudonym


def test_a_desk_consent_past_its_expiry_shows_the_expiry_not_yet_recorded(
        browser, db_session, signed_in, refugee, school) -> None:
    consent = give(db_session, refugee, school, days=30, method=Method.DESK,
                   collected_by="agent-42", granted_at=datetime(2025, 1, 1, 10, tzinfo=UTC))
    body = browser.get(url(consent.id)).json
    assert body["header"]["state"] == "expired"
    given, expired = body["events"]
    # The staff member's identifier stays internal.
    assert (given["method"], given["entity"]) == ("desk", "ofpra")
    assert "agent-42" not in str(body)
    assert expired == {"event_time": "2025-01-31T10:00:00+00:00",
                       "event_state": "consent expired", "dpv_status": "dpv:ConsentExpired",
                       "event_type": "lapsed", "method": "automatic", "entity": "ofpra",
                       "recorded": False}
    ledger.record_expiries(db_session, datetime.now(UTC))
    given, expired = browser.get(url(consent.id)).json["events"]
    assert "recorded" not in expired and expired["event_time"] == "2025-01-31T10:00:00+00:00"


def test_only_the_owner_gets_the_receipt(app, browser, db_session, signed_in, school) -> None:
    other = factories.person(db_session)
    theirs = give(db_session, other, school)
    response = browser.get(url(theirs.id))
    assert response.status_code == 404
    assert response.mimetype == "text/html"  # the error page, nothing of the receipt
    assert "record_id" not in response.get_data(as_text=True)
    assert browser.get(url(str(uuid.uuid4()))).status_code == 404
    # The owner gets it; nobody signed in is sent to sign in.
    sign_in(browser, account(db_session, other))
    assert browser.get(url(theirs.id)).json["header"]["record_id"] == theirs.id
    with browser.session_transaction() as session:
        session.clear()
    response = browser.get(url(theirs.id))
    assert response.status_code == 302 and response.headers["Location"].startswith("/signin")
