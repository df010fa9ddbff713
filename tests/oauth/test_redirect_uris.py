"""Registering a partner website's redirect URIs (`flask partners add --redirect-uri`).

(Here rather than in tests/partners/test_cli.py: the rule is the authorization server's.)
"""

from __future__ import annotations

import json

import pytest
from joserfc import jwk
from sqlalchemy import select

from app.oauth import clients
from app.partners.models import Partner
from tests import factories


@pytest.mark.parametrize("uri", [
    "https://www.tisseo.example/ofpra/callback",
    "https://partner.example:8443/cb?from=ofpra",
    "http://127.0.0.1:5000/callback",
    "http://[::1]:5000/callback",
    "http://localhost:8080/callback",
])
def test_usable_redirect_uris(uri):
    assert clients.redirect_uri_problem(uri) is None


@pytest.mark.parametrize("uri, problem", [
    ("http://partner.example/callback", "https, or http on a loopback"),
    ("http://10.0.0.1/callback", "https, or http on a loopback"),
    ("ftp://partner.example/cb", "https, or http on a loopback"),
    ("com.partner.app:/callback", "absolute URL with a host"),
    ("/callback", "absolute URL with a host"),
    ("https://partner.example/cb#frag", "no fragment"),
    ("https://user@partner.example/cb", "no user information"),
    ("https://*.partner.example/cb", "no wildcard"),
    ("https://partner.example/c b", "no spaces"),
    ("https://partner.example:99999/cb", "not a valid URL"),
    ("https://partner.example/" + "a" * 500, "at most 500"),
])
def test_unusable_redirect_uris(uri, problem):
    assert problem in (clients.redirect_uri_problem(uri) or "")


@pytest.fixture()
def runner(app, db_session):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


@pytest.fixture()
def key_file(tmp_path):  # type: ignore[no-untyped-def]
    path = tmp_path / "key.json"
    key = jwk.ECKey.generate_key("P-256", parameters={"kid": "site-1"})
    path.write_text(json.dumps(key.as_dict(private=False)))
    return path


def add(runner, key_file, *extra: str):  # type: ignore[no-untyped-def]
    return runner.invoke(args=[
        "partners", "add", "--name", "Régie des transports", "--siret",
        factories.SIRET_TRANSPORT, "--kind", "transport", "--legal-basis",
        "Code des transports, art. L. 1113-1", "--legal-basis-url",
        "https://www.legifrance.gouv.fr/codes/texte_lc/LEGITEXT000023086525",
        "--purpose", "Tarif réduit", "--retention-days", "30", "--jwk", str(key_file),
        "--client-id", "transport-site", *extra])


def test_add_registers_each_redirect_uri_once(runner, db_session, key_file):
    result = add(runner, key_file, "--scope", "protection_status:consent",
                 "--redirect-uri", "https://partner.example/cb",
                 "--redirect-uri", "http://127.0.0.1:5000/cb",
                 "--redirect-uri", "https://partner.example/cb")
    assert result.exit_code == 0, result.output
    assert "redirect URI https://partner.example/cb" in result.output
    db_session.expire_all()
    partner = db_session.scalars(select(Partner).where(Partner.client_id == "transport-site")
                                 ).one()
    assert partner.redirect_uris == ["https://partner.example/cb", "http://127.0.0.1:5000/cb"]
    listed = runner.invoke(args=["partners", "list"])
    assert "    redirect URI http://127.0.0.1:5000/cb" in listed.output


def test_add_refuses_an_unusable_redirect_uri(runner, db_session, key_file):
    result = add(runner, key_file, "--scope", "protection_status:consent",
                 "--redirect-uri", "http://partner.example/cb")
    assert result.exit_code == 2
    assert "--redirect-uri" in result.output and "https" in result.output
    assert db_session.scalars(select(Partner)).all() == []


def test_a_redirect_uri_needs_a_scope_asked_with_consent(runner, db_session, key_file):
    result = add(runner, key_file, "--scope", "protection_status",
                 "--redirect-uri", "https://partner.example/cb")
    assert result.exit_code == 2
    assert "SCOPE:consent" in result.output


def test_without_redirect_uris_the_partner_has_none(runner, db_session, key_file):
    assert add(runner, key_file, "--scope", "protection_status").exit_code == 0
    db_session.expire_all()
    partner = db_session.scalars(select(Partner)).one()
    assert partner.redirect_uris == []
