"""`flask accounts notice | demo | prune`."""

from __future__ import annotations

import json
import re
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import db
from app.accounts import keys
from app.accounts.models import ActivationNotice, Throttle
from app.people import sandbox
from app.people.models import Enrolment, Person
from tests import factories
from tests.accounts.conftest import PASSWORD
from tests.accounts.forms import page, submit

SANDBOX = Path(__file__).resolve().parents[2] / "sandbox" / "people.json"
KEY = re.compile(r"Clé de connexion : ([0-9A-Z]{4}(?:-[0-9A-Z]{4}){3})")


@pytest.fixture()
def runner(app: Flask, db_session: Session):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


def test_notice_prints_the_key_once_and_stores_its_digest(runner, db_session: Session,
                                                          app: Flask) -> None:
    person = factories.person(db_session)
    db_session.commit()
    result = runner.invoke(args=["accounts", "notice", "--agdref-number",
                                 person.agdref_number, "--by", "agent-7"])
    assert result.exit_code == 0, result.output
    key = KEY.search(result.output)
    assert key
    assert f"Numéro AGDREF : {person.agdref_number}" in result.output
    assert f"Allez sur {app.config['PUBLIC_URL'].rstrip('/')}/activate" in result.output
    assert "Cette clé ne sert qu'une seule fois." in result.output
    assert "connectez-vous au moins tous les 15 jours" in result.output
    notice = db_session.scalars(select(ActivationNotice).where(
        ActivationNotice.person_id == person.id)).one()
    assert notice.key_digest == keys.digest(app.config["SECRET_KEY"], "activation-key",
                                            keys.normalise_key(key.group(1)) or "")
    assert notice.issued_by == "agent-7"
    assert notice.expires_at - notice.issued_at == timedelta(days=90)


def test_notice_by_ofpra_number_with_a_validity(runner, db_session: Session) -> None:
    person = factories.person(db_session)
    db_session.commit()
    result = runner.invoke(args=["accounts", "notice", "--ofpra-number", person.ofpra_number,
                                 "--valid-days", "30", "--by", "GUDA Rennes"])
    assert result.exit_code == 0, result.output
    assert f"Numéro OFPRA : {person.ofpra_number}" in result.output
    notice = db_session.scalars(select(ActivationNotice).where(
        ActivationNotice.person_id == person.id)).one()
    assert notice.expires_at - notice.issued_at == timedelta(days=30)


@pytest.mark.parametrize(("args", "message"), [
    (["--by", "x"], "give either --ofpra-number or --agdref-number"),
    (["--agdref-number", "7599999999", "--by", "x"], "no person has this number"),
    (["--agdref-number", "12", "--by", "x"], "not an AGDREF or OFPRA number"),
])
def test_notice_refusals(runner, args: list[str], message: str) -> None:
    result = runner.invoke(args=["accounts", "notice", *args])
    assert result.exit_code != 0
    assert message in result.output


def test_no_notice_for_a_person_whose_letters_go_by_post(runner, db_session: Session) -> None:
    person = factories.person(db_session, enrolment=Enrolment.EXCLUDED_DUBLIN)
    db_session.commit()
    result = runner.invoke(args=["accounts", "notice", "--agdref-number",
                                 person.agdref_number, "--by", "x"])
    assert result.exit_code == 1
    assert "letters go by post (excluded_dublin)" in result.output


def test_demo_writes_keys_that_work_and_keeps_them(runner, app: Flask, db_session: Session,
                                                   browser: FlaskClient) -> None:
    result = runner.invoke(args=["accounts", "demo", "--sandbox", str(SANDBOX)])
    assert result.exit_code == 0, result.output
    path = Path(app.instance_path) / "demo" / "people.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = json.loads(path.read_text())
    people = {entry["key"]: entry for entry in first["people"]}
    excluded = {entry["key"]: entry for entry in first["excluded"]}
    entries = [entry for entry in sandbox.read(SANDBOX)]
    assert set(people) == {e["key"] for e in entries if e.get("enrolment", "eligible")
                           == "eligible"}
    assert set(excluded) == {"dublin"}
    assert people["asylum-seeker"]["identifier"] == "7500000005"
    assert people["asylum-seeker"]["identifier_kind"] == "agdref"
    assert people["refugee-active"]["identifier"] == "900000000001"
    assert first["activate_url"].endswith("/activate")

    # Rerun: the same keys, still valid.
    assert runner.invoke(args=["accounts", "demo", "--sandbox", str(SANDBOX)]).exit_code == 0
    assert json.loads(path.read_text()) == first

    # The keys work: the asylum seeker activates; the Dublin person is told about the post.
    seeker = people["asylum-seeker"]
    response = submit(browser, "/activate", {"identifier": seeker["identifier"],
                                             "key": seeker["connection_key"]})
    assert response.headers["Location"] == "/activate/password"
    submit(browser, "/activate/password", {"password": PASSWORD, "confirmation": PASSWORD})
    dublin = excluded["dublin"]
    response = submit(app.test_client(), "/activate", {"identifier": dublin["identifier"],
                                                       "key": dublin["connection_key"]},
                      form_page="/activate")
    assert response.headers["Location"] == "/activate/by-post"

    # Once activated, a person leaves the file; the others keep their keys.
    assert runner.invoke(args=["accounts", "demo", "--sandbox", str(SANDBOX)]).exit_code == 0
    third = json.loads(path.read_text())
    assert "asylum-seeker" not in {entry["key"] for entry in third["people"]}
    assert [e for e in third["people"]] == [e for e in first["people"]
                                            if e["key"] != "asylum-seeker"]
    assert page(browser, "/espace")[0] == 200


def test_demo_replaces_a_key_that_no_longer_works(runner, app: Flask,
                                                  db_session: Session) -> None:
    runner.invoke(args=["accounts", "demo", "--sandbox", str(SANDBOX)])
    path = Path(app.instance_path) / "demo" / "people.json"
    first = {entry["key"]: entry for entry in json.loads(path.read_text())["people"]}
    person = db_session.scalars(select(Person).where(Person.agdref_number == "7500000005")).one()
    for notice in db_session.scalars(select(ActivationNotice).where(
            ActivationNotice.person_id == person.id)):
        notice.expires_at = db.utcnow() - timedelta(seconds=1)
    db_session.commit()
    runner.invoke(args=["accounts", "demo", "--sandbox", str(SANDBOX)])
    second = {entry["key"]: entry for entry in json.loads(path.read_text())["people"]}
    assert second["asylum-seeker"]["connection_key"] != first["asylum-seeker"]["connection_key"]
    assert second["stateless"] == first["stateless"]


def test_demo_is_not_for_production(app: Flask, db_session: Session, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "ENV", "production")
    result = app.test_cli_runner().invoke(args=["accounts", "demo"])
    assert result.exit_code == 1
    assert "not for production" in result.output


def test_prune(runner, db_session: Session) -> None:
    db_session.add(Throttle(key="z" * 64, failures=1,
                            last_failure_at=db.utcnow() - timedelta(days=3), locked_until=None))
    db_session.commit()
    result = runner.invoke(args=["accounts", "prune"])
    assert result.exit_code == 0
    assert result.output.strip() == "accounts: 1 throttles forgotten"
