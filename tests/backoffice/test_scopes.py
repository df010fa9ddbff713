"""Back-office scopes: only OFPRA's own clients get them, at the token endpoint and at each call."""

from __future__ import annotations

import json
import uuid

import pytest
from openapi_spec_validator import validate

from app.oauth import clients
from app.partners.models import Partner, PartnerKind
from tests import factories
from tests.backoffice.conftest import BACKOFFICE, BASE, bearer, person, problem
from tests.oauth.conftest import refused, token_request

DOC = str(uuid.uuid4())
# Every back-office route, with the scope it needs.
ROUTES = [
    ("post", "/people", "backoffice:people"),
    ("post", "/people/search", "backoffice:people"),
    ("get", "/people/1", "backoffice:people"),
    ("patch", "/people/1", "backoffice:people"),
    ("put", "/people/1/enrolment", "backoffice:people"),
    ("post", "/people/1/protections", "backoffice:people"),
    ("post", "/people/1/protections/1/end", "backoffice:people"),
    ("put", "/people/1/civil-status-file", "backoffice:people"),
    ("post", "/people/1/activation-notices", "backoffice:people"),
    ("post", "/people/1/documents", "backoffice:documents"),
    ("get", f"/documents/{DOC}", "backoffice:documents"),
    ("get", f"/documents/{DOC}/acknowledgement", "backoffice:documents"),
    ("get", "/acknowledgements", "backoffice:documents"),
]


def call(client, method: str, path: str, token: str | None = None):  # type: ignore[no-untyped-def]
    headers = bearer(token) if token else {}
    return getattr(client, method)(BASE + path, headers=headers, json={})


