"""Who saw my data: every journal entry about the person, newest first, 20 a page.

Nothing is hidden from the person: answers, refusals and requests for consent alike. One
query per page (entries joined to their partner, habilitation and consent, with the total
counted by a window function), walking the (person_id, id) index backwards. The page number
is the only thing in the URL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, abort, render_template, request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import web
from app.accounts.session import current_account, login_required
from app.journal.models import JournalEntry
from app.partners.models import Habilitation, Partner
from app.site import pages
from consent.models import Consent

PER_PAGE = 20
# Page links shown on each side of the current page (first and last are always there).
AROUND = 2

bp = Blueprint("site_journal", __name__, url_prefix="/espace/acces")
bp.after_request(pages.secure_headers)


@dataclass(frozen=True)
class Access:
    """One journal entry as the person reads it."""

    at: datetime
    partner_name: str | None
    scope: str
    outcome: str
    basis: str | None
    legal_basis: str | None
    legal_basis_url: str | None
    consent_id: str | None
    consent_granted_at: datetime | None


def accesses(db_session: Session, person_id: int, page: int) -> tuple[list[Access], int]:
    """One page of the person's journal entries, newest first, and the count of all of them.

    The count comes from the same query (COUNT(*) OVER ()); an empty page gives 0.
    """
    rows = db_session.execute(
        select(JournalEntry.at, Partner.name.label("partner_name"), JournalEntry.scope,
               JournalEntry.outcome, JournalEntry.basis, Habilitation.legal_basis,
               Habilitation.legal_basis_url, JournalEntry.consent_id,
               Consent.granted_at.label("consent_granted_at"),
               func.count().over().label("total"))
        .outerjoin(Partner, Partner.id == JournalEntry.partner_id)
        .outerjoin(Habilitation, Habilitation.id == JournalEntry.habilitation_id)
        .outerjoin(Consent, Consent.id == JournalEntry.consent_id)
        .where(JournalEntry.person_id == person_id)
        .order_by(JournalEntry.id.desc())
        .limit(PER_PAGE).offset((page - 1) * PER_PAGE)
    ).all()
    total = rows[0].total if rows else 0
    return [Access(row.at, row.partner_name, row.scope, row.outcome, row.basis,
                   row.legal_basis, row.legal_basis_url, row.consent_id,
                   row.consent_granted_at) for row in rows], total


def window(page: int, pages_count: int) -> list[int]:
    """The page numbers to link: the current one and AROUND on each side."""
    return list(range(max(1, page - AROUND), min(pages_count, page + AROUND) + 1))


@bp.get("")
@login_required
def index() -> str:
    account = current_account()
    if account is None:  # login_required has let nobody in
        abort(401)
    page = request.args.get("page", 1, type=int) or 1
    if page < 1:
        abort(404)
    entries, total = accesses(web.session(), account.person_id, page)
    if page > 1 and not entries:
        abort(404)
    pages_count = max(1, math.ceil(total / PER_PAGE))
    return render_template("site/journal/index.html", entries=entries, total=total,
                           page=page, pages_count=pages_count,
                           window=window(page, pages_count))
