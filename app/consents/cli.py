"""`flask consents`: OFPRA staff record a consent collected on paper at a desk, or withdraw it.

Until the personal space exists this is how consents enter the ledger; the ledger records the
method ("desk") and the staff member.
"""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask import Flask, current_app
from sqlalchemy import select

from app.consents import services
from app.db import Raw
from app.partners.models import Partner
from app.partners.services import PARIS
from app.people import matching, repository
from consent import ledger
from consent.models import Method


def init_app(app: Flask) -> None:
    @app.cli.group("consents")
    def consents() -> None:
        """The consent ledger, for OFPRA staff."""

    @consents.command("record")
    @click.option("--ofpra-number")
    @click.option("--agdref-number")
    @click.option("--birth-date", help="With --agdref-number: YYYY-MM-DD, YYYY-MM or YYYY.")
    @click.option("--partner", "client_id", required=True, help="The partner's client_id.")
    @click.option("--scope", "scopes", multiple=True, required=True)
    @click.option("--days", type=click.IntRange(1), required=True, help="How long it lasts.")
    @click.option("--purpose", required=True)
    @click.option("--by", "staff", required=True, help="The staff member recording it.")
    def record(ofpra_number: str | None, agdref_number: str | None, birth_date: str | None,
               client_id: str, scopes: tuple[str, ...], days: int, purpose: str,
               staff: str) -> None:
        """Record a consent the person signed at a desk."""
        if not ofpra_number and not (agdref_number and birth_date):
            raise click.UsageError("give --ofpra-number, or --agdref-number with --birth-date")
        now = datetime.now(UTC)
        with current_app.extensions["ofpra.db"].sessions() as db_session:
            partner = db_session.scalars(
                select(Partner).where(Partner.client_id == client_id)).first()
            if partner is None:
                raise click.ClickException(f"no partner with client_id {client_id}")
            lookup = matching.Lookup(ofpra_number=ofpra_number,
                                     agdref_number=None if ofpra_number else agdref_number,
                                     birth_date=birth_date)
            outcome, person = matching.decide(
                lookup, repository.candidates(Raw(db_session), lookup))
            if person is None:
                raise click.ClickException(f"person {outcome.value.replace('_', ' ')}")
            try:
                consent = services.give(
                    db_session, person_id=person.id, partner=partner, scopes=list(scopes),
                    days=days, purpose=purpose, method=Method.DESK, collected_by=staff,
                    now=now, today=now.astimezone(PARIS).date())
            except ledger.ConsentError as error:
                raise click.ClickException(str(error)) from error
            db_session.commit()
            click.echo(f"consent {consent.id} given to {partner.name} for "
                       f"{consent.scopes} until {consent.expires_at:%Y-%m-%d %H:%M} UTC")

    @consents.command("withdraw")
    @click.argument("consent_id")
    @click.option("--by", "staff", required=True)
    def withdraw(consent_id: str, staff: str) -> None:
        """Withdraw a consent at the person's request; it bites on the very next call."""
        with current_app.extensions["ofpra.db"].sessions() as db_session:
            try:
                ledger.withdraw(db_session, consent_id, at=datetime.now(UTC), actor=staff)
            except ledger.ConsentError as error:
                raise click.ClickException(str(error)) from error
            db_session.commit()
        click.echo(f"consent {consent_id} withdrawn")

    @consents.command("expire")
    def expire() -> None:
        """Record an `expired` event for every consent past its expiry."""
        with current_app.extensions["ofpra.db"].sessions() as db_session:
            count = ledger.record_expiries(db_session, datetime.now(UTC))
            db_session.commit()
        click.echo(f"{count} consents marked expired")
