"""Answering a partner's question: habilitation, match, consent, record, journal.

`answer` never commits: it journals the outcome in the caller's transaction and returns it;
the API view commits once, then speaks. If the journal cannot be written, nothing is said.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from app.db import Raw
from app.journal import entries
from app.oauth.tokens import Caller
from app.partners.directory import PartnerView
from app.people import matching, records, repository
from consent import ledger, policy

PARIS = ZoneInfo("Europe/Paris")


class PartnerInactive(Exception):
    """The client's partner is unknown or deactivated."""


@dataclass(frozen=True)
class Answer:
    outcome: str  # found, not_found, ambiguous, or refused:<reason>
    record: records.Record | None = None
    reason: policy.Reason | None = None
    consent_id: str | None = None


def lookup_from(data: dict[str, Any]) -> matching.Lookup:
    given = data.get("given_names")
    return matching.Lookup(
        ofpra_number=data.get("ofpra_number"),
        agdref_number=None if data.get("ofpra_number") else data.get("agdref_number"),
        birth_date=data.get("birth_date"),
        birth_name=data.get("birth_name"),
        given_names=tuple(given) if given else None,
    )


def answer(db_session: Session, *, caller: Caller, partner: PartnerView | None, scope: str,
           data: dict[str, Any], now: datetime, request_id: str, pseudonym_key: str) -> Answer:
    """Decide, build the record if allowed, and journal the outcome in the same transaction."""
    raw = Raw(db_session)
    lookup = lookup_from(data)
    today = now.astimezone(PARIS).date()
    decision: policy.Decision | None = None
    person: matching.Candidate | None = None

    if partner is None or not partner.active:
        result = Answer("refused:partner_inactive")
    else:
        # What the partner may ask is decided before anyone is looked up.
        decision = policy.decide(partner.grants, scope, today, lambda: None)
        if decision.reason in (policy.Reason.SCOPE_NOT_GRANTED,
                               policy.Reason.HABILITATION_NOT_IN_FORCE):
            result = Answer(f"refused:{decision.reason}", reason=decision.reason)
        else:
            found, person = matching.decide(lookup, repository.candidates(raw, lookup))
            if person is None:
                result = Answer(found.value)
            else:
                person_id, partner_id = person.id, partner.id
                decision = policy.decide(
                    partner.grants, scope, today,
                    lambda: ledger.active_consent_id(db_session, person_id=person_id,
                                                     partner_id=partner_id, scope=scope, at=now),
                )
                if not decision.allowed:
                    result = Answer(f"refused:{decision.reason}", reason=decision.reason)
                else:
                    result = Answer("found", repository.record(raw, scope, person.id, today),
                                    consent_id=decision.consent_id)

    entries.append(raw, entries.Entry(
        at=now, request_id=request_id, partner_id=partner.id if partner else None,
        client_id=caller.client_id, scope=scope, recipient=data.get("recipient"),
        outcome=result.outcome,
        basis=decision.basis.value if decision and decision.basis else None,
        habilitation_id=decision.habilitation_id if decision else None,
        consent_id=result.consent_id,
        person_id=person.id if person else None,
        subject_key=entries.pseudonym(pseudonym_key, f"{scope}|{lookup.canonical()}"),
    ))
    return result
