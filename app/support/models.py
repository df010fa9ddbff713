"""Support structures, their staff accounts, and the people domiciled with them."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, str_enum, utcnow


class StructureKind(enum.StrEnum):
    SPADA = "spada"
    CADA = "cada"
    HUDA = "huda"


class SupportStructure(Base):
    __tablename__ = "support_structure"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[StructureKind] = mapped_column(
        str_enum(StructureKind, "structure_kind", length=8))
    city: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StaffAccount(Base):
    """A support worker's account, created by OFPRA."""

    __tablename__ = "staff_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    structure_id: Mapped[int] = mapped_column(ForeignKey("support_structure.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    session_generation: Mapped[int] = mapped_column(default=0)


class Domiciliation(Base):
    """A person domiciled with (followed by) a structure, from a date, until a date."""

    __tablename__ = "domiciliation"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    structure_id: Mapped[int] = mapped_column(ForeignKey("support_structure.id"))
    since: Mapped[date]
    until: Mapped[date | None]

    __table_args__ = (Index("ix_domiciliation_structure_id_since", "structure_id", "since"),)
