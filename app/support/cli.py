"""`flask support structure|staff|domiciliation …`: OFPRA's desk for support structures.

`staff add` creates a worker's account without a password and prints a set-password link
(valid 72 hours, usable once): give it to the worker by a channel of your choice. `staff link`
prints a new one (a forgotten password); the current password keeps working until the link is
used. `staff deactivate` ends every session at once. Each command commits once, at its end.
"""

from __future__ import annotations

from datetime import datetime

import click
from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.people.models import Person
from app.support import services
from app.support.models import Domiciliation, StaffAccount, StructureKind, SupportStructure
from app.vault import notification


def _service(db_session: Session) -> services.Staff:
    return services.Staff(db_session, current_app.config["SECRET_KEY"])


def link_url(token: str) -> str:
    return f"{str(current_app.config['PUBLIC_URL']).rstrip('/')}/accompagnement/mot-de-passe/" \
           f"{token}"


def _person(db_session: Session, ofpra_number: str | None, agdref_number: str | None) -> Person:
    if (ofpra_number is None) == (agdref_number is None):
        raise click.UsageError("give either --ofpra-number or --agdref-number")
    column = Person.ofpra_number if ofpra_number else Person.agdref_number
    found = db_session.scalars(
        select(Person).where(column == (ofpra_number or agdref_number)).limit(2)).all()
    if len(found) != 1:
        raise click.ClickException("no person has this number" if not found else
                                   "several files share this AGDREF number: give the OFPRA "
                                   "number")
    return found[0]


def _staff(db_session: Session, email: str) -> StaffAccount:
    staff = _service(db_session).by_email(email)
    if staff is None:
        raise click.ClickException("no staff account has this e-mail address")
    return staff


def init_app(app: Flask) -> None:
    @app.cli.group("support")
    def support_group() -> None:
        """Support structures (SPADA, CADA, HUDA), their staff, the people they follow."""

    @support_group.group("structure")
    def structure_group() -> None:
        """Support structures."""

    @structure_group.command("add")
    @click.option("--name", required=True)
    @click.option("--kind", required=True, type=click.Choice([k.value for k in StructureKind]))
    @click.option("--city", required=True)
    def add_structure(name: str, kind: str, city: str) -> None:
        """Create a structure; print its id."""
        with current_app.extensions["ofpra.db"].sessions() as db_session:
            structure = _service(db_session).add_structure(name, StructureKind(kind), city)
            structure_id = structure.id
            db_session.commit()
        click.echo(f"support: structure {structure_id} created")

    @structure_group.command("list")
    def list_structures() -> None:
        """List the structures: id, kind, city, name."""
        with current_app.extensions["ofpra.db"].sessions() as db_session:
            for structure in db_session.scalars(select(SupportStructure)
                                                .order_by(SupportStructure.id)):
                click.echo(f"{structure.id}\t{structure.kind.value}\t{structure.city}\t"
                           f"{structure.name}")

    @support_group.group("staff")
    def staff_group() -> None:
        """Staff accounts of the structures."""

    @staff_group.command("add")
    @click.option("--structure", "structure_id", required=True, type=int)
    @click.option("--email", required=True)
    @click.option("--name", required=True)
    def add_staff(structure_id: int, email: str, name: str) -> None:
        """Create a worker's account; print the set-password link to give them."""
        with current_app.extensions["ofpra.db"].sessions() as db_session:
            service = _service(db_session)
            try:
                staff = service.add_staff(structure_id, email, name)
            except services.UnknownStructure:
                raise click.ClickException(f"no structure {structure_id}") from None
            except services.InvalidEmail:
                raise click.BadParameter("not an e-mail address", param_hint="--email") from None
            except services.DuplicateEmail:
                raise click.ClickException("a staff account already has this address") from None
            token = service.link_token(staff)
            db_session.commit()
        click.echo(f"support: account created. Set-password link, valid "
                   f"{services.LINK_HOURS} hours, usable once:")
        click.echo(link_url(token))

    @staff_group.command("link")
    @click.option("--email", required=True)
    def new_link(email: str) -> None:
        """Print a new set-password link for a worker (a forgotten password)."""
        with current_app.extensions["ofpra.db"].sessions() as db_session:
            staff = _staff(db_session, email)
            if not staff.active:
                raise click.ClickException("this account is closed")
            token = _service(db_session).link_token(staff)
        click.echo(link_url(token))

    @staff_group.command("deactivate")
    @click.option("--email", required=True)
    def deactivate(email: str) -> None:
        """Close a worker's account: every session ends, links stop working."""
        with current_app.extensions["ofpra.db"].sessions() as db_session:
            _service(db_session).deactivate(_staff(db_session, email))
            db_session.commit()
        click.echo("support: account closed")

    @support_group.group("domiciliation")
    def domiciliation_group() -> None:
        """Which structure follows which person."""

    @domiciliation_group.command("add")
    @click.option("--ofpra-number")
    @click.option("--agdref-number")
    @click.option("--structure", "structure_id", required=True, type=int)
    @click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None,
                  help="First day (default: today).")
    def add_domiciliation(ofpra_number: str | None, agdref_number: str | None,
                          structure_id: int, since: datetime | None) -> None:
        """Domicile a person with a structure, from a day on."""
        first = since.date() if since is not None else datetime.now(notification.PARIS).date()
        with current_app.extensions["ofpra.db"].sessions() as db_session:
            person = _person(db_session, ofpra_number, agdref_number)
            if db_session.get(SupportStructure, structure_id) is None:
                raise click.ClickException(f"no structure {structure_id}")
            db_session.add(Domiciliation(person_id=person.id, structure_id=structure_id,
                                         since=first))
            db_session.commit()
        click.echo(f"support: person domiciled with structure {structure_id} from "
                   f"{first.isoformat()}")

    @domiciliation_group.command("end")
    @click.option("--ofpra-number")
    @click.option("--agdref-number")
    @click.option("--structure", "structure_id", required=True, type=int)
    @click.option("--until", type=click.DateTime(["%Y-%m-%d"]), required=True,
                  help="Last day the structure follows the person.")
    def end_domiciliation(ofpra_number: str | None, agdref_number: str | None,
                          structure_id: int, until: datetime) -> None:
        """End a person's domiciliation with a structure."""
        last = until.date()
        with current_app.extensions["ofpra.db"].sessions() as db_session:
            person = _person(db_session, ofpra_number, agdref_number)
            open_ones = db_session.scalars(
                select(Domiciliation).where(Domiciliation.person_id == person.id,
                                            Domiciliation.structure_id == structure_id,
                                            Domiciliation.until.is_(None))).all()
            if not open_ones:
                raise click.ClickException("this person has no open domiciliation there")
            for domiciliation in open_ones:
                domiciliation.until = last
            db_session.commit()
        click.echo(f"support: domiciliation ended on {last.isoformat()}")