def test_the_routes_listed_here_are_all_the_back_office_routes(app):
    examples = {"<int:person_id>": "1", "<int:protection_id>": "1", "<uuid:document_id>": DOC}
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(BASE + "/"):
            path = rule.rule.removeprefix(BASE)
            for converter, example in examples.items():
                path = path.replace(converter, example)
            served |= {(method.lower(), path) for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert served == {(method, path) for method, path, _ in ROUTES}


@pytest.mark.parametrize("method, path, scope", ROUTES)
def test_a_partner_token_is_refused_everywhere(client, mint, caf, method, path, scope):
    response = call(client, method, path, mint(caf.client_id, "civil_status"))
    body = problem(response, 403, "insufficient_scope")
    assert scope in body["detail"]
    assert response.headers["WWW-Authenticate"] == \
        f'Bearer error="insufficient_scope", scope="{scope}"'


@pytest.mark.parametrize("method, path, scope", ROUTES)
def test_a_partner_token_carrying_the_scope_is_still_refused(client, mint, caf, method, path,
                                                             scope):
    """Even a token that names the scope (it cannot be issued: see below) is refused for a
    client that is not OFPRA's."""
    response = call(client, method, path, mint(caf.client_id, " ".join(BACKOFFICE)))
    body = problem(response, 403, "insufficient_scope")
    assert body["detail"] == "The back office is reserved for OFPRA's own systems."


@pytest.mark.parametrize("method, path, scope", ROUTES)
def test_no_token_is_401(client, db_session, method, path, scope):
    problem(call(client, method, path), 401, "invalid_token")


@pytest.mark.parametrize("method, path, scope", ROUTES)
def test_an_ofpra_token_needs_the_route_s_own_scope(client, mint, ofpra, method, path, scope):
    other = next(item for item in clients.BACKOFFICE_SCOPES if item != scope)
    response = call(client, method, path, mint(ofpra.client_id, other))
    assert scope in problem(response, 403, "insufficient_scope")["detail"]


def test_a_person_bound_token_is_refused(client, mint, ofpra):
    token = mint(ofpra.client_id, " ".join(BACKOFFICE), consent_id=str(uuid.uuid4()))
    response = call(client, "get", "/people/1", token)
    assert "reserved" in problem(response, 403, "insufficient_scope")["detail"]


def test_a_suspended_ofpra_client_is_refused(client, db_session, mint):
    suspended = factories.partner(db_session, BACKOFFICE, kind=PartnerKind.OFPRA, active=False)
    db_session.commit()
    response = call(client, "get", "/people/1", mint(suspended.client_id, "backoffice:people"))
    assert problem(response, 403, "insufficient_scope")["detail"] == "This client is suspended."


def test_an_ofpra_token_is_admitted(client, db_session, token):
    someone = person(db_session)
    response = client.get(f"{BASE}/people/{someone.id}", headers=bearer(token))
    assert response.status_code == 200, response.json
    assert response.json["id"] == someone.id


# --- the token endpoint ---------------------------------------------------------------------

@pytest.fixture()
def keyed_partner(db_session, partner_keys):  # type: ignore[no-untyped-def]
    def make(kind: PartnerKind, scopes: dict[str, bool]) -> Partner:
        made = factories.partner(db_session, scopes, kind=kind, key=partner_keys["ES256"])
        db_session.commit()
        return made

    return make


@pytest.mark.parametrize("asked", ["backoffice:documents", "backoffice:people civil_status"])
def test_a_partner_cannot_get_a_back_office_scope(client, keyed_partner, assertion,
                                                  partner_keys, asked):
    partner = keyed_partner(PartnerKind.CAF, {"civil_status": False})
    response = token_request(client, assertion(partner_keys["ES256"], partner.client_id),
                             scope=asked)
    assert "Reserved for OFPRA's own systems" in refused(response, "invalid_scope")


def test_a_partner_whose_habilitation_names_one_still_cannot(app, client, keyed_partner,
                                                             assertion, partner_keys):
    """A habilitation row naming a back-office scope (a mistake) grants nothing to a partner."""
    partner = keyed_partner(PartnerKind.SCHOOL, {"civil_status_progress": False, **BACKOFFICE})
    response = token_request(client, assertion(partner_keys["ES256"], partner.client_id),
                             scope="backoffice:documents")
    assert "Reserved" in refused(response, "invalid_scope")
    # Asking for nothing gets every scope granted: the partner's own, never the back office's.
    response = token_request(client, assertion(partner_keys["ES256"], partner.client_id))
    assert response.status_code == 200, response.json
    assert response.json["scope"] == "civil_status_progress"


def test_ofpra_gets_back_office_scopes_and_uses_them(client, db_session, keyed_partner,
                                                     assertion, partner_keys):
    ofpra = keyed_partner(PartnerKind.OFPRA, BACKOFFICE)
    response = token_request(client, assertion(partner_keys["ES256"], ofpra.client_id),
                             scope="backoffice:people")
    assert response.status_code == 200, response.json
    assert response.json["scope"] == "backoffice:people"
    someone = person(db_session)
    answer = client.get(f"{BASE}/people/{someone.id}",
                        headers=bearer(response.json["access_token"]))
    assert (answer.status_code, answer.json["id"]) == (200, someone.id)


def test_the_metadata_advertises_partner_scopes_only(client, db_session):
    metadata = client.get("/.well-known/oauth-authorization-server").json
    assert metadata["scopes_supported"] == ["protection_status", "civil_status_progress",
                                            "civil_status"]


# --- registering OFPRA's client -------------------------------------------------------------

@pytest.fixture()
def runner(app, db_session):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


@pytest.fixture()
def public_jwk(tmp_path, partner_keys):  # type: ignore[no-untyped-def]
    path = tmp_path / "ofpra.jwk.json"
    path.write_text(json.dumps(partner_keys["ES256"].as_dict(private=False)))
    return path


def add(runner, public_jwk, kind: str, *scopes: str):  # type: ignore[no-untyped-def]
    args = ["partners", "add", "--name", "OFPRA — système de gestion des dossiers",
            "--siret", factories.SIRET_CAF, "--kind", kind, "--jwk", str(public_jwk),
            "--legal-basis", "CESEDA, art. R. 531-17", "--legal-basis-url",
            "https://www.legifrance.gouv.fr/codes/article_lc/LEGIARTI000042776669",
            "--purpose", "Dépôt des courriers", "--retention-days", "3650"]
    for scope in scopes:
        args += ["--scope", scope]
    return runner.invoke(args=args)


def test_the_cli_registers_an_ofpra_client_with_back_office_scopes(
        runner, public_jwk, client, db_session, assertion, partner_keys):
    result = add(runner, public_jwk, "ofpra", "backoffice:documents", "backoffice:people")
    assert result.exit_code == 0, result.output
    assert "scopes backoffice:documents backoffice:people" in result.output
    client_id = result.output.split("client_id ")[1].split(",")[0]
    response = token_request(client, assertion(partner_keys["ES256"], client_id),
                             scope="backoffice:documents")
    assert response.status_code == 200, response.json
    assert response.json["scope"] == "backoffice:documents"


@pytest.mark.parametrize("kind, scope", [("caf", "backoffice:documents"),
                                         ("school", "backoffice:people"),
                                         ("ofpra", "backoffice:documents:consent")])
def test_the_cli_refuses_back_office_scopes_elsewhere(runner, public_jwk, kind, scope):
    result = add(runner, public_jwk, kind, scope)
    assert result.exit_code == 2
    assert "reserved for OFPRA's own systems" in result.output


# --- the OpenAPI document -------------------------------------------------------------------

def test_the_openapi_document_describes_the_back_office(client, db_session):
    spec = client.get("/openapi.json").json
    validate(spec)
    flows = spec["components"]["securitySchemes"]["backoffice"]["flows"]
    assert set(flows["clientCredentials"]["scopes"]) == set(clients.BACKOFFICE_SCOPES)
    paths = {path: item for path, item in spec["paths"].items() if path.startswith(BASE)}
    assert len(paths) == 12
    for path, item in paths.items():
        # No personal identifier in a URL: only internal ids and UUIDs.
        assert "number" not in path and "agdref" not in path
        for method, operation in item.items():
            if method == "parameters":
                continue
            (security,) = operation["security"]
            assert list(security) == ["backoffice"]
            assert {"401", "403"} <= set(operation["responses"])
    deposit = paths[f"{BASE}/people/{{person_id}}/documents"]["post"]
    assert "multipart/form-data" in deposit["requestBody"]["content"]
    assert deposit["parameters"][0]["name"] == "Idempotency-Key"
    form = spec["components"]["schemas"]["Deposit"]["properties"]
    assert form["file"] == {"type": "string", "format": "binary",
                            "description": form["file"]["description"]}
    assert set(form) == {"file", "type", "title", "interview_at", "interview_place",
                         "decision_outcome"}
