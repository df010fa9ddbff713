"""A letter's journey, end to end, with a real server, a real SMTP server and a real browser.

OFPRA's back office deposits a convocation through its API (an OFPRA client's token, obtained
with private_key_jwt as any client does); the alert goes out through `flask notify work` to
the test SMTP server and says nothing of the letter; the person, who gave and verified their
e-mail address when activating their space, signs in and downloads the letter — the first
consultation is recorded, and OFPRA's acknowledgement says "consultation" at that moment; the
SPADA's worker, whose account OFPRA created with a set-password link, sees the dates and the
convocation, never the title, and is refused the letter itself (403). Texts are checked as
they read, in French.
"""

from __future__ import annotations

import importlib.util
import json
import re
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests
from babel import dates as babel_dates
from joserfc import jwk
from playwright.sync_api import Page, expect

from tests import live
from tests.browser import journeys
from tests.notify.conftest import Mailbox, SmtpServer, _serve
from tests.vault import builders

EXAMPLE = live.ROOT / "docs" / "examples" / "ask_ofpra.py"
PARIS = ZoneInfo("Europe/Paris")
PERSON = "refugee-active"  # sandbox/people.json: OFPRA 900000000001
OFPRA_NUMBER = "900000000001"
EMAIL = "amina.person@example.org"
TITLE = "Convocation à l'entretien personnel — dossier 2026-4471"
STAFF_EMAIL = "claire.martin@spada-rennes.example.org"
STAFF_PASSWORD = "la boussole du quai nord"  # noqa: S105 (a test password)
OFPRA_CLIENT = "ofpra-backoffice-test"
OFPRA_SIRET = "18000405800012"


