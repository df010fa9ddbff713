"""Every sandbox person answers every question exactly as sandbox/people.json says."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.people import sandbox
from tests import factories

SANDBOX = Path(__file__).resolve().parents[2] / "sandbox" / "people.json"
ENTRIES = json.loads(SANDBOX.read_text())["people"]
PATHS = {"protection_status": "/v1/protection-status",
         "civil_status_progress": "/v1/civil-status-progress",
         "civil_status": "/v1/civil-status"}


@pytest.fixture()
def loaded(db_session):
    sandbox.load(db_session, sandbox.read(SANDBOX))
    db_session.commit()


@pytest.mark.parametrize("entry", ENTRIES, ids=[entry["key"] for entry in ENTRIES])
@pytest.mark.parametrize("scope", list(PATHS))
def test_answer_is_as_documented(client, db_session, mint, loaded, entry, scope):
    partner = factories.partner(db_session, {scope: False})
    db_session.commit()
    token = mint(partner.client_id, scope)
    response = client.post(PATHS[scope], headers={"Authorization": f"Bearer {token}"},
                           json={**entry["lookup"], "recipient": factories.SIRET_CAF})
    expected = entry["expected"][scope]
    assert response.status_code == expected["status"], response.json
    if expected["status"] == 200:
        body = dict(response.json)
        assert body.pop("as_of") == datetime.now(ZoneInfo("Europe/Paris")).date().isoformat()
        assert body == expected["record"]
    else:
        # A refusal to identify says nothing about anyone: no field beyond the problem's own.
        assert set(response.json) == {"type", "title", "status", "code", "detail", "instance"}


def test_loading_twice_adds_nobody(db_session):
    first = sandbox.load(db_session, sandbox.read(SANDBOX))
    second = sandbox.load(db_session, sandbox.read(SANDBOX))
    assert {key: person.id for key, person in first.items()} == \
        {key: person.id for key, person in second.items()}
    assert len(first) == len(ENTRIES) - 1  # the lookup-only entry describes nobody
