"""Partners and habilitations (the DataPass model: a legal basis grants scopes for a purpose)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, str_enum, utcnow


class PartnerKind(enum.StrEnum):
    CAF = "caf"
    TRANSPORT = "transport"
    SCHOOL = "school"
    OTHER = "other"
    # OFPRA's own systems (introspection, back-office): never a partner administration.
    OFPRA = "ofpra"


class Partner(Base):
    __tablename__ = "partner"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    siret: Mapped[str] = mapped_column(String(14))
    kind: Mapped[PartnerKind] = mapped_column(
        str_enum(PartnerKind, "partner_kind", length=16)
    )
    # Public keys only (a JWK Set); OFPRA never holds a partner's private key.
    jwks: Mapped[dict[str, Any]] = mapped_column(JSON)
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(32), default="private_key_jwt")
    # Only when a deployment allows shared secrets: an argon2/scrypt hash, never the secret.
    client_secret_hash: Mapped[str | None] = mapped_column(String(200))
    # Exact redirect URIs for the authorization-code flow (the person present on the partner's
    # site); empty for machine-to-machine partners.
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    # Requests per second; None means the deployment's default.
    rate_limit: Mapped[int | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    habilitations: Mapped[list[Habilitation]] = relationship(
        back_populates="partner", order_by="Habilitation.id"
    )


class Habilitation(Base):
    __tablename__ = "habilitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner.id"), index=True)
    legal_basis: Mapped[str] = mapped_column(Text)
    legal_basis_url: Mapped[str] = mapped_column(String(500))
    purpose: Mapped[str] = mapped_column(Text)
    retention_days: Mapped[int]
    valid_from: Mapped[date]
    valid_until: Mapped[date | None]

    partner: Mapped[Partner] = relationship(back_populates="habilitations")
    scopes: Mapped[list[HabilitationScope]] = relationship(
        back_populates="habilitation", order_by="HabilitationScope.scope"
    )


class HabilitationScope(Base):
    __tablename__ = "habilitation_scope"

    id: Mapped[int] = mapped_column(primary_key=True)
    habilitation_id: Mapped[int] = mapped_column(ForeignKey("habilitation.id"), index=True)
    scope: Mapped[str] = mapped_column(String(32))
    consent_required: Mapped[bool]
    # The longest consent a person may give for this scope, in days (None: no consent asked).
    max_consent_days: Mapped[int | None]

    habilitation: Mapped[Habilitation] = relationship(back_populates="scopes")

    __table_args__ = (UniqueConstraint("habilitation_id", "scope"),)
