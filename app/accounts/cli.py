"""`flask accounts notice | demo | prune`: notices OFPRA hands out, the sandbox's demo keys.

`notice` issues a connection key for one person and prints the notice, in French, the language
of OFPRA's notices (the paper is then given with its translation). `demo` (run by `make run`)
gives every eligible sandbox person without an account a key, written to
`instance/demo/people.json`; rerunning keeps the keys still valid. `prune` forgets the
throttles that no longer slow anyone down. Each command commits once, at its end.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import config, db
from app.accounts import errors, keys, services, throttle
from app.accounts.models import Account
from app.people import sandbox
from app.people.models import Person

PARIS = ZoneInfo("Europe/Paris")
DEMO_ISSUER = "sandbox demo"
DEMO_DAYS = 365
SANDBOX = config.ROOT / "sandbox" / "people.json"


def activation_url() -> str:
    return str(current_app.config["PUBLIC_URL"]).rstrip("/") + "/activate"


def notice_text(kind: str, number: str, key: str, expires_at: datetime, url: str) -> str:
    """Return the text of the notice, in French (OFPRA's notices are, with a translation)."""
    label = "Numéro AGDREF" if kind == "agdref" else "Numéro OFPRA"
    until = expires_at.astimezone(PARIS).strftime("%d/%m/%Y")
    return "\n".join([
        "OFPRA — Office français de protection des réfugiés et apatrides",
        "",
        "VOTRE ESPACE PERSONNEL SUR OFPRA CONNECT — NOTICE D'ACTIVATION",
        "",
        f"{label} : {number}",
        f"Clé de connexion : {keys.show_key(key)}",
        f"Valable jusqu'au : {until}",
        "",
        "Pour activer votre espace personnel :",
        f"  1. Allez sur {url}",
        f"  2. Entrez votre {label[0].lower() + label[1:]} et la clé de connexion.",
        "  3. Créez votre mot de passe. Donnez, si vous le souhaitez, une adresse e-mail et/ou",
        "     un numéro de téléphone portable : vous serez prévenu(e) de chaque nouveau courrier.",
        "  4. Choisissez votre langue.",
        "",
        "Cette clé ne sert qu'une seule fois. Ensuite, vous vous connectez avec votre numéro",
        "et votre mot de passe. Ne donnez la clé et le mot de passe à personne.",
        "",
        "Les courriers déposés dans votre espace sont réputés reçus 15 jours après leur dépôt,",
        "même si vous ne les avez pas ouverts : connectez-vous au moins tous les 15 jours.",
        "",
        "Besoin d'aide ? La structure qui vous accompagne (SPADA, centre d'hébergement) peut",
        "vous aider à activer et à utiliser votre espace.",
    ])


def _service(db_session: Session) -> services.Accounts:
    return services.Accounts(db_session, current_app.config["SECRET_KEY"])


def _find(db_session: Session, kind: str, number: str) -> Person:
    column = Person.agdref_number if kind == "agdref" else Person.ofpra_number
    found = db_session.scalars(select(Person).where(column == number).limit(2)).all()
    if not found:
        raise click.ClickException("no person has this number")
    if len(found) > 1:
        raise click.ClickException("several files share this AGDREF number (a duplicate awaiting "
                                   "merge): give the OFPRA number")
    return found[0]


def demo_entry(sandbox_key: str, person: Person, key: str, expires_at: datetime,
               enrolment: str) -> dict[str, Any]:
    kind = "ofpra" if person.ofpra_number else "agdref"
    return {
        "key": sandbox_key,
        "identifier_kind": kind,
        "identifier": person.ofpra_number or person.agdref_number,
        "connection_key": keys.show_key(key),
        "expires_at": expires_at.isoformat(),
        "enrolment": enrolment,
    }


def set_up_demo(db_session: Session, people: dict[str, Person], previous: dict[str, Any],
                now: datetime) -> dict[str, list[dict[str, Any]]]:
    """Return the demo entries: eligible people without an account, and excluded people.

    An entry of `previous` whose key still opens its person's notice is kept as it is; the
    others get a new notice. Excluded people get a key too: typing it shows the page that
    says their letters come by post.
    """
    service = _service(db_session)
    kept = {entry["key"]: entry for group in ("people", "excluded")
            for entry in previous.get(group, []) if isinstance(entry, dict) and "key" in entry}
    result: dict[str, list[dict[str, Any]]] = {"people": [], "excluded": []}
    has_account = set(db_session.scalars(select(Account.person_id)))
    for sandbox_key, person in people.items():
        if person.id in has_account:
            continue
        group = "excluded" if person.enrolment.excluded else "people"
        entry = kept.get(sandbox_key)
        notice = service.notice_for_key(entry["connection_key"]) if entry else None
        if not (entry and notice and notice.person_id == person.id and notice.used_at is None
                and notice.expires_at > now):
            notice, key = service.issue_notice(person, DEMO_ISSUER, now, DEMO_DAYS,
                                               allow_excluded=True)
            entry = demo_entry(sandbox_key, person, key, notice.expires_at,
                               person.enrolment.value)
        result[group].append(entry)
    return result


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner may read (it holds keys), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


def init_app(app: Flask) -> None:
    @app.cli.group("accounts")
    def accounts_group() -> None:
        """People's accounts on the personal space."""

    @accounts_group.command("notice")
    @click.option("--ofpra-number", help="The person's OFPRA number.")
    @click.option("--agdref-number", help="The person's AGDREF number (10 digits).")
    @click.option("--valid-days", type=click.IntRange(1, services.MAX_NOTICE_DAYS),
                  default=services.NOTICE_DAYS, show_default=True,
                  help="Days the connection key stays valid.")
    @click.option("--by", "issued_by", required=True,
                  help="Who issues the notice (an agent's or a GUDA's identifier).")
    def notice(ofpra_number: str | None, agdref_number: str | None, valid_days: int,
               issued_by: str) -> None:
        """Issue a connection key for one person and print the notice to hand over."""
        if (ofpra_number is None) == (agdref_number is None):
            raise click.UsageError("give either --ofpra-number or --agdref-number")
        kind = "ofpra" if ofpra_number else "agdref"
        try:
            number = services.normalise_identifier(ofpra_number or agdref_number or "")
        except errors.InvalidIdentifier:
            raise click.BadParameter("not an AGDREF or OFPRA number") from None
        now = db.utcnow()
        with current_app.extensions["ofpra.db"].sessions() as db_session:
            person = _find(db_session, kind, number)
            try:
                issued, key = _service(db_session).issue_notice(person, issued_by.strip(), now,
                                                                valid_days)
            except errors.PersonExcluded as error:
                raise click.ClickException(
                    f"no notice: this person's letters go by post ({error.enrolment.value})"
                ) from None
            except errors.AlreadyActivated:
                raise click.ClickException(
                    "no notice: this person has already activated their space") from None
            expires_at = issued.expires_at
            db_session.commit()
        click.echo(notice_text(kind, number, key, expires_at, activation_url()))

    @accounts_group.command("demo")
    @click.option("--sandbox", "sandbox_path", default=SANDBOX, show_default=True,
                  type=click.Path(exists=True, dir_okay=False, path_type=Path))
    def demo(sandbox_path: Path) -> None:
        """Give the sandbox people demo keys, in instance/demo/people.json (never in production)."""
        if current_app.config["ENV"] == "production":
            raise click.ClickException("demo keys are not for production")
        path = Path(current_app.instance_path) / "demo" / "people.json"
        previous = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        now = db.utcnow()
        with current_app.extensions["ofpra.db"].sessions() as db_session:
            people = sandbox.load(db_session, sandbox.read(sandbox_path))
            entries = set_up_demo(db_session, people, previous, now)
            db_session.commit()
        document = {
            "about": ("Demo connection keys of the sandbox people (synthetic). Activate a space "
                      "at activate_url with `identifier` and `connection_key`. People of "
                      "`excluded` get their letters by post: their key shows that page."),
            "activate_url": activation_url(),
            **entries,
        }
        write_private(path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        click.echo(f"accounts: {len(entries['people'])} demo keys "
                   f"(+{len(entries['excluded'])} excluded) in {path}")

    @accounts_group.command("prune")
    def prune() -> None:
        """Forget the sign-in throttles that no longer slow anyone down."""
        with current_app.extensions["ofpra.db"].sessions() as db_session:
            count = throttle.prune(db_session, db.utcnow())
            db_session.commit()
        click.echo(f"accounts: {count} throttles forgotten")
