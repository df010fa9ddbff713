"""Partners and their grants, cached per worker for PARTNER_CACHE_SECONDS.

A partner question must not pay a database round trip to learn what the partner may ask; a
change of habilitation reaches every worker within the cache period. Consents are never cached.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.db import Database
from app.partners.models import Habilitation, Partner
from consent import policy


@dataclass(frozen=True)
class PartnerView:
    id: int
    client_id: str
    name: str
    siret: str
    kind: str
    rate_limit: int | None
    active: bool
    grants: tuple[policy.Grant, ...]


def load_all(db_session: Session) -> dict[str, PartnerView]:
    partners = db_session.scalars(
        select(Partner).options(
            selectinload(Partner.habilitations).selectinload(Habilitation.scopes)
        )
    ).all()
    return {
        partner.client_id: PartnerView(
            partner.id, partner.client_id, partner.name, partner.siret, partner.kind.value,
            partner.rate_limit, partner.active,
            tuple(
                policy.Grant(habilitation.id, item.scope, item.consent_required,
                             habilitation.valid_from, habilitation.valid_until)
                for habilitation in partner.habilitations for item in habilitation.scopes
            ),
        )
        for partner in partners
    }


class Directory:
    def __init__(self, db: Database, ttl: float) -> None:
        self._db = db
        self._ttl = ttl
        self._partners: dict[str, PartnerView] = {}
        self._read_at = float("-inf")
        self._lock = threading.Lock()

    def get(self, client_id: str) -> PartnerView | None:
        now = time.monotonic()
        if now - self._read_at >= self._ttl:
            with self._lock:
                if now - self._read_at >= self._ttl:
                    with self._db.sessions() as db_session:
                        self._partners = load_all(db_session)
                    self._read_at = now
        return self._partners.get(client_id)

    def forget(self) -> None:
        self._read_at = float("-inf")
