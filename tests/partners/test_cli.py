"""`flask partners add | list | demo`."""

from __future__ import annotations

import base64
import json
import stat
import time
from datetime import date

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from joserfc import jwk
from sqlalchemy import func, select

from app.partners.models import Partner, PartnerKind
from tests import factories
from tests.oauth.conftest import sign, token_request

CAF_BASIS = "Code de la sécurité sociale, art. L. 114-12-1"
CAF_URL = "https://www.legifrance.gouv.fr/codes/texte_lc/LEGITEXT000006073189"


@pytest.fixture()
def runner(app, db_session):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


@pytest.fixture()
def public_jwk(tmp_path):  # type: ignore[no-untyped-def]
    key = jwk.ECKey.generate_key("P-256", parameters={"kid": "caf-2025"})
    path = tmp_path / "caf.jwk.json"
    path.write_text(json.dumps(key.as_dict(private=False)))
    return key, path


def add(runner, *extra: str, key_option: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    return runner.invoke(args=[
        "partners", "add", "--name", "CAF de Seine-Saint-Denis", "--siret", factories.SIRET_CAF,
        "--kind", "caf", "--legal-basis", CAF_BASIS, "--legal-basis-url", CAF_URL,
        "--purpose", "Ouvrir les droits aux prestations familiales", "--retention-days", "730",
        *key_option, *extra])


def partner_named(db_session, client_id: str) -> Partner:
    db_session.expire_all()
    return db_session.scalars(select(Partner).where(Partner.client_id == client_id)).one()


def count(db_session) -> int:
    return int(db_session.scalar(select(func.count()).select_from(Partner)))


# --- add ------------------------------------------------------------------------------------

def test_add_registers_the_partner_its_habilitation_and_public_key(runner, db_session,
                                                                   public_jwk):
    key, path = public_jwk
    result = add(runner, "--scope", "civil_status:consent", "--scope", "protection_status",
                 "--valid-from", "2025-01-01", "--valid-until", "2027-12-31",
                 "--rate-limit", "5", "--client-id", "caf-93", "--max-consent-days", "180",
                 key_option=("--jwk", str(path)))
    assert result.exit_code == 0, result.output
    assert "client_id caf-93" in result.output and "civil_status:consent" in result.output
    partner = partner_named(db_session, "caf-93")
    assert (partner.name, partner.siret, partner.kind, partner.rate_limit, partner.active,
            partner.token_endpoint_auth_method, partner.client_secret_hash) == \
        ("CAF de Seine-Saint-Denis", factories.SIRET_CAF, PartnerKind.CAF, 5, True,
         "private_key_jwt", None)
    assert partner.jwks == {"keys": [key.as_dict(private=False)]}
    (habilitation,) = partner.habilitations
    assert (habilitation.legal_basis, habilitation.legal_basis_url, habilitation.retention_days,
            habilitation.valid_from, habilitation.valid_until) == \
        (CAF_BASIS, CAF_URL, 730, date(2025, 1, 1), date(2027, 12, 31))
    assert habilitation.purpose == "Ouvrir les droits aux prestations familiales"
    assert [(s.scope, s.consent_required, s.max_consent_days) for s in habilitation.scopes] == \
        [("civil_status", True, 180), ("protection_status", False, None)]


def test_add_takes_a_jwk_set_and_generates_a_client_id(runner, db_session, tmp_path):
    keys = [jwk.ECKey.generate_key("P-256"), jwk.OKPKey.generate_key("Ed25519")]
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [key.as_dict(private=False) for key in keys]}))
    result = add(runner, "--scope", "civil_status:consent", key_option=("--jwk", str(path)))
    assert result.exit_code == 0, result.output
    partner = db_session.scalars(select(Partner)).one()
    assert partner.client_id.startswith("caf-") and partner.client_id in result.output
    # Keys without a kid get their RFC 7638 thumbprint as kid.
    assert [item["kid"] for item in partner.jwks["keys"]] == [key.thumbprint() for key in keys]
    assert partner.habilitations[0].valid_from <= date.today()


