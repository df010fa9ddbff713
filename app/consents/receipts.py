"""A consent receipt: the person's copy of one consent record, shaped on ISO/IEC TS 27560.

ISO/IEC TS 27560:2023 ("Privacy technologies — Consent record information structure") lists
what a consent record holds, in four parts; a receipt is a copy given to the PII principal.
This receipt is plain JSON, with the standard's field names in snake_case (as the DPVCG's
JSON examples write them). Where each value comes from:

header (the record's metadata)
    schema_version      SCHEMA_VERSION: this structure, and the standard it follows.
    record_id           consent.id — the ledger's consent, written once.
    receipt_id          a fresh UUID for each copy issued.
    record_created_at   consent.created_at; receipt_issued_at: now.
    language            the language the person reads the space in.
    jurisdiction        "FR".
    state               active / withdrawn / expired at issue time (consent.ledger.state).

processing (PII processing: one purpose — a consent covers one partner and one purpose)
    purposes[].purpose            consent.purpose (the habilitation's, or the partner's request).
    purposes[].lawful_basis       consent (GDPR art. 6(1)(a)), with the habilitation's legal
                                  text and URL that make consent the condition of the answer.
    purposes[].pii_information    one entry per scope of the consent: the scope and the fields
                                  of the record that scope answers with (people.records), i.e.
                                  exactly what the partner can receive.
    purposes[].collection_method  consent.method: online, desk, authorization_code.
    purposes[].storage_locations  ["FR"]; retention_period: the habilitation's retention_days
                                  (ISO 8601 duration), kept by the recipient.
    purposes[].validity           granted_at → expires_at.
    purposes[].withdrawal_method  the page where the person withdraws it online.
    purposes[].pii_controllers / recipient_third_parties: party ids below.

parties
    pii-principal  the person, by a keyed pseudonym (HMAC-SHA256 under PSEUDONYM_KEY) of the
                   internal person id: stable across the person's receipts, and neither the
                   OFPRA nor the AGDREF number.
    ofpra          the PII controller: OFPRA, which holds the data and answers.
    recipient      the partner administration, with its SIRET.

events (the ledger's consent_event rows, in order)
    event_time, event_state ("consent given" / "consent withdrawn" / "consent expired"),
    dpv_status (the DPV ConsentStatus term), event_type ("explicit" when a person acts),
    method (how: online, desk, authorization_code; "automatic" for an expiry), entity (which
    party acted: the person, or OFPRA's staff or system), validity_duration on `given`.
    An expiry that has come but that `flask consents expire` has not recorded yet is listed
    too, with "recorded": false — the policy already treats the consent as expired.
"""

from __future__ import annotations

import dataclasses
import types
import typing
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.consents import services
from app.journal import entries
from app.partners.models import Partner
from app.people import records
from consent import ledger
from consent.models import Consent, EventKind, Method

SCHEMA_VERSION = "ofpra-connect-consent-receipt/1 (ISO/IEC TS 27560:2023)"

# Which record each scope answers with: the fields a partner can receive.
RECORD_TYPES: dict[str, type] = {
    "protection_status": records.ProtectionStatusRecord,
    "civil_status_progress": records.CivilStatusProgressRecord,
    "civil_status": records.CivilStatusRecord,
}

CONTROLLER = {
    "party_id": "ofpra",
    "party_role": "PII controller",
    "party_name": "Office français de protection des réfugiés et apatrides (OFPRA)",
    "party_url": "https://www.ofpra.gouv.fr",
    "party_address": "201 rue Carnot, 94136 Fontenay-sous-Bois Cedex, France",
}

STATES = {
    EventKind.GIVEN: ("consent given", "dpv:ConsentGiven"),
    EventKind.WITHDRAWN: ("consent withdrawn", "dpv:ConsentWithdrawn"),
    EventKind.EXPIRED: ("consent expired", "dpv:ConsentExpired"),
}


def record_fields(scope: str) -> list[str]:
    """The fields of the record a scope answers with, nested ones dotted (identity.sex)."""
    return _fields(RECORD_TYPES[scope], "")


def _fields(cls: type, prefix: str) -> list[str]:
    hints = typing.get_type_hints(cls)
    names: list[str] = []
    for field in dataclasses.fields(cls):
        nested = _nested_dataclass(hints[field.name])
        if nested is None:
            names.append(prefix + field.name)
        else:
            names += _fields(nested, f"{prefix}{field.name}.")
    return names


