"""People, their protections and their civil status, as OFPRA keeps them.

Nationality, country of origin and grounds are kept here for OFPRA's own use: no record built
for a partner reads them (see records.py).
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, str_enum, utcnow


class Precision(enum.StrEnum):
    YEAR = "year"
    MONTH = "month"
    DAY = "day"


class Sex(enum.StrEnum):
    FEMALE = "F"
    MALE = "M"
    UNSPECIFIED = "X"


class ProtectionKind(enum.StrEnum):
    REFUGEE = "refugee"
    SUBSIDIARY = "subsidiary_protection"
    STATELESS = "stateless"


class FileStatus(enum.StrEnum):
    AWAITING_FORM = "awaiting_form"
    IN_PROGRESS = "in_progress"
    ESTABLISHED = "established"


class ActKind(enum.StrEnum):
    BIRTH = "birth"
    MARRIAGE = "marriage"
    FAMILY_BOOKLET = "family_booklet"
    EQUIVALENCE = "equivalence_certificate"


class Relation(enum.StrEnum):
    PARENT = "parent"
    SPOUSE = "spouse"
    CHILD = "child"


class Enrolment(enum.StrEnum):
    """Whether letters reach the person through the personal space, or by post."""

    ELIGIBLE = "eligible"
    EXCLUDED_DUBLIN = "excluded_dublin"
    EXCLUDED_MINOR = "excluded_minor"  # unaccompanied minor (MNA)
    EXCLUDED_OVERSEAS = "excluded_overseas"
    TAKEN_OUT = "taken_out"  # "sortie du dispositif", on OFPRA's decision

    @property
    def excluded(self) -> bool:
        return self is not Enrolment.ELIGIBLE


class Person(Base):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    ofpra_number: Mapped[str | None] = mapped_column(String(16), unique=True)
    # Not unique: duplicate files exist until OFPRA merges them, and lookups then say "ambiguous".
    agdref_number: Mapped[str | None] = mapped_column(String(10), index=True)
    birth_name: Mapped[str] = mapped_column(String(200))
    given_names: Mapped[list[str]] = mapped_column(JSON)
    usage_name: Mapped[str | None] = mapped_column(String(200))
    sex: Mapped[Sex] = mapped_column(str_enum(Sex, "sex"))
    # A partial date is stored on its first day; the precision says which parts are known.
    birth_date: Mapped[date]
    birth_date_precision: Mapped[Precision] = mapped_column(str_enum(Precision, "precision"))
    nationality: Mapped[str | None] = mapped_column(String(3))
    country_of_origin: Mapped[str | None] = mapped_column(String(3))
    enrolment: Mapped[Enrolment] = mapped_column(
        str_enum(Enrolment, "enrolment"), default=Enrolment.ELIGIBLE,
        server_default=Enrolment.ELIGIBLE.value,
    )
    taken_out_on: Mapped[date | None]
    taken_out_reason: Mapped[str | None] = mapped_column(String(500))
    # Where letters go when they go by post (excluded or taken out of the personal space).
    postal_address: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    protections: Mapped[list[Protection]] = relationship(
        back_populates="person", order_by="Protection.granted_on"
    )
    civil_status_file: Mapped[CivilStatusFile | None] = relationship(back_populates="person")
    acts: Mapped[list[CivilAct]] = relationship(order_by="CivilAct.id")
    family_links: Mapped[list[FamilyLink]] = relationship(
        foreign_keys="FamilyLink.person_id", order_by="FamilyLink.id"
    )

    __table_args__ = (
        CheckConstraint("ofpra_number IS NOT NULL OR agdref_number IS NOT NULL", name="identified"),
    )


class Protection(Base):
    __tablename__ = "protection"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    kind: Mapped[ProtectionKind] = mapped_column(str_enum(ProtectionKind, "protection_kind"))
    granted_on: Mapped[date]
    ended_on: Mapped[date | None]
    # Internal only (cessation, withdrawal...): never part of a partner record.
    end_reason: Mapped[str | None] = mapped_column(String(200))
    grounds: Mapped[str | None] = mapped_column(String(500))

    person: Mapped[Person] = relationship(back_populates="protections")

    __table_args__ = (
        CheckConstraint("ended_on IS NULL OR ended_on >= granted_on", name="ends_after_grant"),
    )


class CivilStatusFile(Base):
    __tablename__ = "civil_status_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), unique=True)
    # The family reference form (FFR), or since 2025 the simplified form, received on this date.
    family_form_received_on: Mapped[date | None]
    status: Mapped[FileStatus] = mapped_column(str_enum(FileStatus, "file_status"))
    expected_by: Mapped[date | None]
    established_on: Mapped[date | None]

    person: Mapped[Person] = relationship(back_populates="civil_status_file")


class CivilAct(Base):
    __tablename__ = "civil_act"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    kind: Mapped[ActKind] = mapped_column(str_enum(ActKind, "act_kind"))
    number: Mapped[str] = mapped_column(String(32))
    established_on: Mapped[date]

    __table_args__ = (UniqueConstraint("kind", "number"),)


class FamilyLink(Base):
    """A link from a person to a relative: another Person, an identity only, or unknown."""

    __tablename__ = "family_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    relation: Mapped[Relation] = mapped_column(str_enum(Relation, "relation"))
    relative_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    # "Non connu": the act records the parent as unknown; no name is invented.
    unknown: Mapped[bool] = mapped_column(default=False)
    birth_name: Mapped[str | None] = mapped_column(String(200))
    given_names: Mapped[list[str] | None] = mapped_column(JSON)
    birth_date: Mapped[date | None]
    birth_date_precision: Mapped[Precision | None] = mapped_column(str_enum(Precision, "precision"))

    relative: Mapped[Person | None] = relationship(foreign_keys=[relative_id])

    __table_args__ = (
        CheckConstraint(
            "unknown OR relative_id IS NOT NULL OR birth_name IS NOT NULL", name="identified"
        ),
    )
