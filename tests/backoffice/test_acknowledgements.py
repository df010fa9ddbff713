"""Acknowledgements: when and how each document was notified, as OFPRA reads them."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app.notify import outbox
from app.notify.models import Channel
from app.people.models import Enrolment
from app.vault import acknowledgements
from app.vault.models import Delivery, Document, DocumentType, NotificationMethod
from tests.backoffice.conftest import BASE, bearer, person, problem

NOW = datetime.now(UTC)


def document(db_session, owner, made_available_at: datetime, **values) -> Document:  # type: ignore[no-untyped-def]
    """A document row as a deposit leaves it (its bytes are not needed here)."""
    fields = {"type": DocumentType.CONVOCATION, "title": "Convocation",
              "interview_at": datetime(2026, 6, 1, 8, tzinfo=UTC), "interview_place": "Rennes",
              "delivery": Delivery.ONLINE, "storage_key": uuid.uuid4().hex, "size": 1,
              "sha256": "0" * 64, "wrapped_key": b"k" * 60, "key_id": "k1", "nonce": b"n" * 12,
              "deposited_by": "ofpra", "idempotency_key": str(uuid.uuid4()),
              "request_digest": "0" * 64}
    fields.update(values)
    made = Document(person_id=owner.id, made_available_at=made_available_at, **fields)
    db_session.add(made)
    db_session.commit()
    return made


def read(client, token, document_id: str):  # type: ignore[no-untyped-def]
    return client.get(f"{BASE}/documents/{document_id}/acknowledgement", headers=bearer(token))


def test_a_document_not_yet_notified(client, db_session, token):
    someone = person(db_session)
    made = document(db_session, someone, NOW - timedelta(days=2))
    response = read(client, token, made.id)
    assert response.status_code == 200, response.json
    assert response.json == {
        "document_id": made.id, "person_id": someone.id, "type": "convocation",
        "delivery": "online", "made_available_at": made.made_available_at.isoformat(),
        "first_consulted_at": None, "notified_at": None, "notified_on": None, "method": None,
        "alerts": []}


def test_the_deposit_alerts_and_a_permanent_failure_are_shown(client, db_session, token):
    """OFPRA learns when the person could not be told, before the 15 days run out."""
    someone = person(db_session)
    made = document(db_session, someone, NOW - timedelta(days=1))
    for channel, recipient in (("email", "amina@example.org"), ("sms", "+33612345678")):
        message = outbox.enqueue(db_session, channel=Channel(channel), recipient=recipient,
                                 template="document_deposited", language="fr",
                                 person_id=someone.id)
        message.created_at = made.made_available_at
    # Another alert of the same person, for another deposit: not this document's.
    outbox.enqueue(db_session, channel=Channel.EMAIL, recipient="amina@example.org",
                   template="document_deposited", language="fr", person_id=someone.id)
    failed_at = NOW - timedelta(hours=3)
    # What the worker records after the last attempt (tests/notify drive it for real).
    message.failed_at, message.last_error = failed_at, "permanent: HTTP 400"
    db_session.flush()
    body = read(client, token, made.id).json
    assert body["alerts"] == [
        {"channel": "email", "state": "pending", "at": None},
        {"channel": "sms", "state": "failed", "at": failed_at.isoformat()},
    ]


def test_notified_at_the_first_consultation(client, db_session, token):
    someone = person(db_session)
    # Opened at 23:30 UTC: already the next day in Paris, the day deadlines count from.
    consulted = datetime(2026, 1, 10, 23, 30, tzinfo=UTC)
    made = document(db_session, someone, datetime(2026, 1, 8, 9, tzinfo=UTC),
                    first_consulted_at=consulted)
    body = read(client, token, made.id).json
    assert (body["first_consulted_at"], body["notified_at"], body["notified_on"],
            body["method"]) == (consulted.isoformat(), consulted.isoformat(), "2026-01-11",
                                "consultation")


def test_deemed_notified_15_days_later_on_the_paris_clock(client, db_session, token):
    someone = person(db_session)
    # Made available at 10:00 in Paris (CET) on 20 March 2026: deemed notified at 10:00 in
    # Paris (CEST) on 4 April, 14 days and 23 hours later.
    made = document(db_session, someone, datetime(2026, 3, 20, 9, tzinfo=UTC))
    body = read(client, token, made.id).json
    assert (body["notified_at"], body["notified_on"], body["method"]) == \
        ("2026-04-04T08:00:00+00:00", "2026-04-04", "deemed")


def test_a_consultation_after_the_deemed_date_changes_nothing(client, db_session, token):
    someone = person(db_session)
    made = document(db_session, someone, datetime(2026, 1, 5, 9, tzinfo=UTC),
                    first_consulted_at=datetime(2026, 1, 25, 9, tzinfo=UTC))
    body = read(client, token, made.id).json
    assert (body["notified_at"], body["method"]) == ("2026-01-20T09:00:00+00:00", "deemed")
    assert body["first_consulted_at"] == "2026-01-25T09:00:00+00:00"


def test_by_post(client, db_session, token):
    someone = person(db_session, enrolment=Enrolment.EXCLUDED_OVERSEAS)
    queued = document(db_session, someone, NOW - timedelta(days=30), delivery=Delivery.POST)
    body = read(client, token, queued.id).json
    assert (body["delivery"], body["notified_at"], body["method"]) == ("post", None, None)
    sent = datetime(2026, 2, 2, 15, tzinfo=UTC)
    posted = document(db_session, someone, NOW - timedelta(days=30), delivery=Delivery.POST,
                      notified_at=sent, notification_method=NotificationMethod.POST)
    body = read(client, token, posted.id).json
    assert (body["notified_at"], body["notified_on"], body["method"]) == \
        (sent.isoformat(), "2026-02-02", "post")


def test_an_unknown_document_is_404(client, db_session, token):
    problem(read(client, token, str(uuid.uuid4())), 404, "no_such_document")
    problem(read(client, token, "not-a-uuid"), 404, "no_such_resource")
    problem(client.get(f"{BASE}/documents/{uuid.uuid4()}", headers=bearer(token)), 404,
            "no_such_document")


# --- the list ---------------------------------------------------------------------------------

@pytest.fixture()
def deposited(db_session):  # type: ignore[no-untyped-def]
    """Two people's documents around midnight in Paris (UTC+1 in winter)."""
    first, second = person(db_session), person(db_session)
    made = {
        "early": document(db_session, first, datetime(2026, 1, 9, 22, 59, tzinfo=UTC)),
        "midnight": document(db_session, first, datetime(2026, 1, 9, 23, 0, tzinfo=UTC)),
        "other": document(db_session, second, datetime(2026, 1, 10, 12, 0, tzinfo=UTC)),
        "late": document(db_session, first, datetime(2026, 1, 10, 22, 59, tzinfo=UTC),
                         first_consulted_at=datetime(2026, 1, 11, 8, tzinfo=UTC)),
        "next_day": document(db_session, first, datetime(2026, 1, 10, 23, 0, tzinfo=UTC)),
    }
    return first, second, made


