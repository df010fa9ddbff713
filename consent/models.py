"""The ledger: a consent is written once; its life is a list of events appended after it.

Nothing here is ever updated in place (the migration installs triggers that refuse it).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, BigId, str_enum, utcnow


class Method(enum.StrEnum):
    DESK = "desk"  # collected on paper at a desk, recorded by OFPRA staff
    ONLINE = "online"  # by the person in the personal space
    AUTHORIZATION_CODE = "authorization_code"  # the person present, on a partner's website


class EventKind(enum.StrEnum):
    GIVEN = "given"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"




class RequestState(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class Consent(Base):
    __tablename__ = "consent"

    id: Mapped[str] = mapped_column(String(36), primary_key=True,
                                    default=lambda: str(uuid.uuid4()))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"), index=True)
    # Space-separated scopes, as in OAuth.
    scopes: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    method: Mapped[Method] = mapped_column(str_enum(Method, "consent_method"))
    # Who recorded it: a staff identifier for desk consents, "person" online.
    collected_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    events: Mapped[list[ConsentEvent]] = relationship(order_by="ConsentEvent.id")

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()


class ConsentEvent(Base):
    __tablename__ = "consent_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    consent_id: Mapped[str] = mapped_column(ForeignKey("consent.id"), index=True)
    kind: Mapped[EventKind] = mapped_column(str_enum(EventKind, "consent_event_kind"))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))


class ConsentRequest(Base):
    """A partner asks the person for a consent; the person accepts or declines in their space.

    Its outcome is written once (answered_at, state); an unanswered request lapses at
    expires_at — the state is then read as expired, nothing is rewritten.
    """

    __tablename__ = "consent_request"

    id: Mapped[str] = mapped_column(String(36), primary_key=True,
                                    default=lambda: str(uuid.uuid4()))
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    scopes: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(Text)
    # How long the consent would last if accepted, in days (within the habilitation's limit).
    duration_days: Mapped[int]
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    state: Mapped[RequestState] = mapped_column(str_enum(RequestState, "consent_request_state"),
                                                default=RequestState.PENDING)
    answered_at: Mapped[datetime | None]
    consent_id: Mapped[str | None] = mapped_column(ForeignKey("consent.id"))
