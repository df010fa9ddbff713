"""/verify for clerks and /verify.json for machines: each verdict, and the keys and list."""

from __future__ import annotations

import base64
import html
import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from joserfc import jwk, jws
from sqlalchemy import select

from app.attestations import revocation
from app.people.models import Protection
from tests.attestations.conftest import fetch, issue, render
from tests.web.test_assets import first_visit

STRICT = ("default-src 'none'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
          "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def verdict_of(text: str) -> str | None:
    start = text.find('data-verdict="')
    return None if start < 0 else text[start + 14:text.index('"', start + 14)]


def paste(browser, token: str, **kwargs) -> str:  # type: ignore[no-untyped-def]
    response = browser.post("/verify", data={"attestation": token}, **kwargs)
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == STRICT
    text = response.get_data(as_text=True)
    assert "<script" not in text
    return text


def end_protection(db_session, person) -> None:  # type: ignore[no-untyped-def]
    protection = db_session.scalars(
        select(Protection).where(Protection.person_id == person.id)).one()
    protection.ended_on = date.today() - timedelta(days=1)
    assert revocation.revoke_stale(db_session, person.id, datetime.now(UTC)) == 1
    db_session.commit()


def test_the_form_needs_no_account_and_works_without_script(browser) -> None:
    status, body, headers = fetch(browser, "/verify")
    text = body.decode()
    assert status == 200 and headers["Content-Security-Policy"] == STRICT
    assert "<h1>Vérifier une attestation de l’OFPRA</h1>" in text
    assert 'enctype="multipart/form-data"' in text and 'name="attestation"' in text
    assert 'type="file"' in text and "<script" not in text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text
    # No token in the form: a form left open all day still works.
    assert 'name="csrf_token"' not in text.split('action="/verify"')[1]


def test_a_valid_attestation_shows_its_facts(app, browser, db_session, refugee) -> None:
    issued = issue(app, db_session, refugee, "protection_status")
    db_session.commit()
    text = paste(browser, "\n" + issued.token[:100] + " \n" + issued.token[100:])
    assert verdict_of(text) == "valid"
    assert "Attestation valide" in text
    assert "Nom de naissance\u00a0: NOORI" in text and "Prénoms\u00a0: Amina Zahra" in text
    assert "Protection\u00a0: oui — statut de réfugié depuis le 2 mars 2021" in text
    assert issued.terms.id in text


def test_an_expired_attestation_says_so(app, browser, db_session, refugee) -> None:
    issued = issue(app, db_session, refugee, "protection_status")
    db_session.commit()
    with time_machine.travel(datetime.now(UTC) + timedelta(days=92)):
        text = paste(browser, issued.token, headers={"Accept-Language": "en"})
    assert verdict_of(text) == "expired"
    assert "Expired attestation" in text and "Ask the person for a new attestation" in text


def test_a_revoked_attestation_says_so(app, browser, db_session, refugee) -> None:
    issued = issue(app, db_session, refugee, "protection_status")
    end_protection(db_session, refugee)
    text = paste(browser, issued.token)
    assert verdict_of(text) == "revoked"
    assert "Attestation révoquée" in text and "Ne vous y fiez pas" in text


def test_a_forged_attestation_shows_no_facts(app, browser, db_session, refugee) -> None:
    token = issue(app, db_session, refugee, "protection_status").token
    db_session.commit()
    text = paste(browser, token[:-10] + ("A" if token[-10] != "A" else "B") + token[-9:])
    assert verdict_of(text) == "forged"
    assert "Ce n’est pas une attestation valide de l’OFPRA" in text
    assert "NOORI" not in text
    assert verdict_of(paste(browser, "bonjour")) == "forged"


def test_an_uploaded_pdf_is_checked(app, browser, db_session, refugee) -> None:
    issued = issue(app, db_session, refugee, "civil_status_progress")
    db_session.commit()
    response = browser.post("/verify", data={
        "document": (io.BytesIO(render(app, issued)), "attestation.pdf", "application/pdf")},
        content_type="multipart/form-data")
    text = response.get_data(as_text=True)
    assert verdict_of(text) == "valid"
    assert "Dossier d’état civil à l’OFPRA\u00a0: documents en préparation" in text
    other = browser.post("/verify", data={
        "document": (io.BytesIO(b"%PDF-1.4 nothing"), "lettre.pdf", "application/pdf")},
        content_type="multipart/form-data")
    assert "Aucune attestation de l’OFPRA dans ce fichier" in other.get_data(as_text=True)
    assert verdict_of(other.get_data(as_text=True)) is None


def test_an_empty_or_huge_form_is_explained(browser) -> None:
    assert "Collez ce qu’affiche le code QR" in paste(browser, "  ")
    # Refused on its announced length, before any of it is read.
    response = browser.post("/verify", data=b"-" * 1_200_000,
                            content_type="multipart/form-data; boundary=x")
    assert response.status_code == 200
    assert "Ce fichier est trop lourd" in response.get_data(as_text=True)


def test_the_verify_page_is_light_for_a_phone(browser, capsys) -> None:
    sizes = first_visit(browser, "/verify")
    with capsys.disabled():
        print(f"\n/verify: {sum(sizes.values()):,} bytes with an empty cache")
    assert sum(sizes.values()) < 300_000


# Machines.

def ask(client, body: object):  # type: ignore[no-untyped-def]
    return client.post("/verify.json", json=body, headers={"Accept": "application/json"})


def test_json_verdicts_carry_the_record_as_the_api_gives_it(app, client, db_session,
                                                            refugee) -> None:
    issued = issue(app, db_session, refugee, "protection_status")
    db_session.commit()
    response = ask(client, {"attestation": issued.token})
    assert response.status_code == 200
    body = response.json
    assert body["verdict"] == "valid"
    assert body["attestation"] == {
        "id": issued.terms.id, "issuer": app.config["ATTESTATION_ISSUER"],
        "scope": "protection_status", "issued_on": issued.terms.issued_on.isoformat(),
        "valid_until": issued.terms.valid_until.isoformat(), "key_id": issued.key_id}
    assert body["holder"]["birth_name"] == "NOORI"
    assert body["record"] == {"as_of": issued.terms.issued_on.isoformat(), "protected": True,
                              "protection": "refugee", "protected_since": "2021-03-02"}
    pdf = base64.b64encode(render(app, issued)).decode()
    assert ask(client, {"pdf": pdf}).json["verdict"] == "valid"
    end_protection(db_session, refugee)
    revoked = ask(client, {"attestation": issued.token}).json
    assert revoked["verdict"] == "revoked" and "revoked_at" in revoked
    with time_machine.travel(datetime.now(UTC) + timedelta(days=120)):
        assert ask(client, {"attestation": issued.token}).json["verdict"] == "revoked"
    tampered = ask(client, {"attestation": issued.token[:-1] + "."}).json
    assert tampered == {"verdict": "forged", "reason": "malformed"}


def test_json_expired(app, client, db_session, refugee) -> None:
    issued = issue(app, db_session, refugee, "civil_status")
    db_session.commit()
    with time_machine.travel(datetime.now(UTC) + timedelta(days=95)):
        body = ask(client, {"attestation": issued.token}).json
    assert body["verdict"] == "expired"
    assert body["record"]["established"] is False


@pytest.mark.parametrize("body", [{}, {"attestation": ""}, {"attestation": 5},
                                  {"attestation": "x", "pdf": "eA=="}, {"pdf": "***"},
                                  {"attestation": "x" * 9000}, ["x"]])
def test_bad_input_gets_a_problem_document(client, body) -> None:
    response = ask(client, body)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] == "invalid_request"