def _nested_dataclass(hint: Any) -> type | None:
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return hint
    if typing.get_origin(hint) in (list, typing.Union, types.UnionType):
        for argument in typing.get_args(hint):
            found = _nested_dataclass(argument)
            if found is not None:
                return found
    return None


def iso_duration(span: timedelta) -> str:
    """An ISO 8601 duration: P30D for whole days, else in seconds (PT90S)."""
    if span.seconds == 0 and span.microseconds == 0:
        return f"P{span.days}D"
    return f"PT{int(span.total_seconds())}S"


def _time(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def _event(kind: EventKind, at: datetime, actor: str, consent: Consent,
           recorded: bool = True) -> dict[str, Any]:
    state, dpv = STATES[kind]
    if kind is EventKind.GIVEN:
        method = consent.method.value
    elif kind is EventKind.EXPIRED:
        method = "automatic"
    else:
        method = Method.ONLINE.value if actor == "person" else Method.DESK.value
    event: dict[str, Any] = {
        "event_time": _time(at),
        "event_state": state,
        "dpv_status": dpv,
        "event_type": "explicit" if kind is not EventKind.EXPIRED else "lapsed",
        "method": method,
        # Staff identifiers stay internal: the person learns that OFPRA acted, not who.
        "entity": "pii-principal" if actor == "person" else "ofpra",
    }
    if kind is EventKind.GIVEN:
        event["validity_duration"] = iso_duration(consent.expires_at - consent.granted_at)
    if not recorded:
        event["recorded"] = False
    return event


def receipt(db_session: Session, *, consent_id: str, person_id: int, now: datetime,
            pseudonym_key: str, withdrawal_url: str, language: str) -> dict[str, Any] | None:
    """The receipt of one of the person's consents; None if it is not this person's."""
    consent = db_session.get(Consent, consent_id)
    if consent is None or consent.person_id != person_id:
        return None
    partner = db_session.get(Partner, consent.partner_id)
    if partner is None:  # a foreign key: cannot happen
        return None
    habilitation = services.habilitation_for(db_session, consent)
    state = ledger.state(consent, now)

    events = [_event(event.kind, event.at, event.actor, consent) for event in consent.events]
    recorded_end = any(event.kind is not EventKind.GIVEN for event in consent.events)
    if state is ledger.State.EXPIRED and not recorded_end:
        events.append(_event(EventKind.EXPIRED, consent.expires_at, "system", consent,
                             recorded=False))

    lawful_basis: dict[str, Any] = {"type": "consent", "reference": "GDPR art. 6(1)(a)"}
    retention: dict[str, Any] | None = None
    if habilitation is not None:
        lawful_basis.update(legal_basis=habilitation.legal_basis,
                            legal_basis_url=habilitation.legal_basis_url)
        retention = {"duration": f"P{habilitation.retention_days}D",
                     "days": habilitation.retention_days, "held_by": "recipient"}
    return {
        "header": {
            "schema_version": SCHEMA_VERSION,
            "record_id": consent.id,
            "receipt_id": str(uuid.uuid4()),
            "record_created_at": _time(consent.created_at),
            "receipt_issued_at": _time(now),
            "language": language,
            "jurisdiction": "FR",
            "state": state.value,
        },
        "processing": {
            "purposes": [{
                "purpose": consent.purpose,
                "lawful_basis": lawful_basis,
                "pii_information": [{"pii_type": scope, "pii_attributes": record_fields(scope)}
                                    for scope in consent.scope_list],
                "pii_controllers": ["ofpra"],
                "recipient_third_parties": ["recipient"],
                "collection_method": consent.method.value,
                "storage_locations": ["FR"],
                "retention_period": retention,
                "validity": {"from": _time(consent.granted_at),
                             "until": _time(consent.expires_at)},
                "withdrawal_method": withdrawal_url,
            }],
        },
        "parties": [
            {"party_id": "pii-principal", "party_role": "PII principal",
             "pseudonym": entries.pseudonym(pseudonym_key, f"consent-receipt|{person_id}")},
            CONTROLLER,
            {"party_id": "recipient", "party_role": "Recipient", "party_name": partner.name,
             "siret": partner.siret},
        ],
        "events": events,
    }