def listing(client, token, **query):  # type: ignore[no-untyped-def]
    return client.get(f"{BASE}/acknowledgements", query_string=query, headers=bearer(token))


def test_filter_by_person_and_paris_days(client, token, deposited):
    first, second, made = deposited
    response = listing(client, token, person_id=first.id, deposited_from="2026-01-10",
                       deposited_until="2026-01-10")
    assert response.status_code == 200, response.json
    assert [item["document_id"] for item in response.json] == \
        [made["midnight"].id, made["late"].id]
    late = response.json[1]
    assert (late["person_id"], late["type"], late["method"], late["notified_on"]) == \
        (first.id, "convocation", "consultation", "2026-01-11")
    response = listing(client, token, person_id=second.id)
    assert [item["document_id"] for item in response.json] == [made["other"].id]


def test_pages_in_deposit_order(client, token, deposited):
    first, _, made = deposited
    response = listing(client, token, person_id=first.id, page_size=3)
    assert [item["document_id"] for item in response.json] == \
        [made["early"].id, made["midnight"].id, made["late"].id]
    pagination = json.loads(response.headers["X-Pagination"])
    assert (pagination["total"], pagination["total_pages"], pagination["next_page"]) == (4, 2, 2)
    response = listing(client, token, person_id=first.id, page_size=3, page=2)
    assert [item["document_id"] for item in response.json] == [made["next_day"].id]


@pytest.mark.parametrize("query, field", [
    ({"deposited_from": "2026-01-10", "deposited_until": "2026-01-09"}, "deposited_until"),
    ({"person_id": "abc"}, "person_id"), ({"deposited_from": "10/01/2026"}, "deposited_from"),
    ({"page_size": 501}, "page_size"), ({"page": 0}, "page"),
])
def test_an_invalid_query_is_422(client, db_session, token, query, field):
    body = problem(listing(client, token, **query), 422, "invalid_request")
    assert field in body["errors"], body


def test_the_service_reads_the_deemed_date_before_the_job_records_it(db_session):
    owner = person(db_session)
    made = document(db_session, owner, datetime(2026, 3, 20, 9, tzinfo=UTC))
    before = acknowledgements.of(made, datetime(2026, 4, 4, 7, 59, tzinfo=UTC))
    after = acknowledgements.of(made, datetime(2026, 4, 4, 8, 0, tzinfo=UTC))
    assert (before.notified_at, before.method) == (None, None)
    assert (after.notified_at, after.notified_on, after.method) == \
        (datetime(2026, 4, 4, 8, tzinfo=UTC), datetime(2026, 4, 4).date(),
         NotificationMethod.DEEMED)