def example_client() -> ModuleType:
    """docs/examples/ask_ofpra.py: the client assertion and token request any client makes."""
    spec = importlib.util.spec_from_file_location("ask_ofpra", EXAMPLE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def plain(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ").replace("\u202f", " ")).strip()


def long_date(moment: datetime) -> str:
    return babel_dates.format_date(moment.astimezone(PARIS).date(), "long", locale="fr")


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture(scope="module")
def mailbox() -> Iterator[SmtpServer]:
    yield from _serve(Mailbox())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory,
           mailbox: SmtpServer) -> Iterator[live.Live]:
    """The live server, sending its e-mail to the test SMTP server (`page` uses this one)."""
    with live.serve(tmp_path_factory.mktemp("instance"), SMTP_HOST="127.0.0.1",
                    SMTP_PORT=str(mailbox.port), SMTP_STARTTLS="",
                    SMTP_FROM="Ofpra Connect <no-reply@connect.ofpra.test>") as running:
        yield running


def ofpra_credentials(server: live.Live) -> dict[str, Any]:
    """Register OFPRA's back-office client (kind ofpra, its public key) as OFPRA's desk does,
    and return the client's side: its private key and where to ask for a token."""
    key = jwk.ECKey.generate_key("P-256", parameters={"alg": "ES256", "use": "sig"})
    key.ensure_kid()
    public = server.instance / "ofpra-backoffice.jwk.json"
    public.write_text(json.dumps(key.as_dict(private=False)))
    server.flask("partners", "add", "--name", "OFPRA — gestion des dossiers (test)",
                 "--siret", OFPRA_SIRET, "--kind", "ofpra",
                 "--scope", "backoffice:people", "--scope", "backoffice:documents",
                 "--legal-basis", "CESEDA, art. R. 531-17 (notification dématérialisée)",
                 "--legal-basis-url", "https://www.legifrance.gouv.fr/codes/article_lc/"
                                      "LEGIARTI000042776869",
                 "--purpose", "Déposer les courriers et lire les accusés de notification",
                 "--retention-days", "3650", "--client-id", OFPRA_CLIENT, "--jwk", str(public))
    return {"client_id": OFPRA_CLIENT, "private_jwk": key.as_dict(private=True),
            "issuer": server.url, "token_endpoint": f"{server.url}/oauth/token"}


def backoffice(server: live.Live, token: str) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # loopback only, never through a proxy
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def code_in(mailbox: SmtpServer, to: str, count: int) -> str:
    messages = [item for item in mailbox.messages if to in item.rcpt_tos]
    assert len(messages) == count, [item.message["Subject"] for item in messages]
    body = messages[-1].message.get_content()
    found = re.search(r"\b(\d{6})\b", body)
    assert found, body
    return found[1]


def activate_with_email(page: Page, server: live.Live, mailbox: SmtpServer,
                        identifier: str, connection_key: str) -> None:
    """/activate with an e-mail address, verified with the code the SMTP server received."""
    main = page.locator("main")
    page.goto("/activate")
    main.get_by_label("Numéro AGDREF ou numéro OFPRA").fill(identifier)
    main.get_by_label("Clé de connexion").fill(connection_key)
    main.get_by_role("button", name="Continuer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Créez votre mot de passe")
    main.get_by_label("Nouveau mot de passe", exact=True).fill(journeys.PASSWORD)
    main.get_by_label("Nouveau mot de passe, encore une fois").fill(journeys.PASSWORD)
    main.get_by_role("button", name="Enregistrer mon mot de passe").click()
    expect(main.get_by_text("Étape 3 sur 5")).to_be_visible()
    main.get_by_label("Adresse e-mail (facultatif)").fill(EMAIL)
    main.get_by_role("button", name="Continuer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Tapez le code que nous vous avons envoyé")
    server.flask("notify", "work", "--once")
    main.get_by_label("Code").fill(code_in(mailbox, EMAIL, 1))
    main.get_by_role("button", name="Valider").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Choisissez votre langue")
    main.get_by_role("button", name="Français").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Votre espace personnel est prêt")


def test_a_letter_from_deposit_to_acknowledgement_and_what_the_spada_sees(
        page: Page, server: live.Live, mailbox: SmtpServer) -> None:
    watch = journeys.Watch.on(page.context)
    main = page.locator("main")
    person = journeys.demo_person(server, PERSON)
    assert person["identifier"] == OFPRA_NUMBER

    # OFPRA's desk: a SPADA, its worker (a set-password link), the person domiciled there.
    created = server.flask("support", "structure", "add", "--name", "SPADA de Rennes (test)",
                           "--kind", "spada", "--city", "Rennes")
    structure_id = re.search(r"structure (\d+) created", created)[1]  # type: ignore[index]
    link = server.flask("support", "staff", "add", "--structure", structure_id,
                        "--email", STAFF_EMAIL, "--name", "Claire Martin").strip().splitlines()[-1]
    assert link.startswith(server.url + "/accompagnement/mot-de-passe/")
    server.flask("support", "domiciliation", "add", "--ofpra-number", OFPRA_NUMBER,
                 "--structure", structure_id)

    # The person activates their space, with an e-mail address for the alerts.
    activate_with_email(page, server, mailbox, person["identifier"], person["connection_key"])

    # OFPRA deposits a convocation through the back office.
    client = example_client()
    token = client.access_token(ofpra_credentials(server),
                                "backoffice:people backoffice:documents")
    api = backoffice(server, token)
    found = api.post(f"{server.url}/backoffice/v1/people/search",
                     json={"ofpra_number": OFPRA_NUMBER}, timeout=10)
    assert found.status_code == 200, found.text
    [record] = found.json()
    letter = builders.pdf(pages=2)
    deposited = api.post(
        f"{server.url}/backoffice/v1/people/{record['id']}/documents",
        headers={"Idempotency-Key": str(uuid.uuid4())},
        data={"type": "convocation", "title": TITLE,
              "interview_at": "2026-12-15T09:30:00+01:00",
              "interview_place": "OFPRA, 201 rue Carnot, Fontenay-sous-Bois"},
        files={"file": ("convocation.pdf", letter, "application/pdf")}, timeout=10)
    assert deposited.status_code == 201, deposited.text
    document = deposited.json()
    assert document["delivery"] == "online"
    made_available_at = datetime.fromisoformat(document["made_available_at"])

    # The alert goes out after the commit, and says nothing of the letter.
    server.flask("notify", "work", "--once")
    alerts = [item for item in mailbox.messages if EMAIL in item.rcpt_tos]
    assert len(alerts) == 2  # the code, then this alert
    alert = alerts[-1].message
    assert alert["Subject"] == "Ofpra Connect : vous avez un nouveau courrier"
    body = alert.get_content()
    assert "Un nouveau courrier de l'OFPRA est dans votre espace personnel" in body
    for secret in (TITLE, "Convocation", "entretien", "15 décembre", "Carnot"):
        assert secret not in body and secret not in str(alert["Subject"])

    # The person signs in again (another day, another browser) and finds it.
    context = page.context.browser.new_context(  # type: ignore[union-attr]
        base_url=server.url, locale="fr-FR", viewport={"width": 360, "height": 740},
        accept_downloads=True)
    person_watch = journeys.Watch.on(context)
    reader = context.new_page()
    reader.goto("/signin")
    journeys.sign_in(reader, person["identifier"])
    expect(reader.get_by_role("heading", level=1)).to_have_text("Mon espace personnel")
    reading = reader.locator("main")
    reading.get_by_role("link", name=re.compile("^Mes courriers")).click()
    expect(reader.get_by_role("heading", level=1)).to_have_text("Mes courriers")
    expect(reading).to_contain_text("Non ouvert")
    expect(reading).not_to_contain_text(TITLE)
    reading.get_by_role("link", name="Convocation à un entretien").click()
    expect(reader.get_by_role("heading", level=1)).to_have_text("Convocation à un entretien")
    expect(reading).to_contain_text(TITLE)
    expect(reading).to_contain_text("Vous ne l’avez pas encore ouvert.")
    assert "Entretien le 15 décembre 2026, 09:30." in plain(reading.inner_text())
    with reader.expect_download() as downloading:
        reading.get_by_role("link", name="Télécharger le courrier").click()
    download = downloading.value
    assert download.suggested_filename == \
        f"ofpra-convocation-{made_available_at.astimezone(PARIS).date().isoformat()}.pdf"
    assert Path(download.path()).read_bytes() == letter
    reader.reload()
    expect(reading).to_contain_text("Vous l’avez ouvert pour la première fois le")

    # OFPRA reads the acknowledgement: notified at the first consultation.
    acknowledgement = api.get(
        f"{server.url}/backoffice/v1/documents/{document['id']}/acknowledgement", timeout=10)
    assert acknowledgement.status_code == 200, acknowledgement.text
    ack = acknowledgement.json()
    assert ack["method"] == "consultation"
    assert ack["first_consulted_at"] is not None
    assert ack["notified_at"] == ack["first_consulted_at"]
    consulted_at = datetime.fromisoformat(ack["first_consulted_at"])
    assert consulted_at >= made_available_at
    reading.get_by_role("button", name="Me déconnecter").click()
    person_watch.assert_clean(server.url)
    context.close()

    # The SPADA's worker: the set-password link, then the people followed.
    page.context.clear_cookies()
    page.goto(urlsplit(link).path)
    expect(page.get_by_role("heading", level=1)).to_have_text("Choisissez votre mot de passe")
    main.get_by_label("Nouveau mot de passe", exact=True).fill(STAFF_PASSWORD)
    main.get_by_label("Nouveau mot de passe, encore une fois").fill(STAFF_PASSWORD)
    main.get_by_role("button", name="Enregistrer mon mot de passe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Personnes suivies")
    # Out, and in again with the address and the password.
    main.get_by_role("button", name="Me déconnecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Connexion : structures d’accompagnement")
    main.get_by_label("Adresse e-mail professionnelle").fill(STAFF_EMAIL)
    main.get_by_label("Mot de passe", exact=True).fill(STAFF_PASSWORD)
    main.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Personnes suivies")
    seen = plain(main.inner_text())
    assert "Personnes suivies : 1." in seen
    assert "Entretien le 15 décembre 2026, 09:30. Lieu : OFPRA, 201 rue Carnot" in seen
    assert f"Convocation à un entretien : déposé dans l’espace le " \
           f"{long_date(made_available_at)}" in seen
    assert f"Ouvert, donc reçu, le {long_date(consulted_at)}" in seen
    html = page.content()
    assert TITLE not in html and "/espace/documents" not in html
    # Until here, no page logged anything (the 403s below are logged by the browser as such).
    watch.assert_clean(server.url)

    # The letter itself is refused to the worker, whichever way it is asked for.
    for suffix in ("", "/lettre.pdf", "/telecharger"):
        response = page.goto(f"/espace/documents/{document['id']}{suffix}")
        assert response is not None and response.status == 403
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Les structures d’accompagnement ne peuvent pas ouvrir les courriers")
        assert TITLE not in page.content()
    assert watch.page_errors == []
    assert watch.hosts() == {"127.0.0.1"}
