"""Answering a partner's question: habilitation, match, consent, record, journal.

`answer` never commits: it journals the outcome in the caller's transaction and returns it;
the API view commits once, then speaks. If the journal cannot be written, nothing is said.

With a person-bound token (the person consented on the partner's website), nobody is looked
up: the person is the consent's, and only while that very consent is in force for this partner
and this scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from app.db import Raw
from app.journal import entries
from app.oauth.tokens import Caller
from app.partners.directory import PartnerView
from app.people import matching, records, repository
from consent import ledger, policy
from consent.models import Consent

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


def answer(raw: Raw, *, caller: Caller, partner: PartnerView | None, scope: str,
           data: dict[str, Any], now: datetime, request_id: str, pseudonym_key: str) -> Answer:
    """Decide, build the record if allowed, and journal the outcome in the same transaction."""
    lookup = lookup_from(data)
    today = now.astimezone(PARIS).date()
    decision: policy.Decision | None = None
    person: matching.Candidate | None = None
    bound_person_id: int | None = None

    if partner is None or not partner.active:
        result = Answer("refused:partner_inactive")
    else:
        # What the partner may ask is decided before anyone is looked up.
        decision = policy.decide(partner.grants, scope, today, lambda: None)
        if decision.reason in (policy.Reason.SCOPE_NOT_GRANTED,
                               policy.Reason.HABILITATION_NOT_IN_FORCE):
            result = Answer(f"refused:{decision.reason}", reason=decision.reason)
        elif caller.consent_id is not None:
            result, decision, bound_person_id = answer_for_consent(
                raw, consent_id=caller.consent_id, partner=partner, scope=scope, now=now)
        else:
            read = repository.candidates_with_facts(raw, lookup, scope)
            found, person = matching.decide(lookup, read.candidates)
            if person is None:
                result = Answer(found.value)
            else:
                person_id, partner_id = person.id, partner.id
                decision = policy.decide(
                    partner.grants, scope, today,
                    lambda: ledger.active_consent_id(raw.session(), person_id=person_id,
                                                     partner_id=partner_id, scope=scope, at=now),
                )
                if not decision.allowed:
                    result = Answer(f"refused:{decision.reason}", reason=decision.reason)
                else:
                    result = Answer("found", read.record(raw, person.id, today),
                                    consent_id=decision.consent_id)

    # A person-bound question names no one: its pseudonym is over the consent instead.
    subject = (f"consent:{caller.consent_id}" if caller.consent_id is not None
               else lookup.canonical())
    entries.append(raw, entries.Entry(
        at=now, request_id=request_id, partner_id=partner.id if partner else None,
        client_id=caller.client_id, scope=scope, recipient=data.get("recipient"),
        outcome=result.outcome,
        basis=decision.basis.value if decision and decision.basis else None,
        habilitation_id=decision.habilitation_id if decision else None,
        consent_id=result.consent_id,
        person_id=person.id if person else bound_person_id,
        subject_key=entries.pseudonym(pseudonym_key, f"{scope}|{subject}"),
    ))
    return result


def answer_for_consent(raw: Raw, *, consent_id: str, partner: PartnerView, scope: str,
                       now: datetime) -> tuple[Answer, policy.Decision, int | None]:
    """Answer about the person of consent `consent_id` (a person-bound token).

    Allowed only while that consent is in force for this partner and scope; otherwise
    refused as consent_required (withdrawn or expired bites on the very next call). Returns
    the answer, the decision and the person (kept in the journal even when refused, as for a
    refusal after a match, so that the person sees the attempt).
    """
    today = now.astimezone(PARIS).date()
    db_session = raw.session()
    person_id = ledger.in_force(db_session, consent_id=consent_id, partner_id=partner.id,
                                scope=scope, at=now)
    if person_id is None:
        decision = policy.decide(partner.grants, scope, today, lambda: None)
        if decision.allowed:  # a legal basis allows the scope, but this token is the consent's
            decision = policy.Decision(None, decision.habilitation_id,
                                       reason=policy.Reason.CONSENT_REQUIRED)
        consent = db_session.get(Consent, consent_id)
        owner = consent.person_id if consent and consent.partner_id == partner.id else None
        return Answer(f"refused:{decision.reason}", reason=decision.reason), decision, owner
    decision = policy.decide(partner.grants, scope, today, lambda: consent_id)
    return (Answer("found", repository.record(raw, scope, person_id, today),
                   consent_id=consent_id), decision, person_id)
