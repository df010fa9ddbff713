"""Consent requests: a partner asks for a consent, the person accepts or declines online.

`create` decides what the partner may ask before anyone is looked up (as a question does),
matches the person, records the request, queues an alert and journals the outcome — all in
the caller's transaction; the API view commits once. A request is answered once (accepted or
declined); unanswered, it lapses at `expires_at`: its state is then read as "expired", nothing
is rewritten.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.accounts.models import Account
from app.consents import services
from app.db import Raw
from app.journal import entries
from app.notify import outbox
from app.notify.models import Channel
from app.oauth.tokens import Caller
from app.partners.directory import PartnerView
from app.partners.models import Partner
from app.partners.services import PARIS, lookup_from
from app.people import matching, repository
from consent.models import ConsentRequest, Method, RequestState

log = logging.getLogger(__name__)

# The journal's name for this kind of access: the partner learns only that the person is known.
JOURNAL_SCOPE = "consent_request"
REQUESTED = "consent_requested"
EXPIRED = "expired"


class RequestError(Exception):
    """A person's answer that the request's state does not allow."""


class RequestNotFound(RequestError):
    """No request with this id is addressed to this person."""


class RequestClosed(RequestError):
    """The request was already answered, or has lapsed."""


@dataclass(frozen=True)
class RequestView:
    """A request as its partner reads it (and as the API returns it)."""

    id: str
    state: str
    scopes: list[str]
    purpose: str
    duration_days: int
    requested_at: datetime
    expires_at: datetime
    answered_at: datetime | None
    consent_id: str | None


@dataclass(frozen=True)
class Created:
    """found → `request`; else the outcome journaled and, for refusals, why."""

    outcome: str  # consent_requested, not_found, ambiguous or refused:<code>
    request: RequestView | None = None
    detail: str | None = None
    field: str | None = None


def state_of(request: ConsentRequest, now: datetime) -> str:
    """pending, accepted, declined — or expired once `expires_at` passed unanswered."""
    if request.state is RequestState.PENDING and now >= request.expires_at:
        return EXPIRED
    return request.state.value


def view(request: ConsentRequest, now: datetime) -> RequestView:
    return RequestView(request.id, state_of(request, now), request.scopes.split(),
                       request.purpose, request.duration_days, request.requested_at,
                       request.expires_at, request.answered_at, request.consent_id)


def _may_ask(db_session: Session, partner: PartnerView, scopes: list[str], days: int,
             today: date) -> tuple[str | None, int | None, str | None, str | None]:
    """Return (refusal, habilitation id, detail, field); refusal None if the partner may ask."""
    habilitation_id = None
    for scope in scopes:
        granting = [grant for grant in partner.grants if grant.scope == scope]
        if not granting:
            return ("scope_not_granted", None,
                    f"The partner's habilitation does not grant {scope}.", None)
        in_force = [grant for grant in granting if grant.in_force(today)]
        if not in_force:
            return ("habilitation_not_in_force", granting[0].habilitation_id,
                    "The partner's habilitation is not in force today.", None)
        if not all(grant.consent_required for grant in in_force):
            # The legal basis already allows the answer: asking consent would mislead.
            return ("consent_not_required", in_force[0].habilitation_id,
                    f"{scope} is answered on the partner's legal basis; no consent is asked.",
                    "scopes")
        habilitation_id = habilitation_id or in_force[0].habilitation_id
    limits = services.consent_limits(db_session, partner.id, today)
    longest = min(limits.get(scope, 0) for scope in scopes)
    if days > longest:
        return ("duration_too_long", habilitation_id,
                f"The habilitation allows a consent of at most {longest} days for "
                f"{' and '.join(scopes)}.", "duration_days")
    return None, habilitation_id, None, None


def _alert(db_session: Session, request: ConsentRequest, now: datetime) -> None:
    """Tell the person something waits, on their verified contacts — once per waiting batch.

    A partner cannot flood a phone: while an earlier request still waits for an answer, the
    person has already been told to look, and a new request is shown there without an alert.
    The alert never says who asks, nor why (shared phones).
    """
    account = db_session.scalars(
        select(Account).where(Account.person_id == request.person_id)).first()
    if account is None:
        return
    waiting = db_session.scalars(
        select(ConsentRequest.id).where(
            ConsentRequest.person_id == request.person_id, ConsentRequest.id != request.id,
            ConsentRequest.state == RequestState.PENDING, ConsentRequest.expires_at > now)
    ).first()
    if waiting is not None:
        return
    contacts = []
    if account.email and account.email_verified_at is not None:
        contacts.append((Channel.EMAIL, account.email))
    if account.phone and account.phone_verified_at is not None:
        contacts.append((Channel.SMS, account.phone))
    for channel, recipient in contacts:
        try:
            outbox.enqueue(db_session, channel=channel, recipient=recipient,
                           template="consent_request", language=account.language,
                           context={}, person_id=request.person_id)
        except outbox.InvalidMessage as error:
            # A stored contact the outbox refuses must not cost the partner its request.
            log.warning("consent request %s: no %s alert (%s)", request.id, channel.value,
                        error)


def create(db_session: Session, *, caller: Caller, partner: PartnerView | None,
           data: dict[str, Any], now: datetime, request_id: str, pseudonym_key: str,
           lifetime: timedelta) -> Created:
    """Record the partner's request for the person's consent, and journal it; never commits.

    The outcome says what happened: `consent_requested` with the request, `not_found` or
    `ambiguous` (nothing recorded, nothing revealed), or `refused:<code>` with the reason.
    """
    raw = Raw(db_session)
    lookup = lookup_from(data)
    scopes = sorted(data["scopes"])
    today = now.astimezone(PARIS).date()
    habilitation_id = None
    person: matching.Candidate | None = None

    if partner is None or not partner.active:
        result = Created("refused:partner_inactive",
                         detail="This client's partner is not active.")
    else:
        refusal, habilitation_id, detail, field = _may_ask(
            db_session, partner, scopes, data["duration_days"], today)
        if refusal is not None:
            result = Created(f"refused:{refusal}", detail=detail, field=field)
        else:
            found, person = matching.decide(lookup, repository.candidates(raw, lookup))
            if person is None:
                result = Created(found.value)
            else:
                request = ConsentRequest(
                    partner_id=partner.id, person_id=person.id, scopes=" ".join(scopes),
                    purpose=data["purpose"], duration_days=data["duration_days"],
                    requested_at=now, expires_at=now + lifetime, state=RequestState.PENDING)
                db_session.add(request)
                db_session.flush()
                _alert(db_session, request, now)
                result = Created(REQUESTED, view(request, now))

    entries.append(raw, entries.Entry(
        at=now, request_id=request_id, partner_id=partner.id if partner else None,
        client_id=caller.client_id, scope=JOURNAL_SCOPE, recipient=data.get("recipient"),
        outcome=result.outcome, basis=None, habilitation_id=habilitation_id, consent_id=None,
        person_id=person.id if person else None,
        subject_key=entries.pseudonym(pseudonym_key,
                                      f"{JOURNAL_SCOPE}|{lookup.canonical()}"),
    ))
    return result


def read(db_session: Session, *, partner_id: int, request_id: str,
         now: datetime) -> RequestView | None:
    """The request, if this partner made it; None otherwise (another's is not there)."""
    request = db_session.get(ConsentRequest, request_id)
    if request is None or request.partner_id != partner_id:
        return None
    return view(request, now)


# --- the person's side ----------------------------------------------------------------------

@dataclass(frozen=True)
class Pending:
    """A request waiting for the person's answer, with what the person needs to decide."""

    id: str
    partner_id: int
    partner_name: str
    partner_kind: str
    scopes: tuple[str, ...]
    purpose: str
    duration_days: int
    requested_at: datetime
    expires_at: datetime
    legal_basis: str | None
    legal_basis_url: str | None


def pending(db_session: Session, person_id: int, now: datetime) -> list[Pending]:
    """Requests the person may still answer, oldest first."""
    rows = db_session.execute(
        select(ConsentRequest, Partner.name, Partner.kind)
        .join(Partner, Partner.id == ConsentRequest.partner_id)
        .where(ConsentRequest.person_id == person_id,
               ConsentRequest.state == RequestState.PENDING, ConsentRequest.expires_at > now)
        .order_by(ConsentRequest.requested_at, ConsentRequest.id)
    ).all()
    today = now.astimezone(PARIS).date()
    found = []
    for request, name, kind in rows:
        habilitation = services.habilitation_asking(db_session, request.partner_id,
                                                    request.scopes.split(), today)
        found.append(Pending(
            request.id, request.partner_id, name, kind.value, tuple(request.scopes.split()),
            request.purpose, request.duration_days, request.requested_at, request.expires_at,
            habilitation.legal_basis if habilitation else None,
            habilitation.legal_basis_url if habilitation else None))
    return found


def answer(db_session: Session, *, person_id: int, request_id: str, accept: bool,
           now: datetime, today: date) -> str | None:
    """Accept (giving the consent online) or decline the request, once; return the consent id.

    Raises RequestNotFound if the request is not addressed to this person, RequestClosed if
    it was answered or has lapsed, and services' errors if the habilitation no longer allows
    the consent.
    """
    request = db_session.get(ConsentRequest, request_id)
    if request is None or request.person_id != person_id:
        raise RequestNotFound(request_id)
    if request.state is not RequestState.PENDING or now >= request.expires_at:
        raise RequestClosed(request_id)
    consent_id = None
    if accept:
        partner = db_session.get(Partner, request.partner_id)
        if partner is None or not partner.active:
            raise services.UnknownPartner(str(request.partner_id))
        consent_id = services.give(
            db_session, person_id=person_id, partner=partner, scopes=request.scopes.split(),
            days=request.duration_days, purpose=request.purpose, method=Method.ONLINE,
            collected_by="person", now=now, today=today).id
    # Conditional, so that two answers racing each other cannot both win.
    answered = db_session.scalars(
        update(ConsentRequest)
        .where(ConsentRequest.id == request_id, ConsentRequest.state == RequestState.PENDING,
               ConsentRequest.answered_at.is_(None), ConsentRequest.expires_at > now)
        .values(state=RequestState.ACCEPTED if accept else RequestState.DECLINED,
                answered_at=now, consent_id=consent_id)
        .returning(ConsentRequest.id),
        execution_options={"synchronize_session": False},
    ).first()
    if answered is None:
        raise RequestClosed(request_id)
    db_session.expire(request)
    return consent_id