def test_add_takes_a_pem_public_key(runner, db_session, tmp_path):
    private = ed25519.Ed25519PrivateKey.generate()
    path = tmp_path / "partner.pem"
    path.write_bytes(private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    result = add(runner, "--scope", "civil_status:consent", key_option=("--pem", str(path)))
    assert result.exit_code == 0, result.output
    (stored,) = db_session.scalars(select(Partner)).one().jwks["keys"]
    assert (stored["kty"], stored["crv"]) == ("OKP", "Ed25519")
    assert "d" not in stored


@pytest.mark.parametrize("form", ["jwk", "pem"])
def test_a_private_key_given_by_mistake_is_not_stored(runner, db_session, tmp_path, form):
    key = jwk.ECKey.generate_key("P-256", parameters={"kid": "oops"})
    path = tmp_path / f"private.{form}"
    if form == "jwk":
        path.write_text(json.dumps(key.as_dict(private=True)))
    else:
        path.write_bytes(key.private_key.private_bytes(  # type: ignore[union-attr]
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
    result = add(runner, "--scope", "civil_status:consent", key_option=(f"--{form}", str(path)))
    assert result.exit_code == 0, result.output
    assert "PRIVATE key" in result.stderr and "only its public part is stored" in result.stderr
    (stored,) = db_session.scalars(select(Partner)).one().jwks["keys"]
    assert "d" not in stored
    assert (stored["x"], stored["y"]) == (key["x"], key["y"])


@pytest.mark.parametrize("extra, message", [
    (("--siret", "53475101500016"), "check digit"),
    (("--siret", "5347510150001"), "14 digits"),
    (("--scope", "nationality"), "unknown scope"),
    (("--scope", "civil_status", "--scope", "civil_status:consent"), "given twice"),
    (("--scope", "civil_status", "--valid-from", "2026-01-01", "--valid-until", "2025-12-31"),
     "must not be before --valid-from"),
    (("--scope", "civil_status", "--legal-basis-url", "http://legifrance.gouv.fr/x"), "https"),
    (("--scope", "civil_status", "--retention-days", "0"), "--retention-days"),
    (("--scope", "civil_status", "--rate-limit", "-1"), "--rate-limit"),
    (("--scope", "civil_status", "--client-id", "a b"), "--client-id"),
    (("--kind", "embassy", "--scope", "civil_status"), "--kind"),
    ((), "at least one --scope"),
])
def test_add_refuses_invalid_input_with_a_clear_message(runner, db_session, public_jwk, extra,
                                                        message):
    result = add(runner, *extra, key_option=("--jwk", str(public_jwk[1])))
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert count(db_session) == 0


def short_rsa_jwk() -> dict[str, str]:
    # Deliberately weak: the registration must refuse it.
    weak = rsa.generate_private_key(65537, 1024)  # noqa: S505  # the key under test
    numbers = weak.public_key().public_numbers()

    def b64(value: int) -> str:
        raw = value.to_bytes((value.bit_length() + 7) // 8)
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    return {"kty": "RSA", "n": b64(numbers.n), "e": b64(numbers.e)}


def test_add_needs_exactly_one_usable_public_key(runner, db_session, tmp_path, public_jwk):
    assert "--jwk FILE or --pem FILE" in add(runner, "--scope", "civil_status").output
    both = ("--jwk", str(public_jwk[1]), "--pem", str(public_jwk[1]))
    assert "--jwk FILE or --pem FILE" in add(runner, "--scope", "civil_status",
                                             key_option=both).output
    unusable = {
        "oct.json": (json.dumps(jwk.OctKey.generate_key(256).as_dict(private=True)),
                     "shared secret"),
        "p384.json": (json.dumps(jwk.ECKey.generate_key("P-384").as_dict()), "P-256"),
        "rsa1024.json": (json.dumps(short_rsa_jwk()), "2048 bits"),
        "rs256.json": (json.dumps(jwk.RSAKey.generate_key(
            2048, parameters={"alg": "RS256"}).as_dict(private=False)), "use PS256"),
        "enc.json": (json.dumps(jwk.ECKey.generate_key(
            "P-256", parameters={"use": "enc"}).as_dict(private=False)), "signatures"),
        "garbage.json": ("{not json", "not JSON"),
        "empty.json": (json.dumps({"keys": []}), "no key"),
    }
    for name, (text, message) in unusable.items():
        path = tmp_path / name
        path.write_text(text)
        result = add(runner, "--scope", "civil_status", key_option=("--jwk", str(path)))
        assert result.exit_code == 2, (name, result.output)
        assert message in result.output, (name, result.output)
    encrypted = tmp_path / "encrypted.pem"
    encrypted.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pass")))
    result = add(runner, "--scope", "civil_status", key_option=("--pem", str(encrypted)))
    assert result.exit_code == 2 and "encrypted private key" in result.output
    assert count(db_session) == 0


def test_add_refuses_a_client_id_already_registered(runner, db_session, public_jwk):
    assert add(runner, "--scope", "civil_status", "--client-id", "caf-93",
               key_option=("--jwk", str(public_jwk[1]))).exit_code == 0
    result = add(runner, "--scope", "civil_status", "--client-id", "caf-93",
                 key_option=("--jwk", str(public_jwk[1])))
    assert result.exit_code == 2 and "caf-93 is already registered" in result.output
    assert count(db_session) == 1


def test_an_ofpra_service_needs_no_habilitation(runner, db_session, public_jwk):
    result = runner.invoke(args=[
        "partners", "add", "--name", "OFPRA resource server", "--siret", "13000000000013",
        "--kind", "ofpra", "--client-id", "ofpra-rs", "--jwk", str(public_jwk[1])])
    assert result.exit_code == 0, result.output
    partner = partner_named(db_session, "ofpra-rs")
    assert (partner.kind, partner.habilitations) == (PartnerKind.OFPRA, [])


# --- list -----------------------------------------------------------------------------------

def test_list_prints_partners_and_their_scopes(runner, db_session):
    assert runner.invoke(args=["partners", "list"]).output == "no partner\n"
    partner = factories.partner(db_session, {"civil_status": True, "protection_status": False},
                                rate_limit=0, valid_until=date(2030, 6, 30))
    factories.partner(db_session, {"protection_status": False}, active=False)
    db_session.commit()
    result = runner.invoke(args=["partners", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == (f"{partner.client_id}  caf  active  SIRET {factories.SIRET_CAF}  "
                        f"rate unlimited  Test partner")
    assert lines[1] == ("    civil_status:consent protection_status  2020-01-01 to 2030-06-30  "
                        "Code de test, art. 1")
    assert "SUSPENDED" in lines[2] and "rate default" in lines[2]


# --- demo -----------------------------------------------------------------------------------

@pytest.fixture()
def instance(app, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    return tmp_path


def test_demo_creates_three_partners_and_their_credentials(runner, db_session, instance):
    result = runner.invoke(args=["partners", "demo"])
    assert result.exit_code == 0, result.output
    assert result.output.count("registered") == 3
    folder = instance / "demo" / "partners"
    expected = {
        "transport": ("77568406300016", {"protection_status": True}),
        "school": ("19750001300010", {"civil_status_progress": False}),
        "caf": ("53475101500015", {"civil_status": True}),
    }
    for kind, (siret, scopes) in expected.items():
        path = folder / f"{kind}.json"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        credentials = json.loads(path.read_text())
        assert (credentials["client_id"], credentials["siret"], credentials["scopes"]) == \
            (f"demo-{kind}", siret, sorted(scopes))
        assert (credentials["issuer"], credentials["token_endpoint"],
                credentials["api_base"]) == ("http://localhost", "http://localhost/oauth/token",
                                             "http://localhost/v1")
        private = jwk.import_key(credentials["private_jwk"])
        assert private.is_private and credentials["private_jwk"]["alg"] == "ES256"
        partner = partner_named(db_session, f"demo-{kind}")
        assert (partner.kind.value, partner.siret, partner.active) == (kind, siret, True)
        assert partner.jwks == {"keys": [private.as_dict(private=False)]}
        (habilitation,) = partner.habilitations
        assert {s.scope: s.consent_required for s in habilitation.scopes} == scopes
        assert habilitation.legal_basis_url.startswith("https://www.legifrance.gouv.fr/")
        assert habilitation.legal_basis and habilitation.purpose
    assert "L. 114-12-1" in partner.habilitations[0].legal_basis  # the CAF, last


def test_demo_is_idempotent_and_keeps_keys(runner, db_session, instance):
    assert runner.invoke(args=["partners", "demo"]).exit_code == 0
    folder = instance / "demo" / "partners"
    before = {path.name: path.read_text() for path in folder.iterdir()}
    result = runner.invoke(args=["partners", "demo"])
    assert result.exit_code == 0, result.output
    assert result.output.count("already present") == 3
    assert {path.name: path.read_text() for path in folder.iterdir()} == before
    assert count(db_session) == 3

    # A lost credentials file is made anew, and its new key replaces the old one.
    (folder / "school.json").unlink()
    result = runner.invoke(args=["partners", "demo"])
    assert "demo-school: key replaced" in result.output
    private = jwk.import_key(json.loads((folder / "school.json").read_text())["private_jwk"])
    assert partner_named(db_session, "demo-school").jwks == \
        {"keys": [private.as_dict(private=False)]}
    assert count(db_session) == 3


def test_demo_credentials_get_a_token(client, runner, db_session, instance):
    assert runner.invoke(args=["partners", "demo"]).exit_code == 0
    credentials = json.loads((instance / "demo" / "partners" / "transport.json").read_text())
    now = int(time.time())
    claims = {"iss": credentials["client_id"], "sub": credentials["client_id"],
              "aud": credentials["issuer"], "iat": now, "exp": now + 60, "jti": "demo-1"}
    made = sign(jwk.import_key(credentials["private_jwk"]), claims,
                credentials["private_jwk"]["alg"])
    response = token_request(client, made)
    assert response.status_code == 200, response.json
    assert response.json["scope"] == "protection_status"


def test_demo_is_refused_in_production(app, runner, db_session, instance, monkeypatch):
    monkeypatch.setitem(app.config, "ENV", "production")
    result = runner.invoke(args=["partners", "demo"])
    assert result.exit_code == 1 and "not for production" in result.output
    assert count(db_session) == 0