def test_a_pdf_without_attestation_is_a_problem(client) -> None:
    response = ask(client, {"pdf": base64.b64encode(b"%PDF-1.4 hello").decode()})
    assert response.status_code == 422
    assert response.json["code"] == "no_attestation"
    not_json = client.post("/verify.json", data="eyJ", content_type="text/plain")
    assert not_json.status_code in (415, 422)
    assert not_json.mimetype == "application/problem+json"


def test_the_keys_and_the_revocation_list_are_published_signed(app, client, db_session,
                                                               refugee) -> None:
    kept = issue(app, db_session, refugee, "civil_status_progress")
    dropped = issue(app, db_session, refugee, "protection_status")
    end_protection(db_session, refugee)
    response = client.get("/attestations/jwks.json")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=3600"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    published = response.get_json(force=True)
    assert all("d" not in key and key["alg"] == "ES256" for key in published["keys"])
    keys = jwk.KeySet.import_key_set(published)
    listing = client.get("/attestations/revoked.json")
    assert listing.mimetype == "application/jose+json"
    signed = jws.deserialize_json(listing.get_json(force=True), keys, algorithms=["ES256"])
    body = json.loads(signed.payload)
    assert body["iss"] == app.config["ATTESTATION_ISSUER"]
    assert body["revoked"] == [dropped.terms.id] and kept.terms.id not in body["revoked"]
    issued_at = datetime.fromisoformat(body["issued_at"])
    assert datetime.fromisoformat(body["next_update"]) - issued_at == timedelta(hours=24)
    assert html.escape(body["issued_at"]) == body["issued_at"]
