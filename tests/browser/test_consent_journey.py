"""A person's consent, end to end, in a real browser and with the partner's real client.

The person activates their space with the demo notice, signs out and in, gives the demo
transport authority their consent for its question, and the example partner client
(docs/examples/ask_ofpra.py) gets its answer; the person withdraws, and the very next call is
refused — also with the access token the partner got while the consent was in force. The
person then reads both in "Who looked at my information". Texts are checked as they read, in
French.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from babel import dates as babel_dates
from playwright.sync_api import Page, expect

from tests import live
from tests.browser import journeys

EXAMPLE = live.ROOT / "docs" / "examples" / "ask_ofpra.py"
PARIS = ZoneInfo("Europe/Paris")
PERSON = "refugee-active"  # sandbox/people.json: OFPRA 900000000001, a refugee since 2021
OFPRA_NUMBER = "900000000001"
TRANSPORT = "Régie des transports de l'agglomération (démo)"
ANSWERED = "Elle a reçu la réponse."
REFUSED = "Refusé : vous n’aviez pas donné votre consentement. Elle n’a rien reçu."
# Loopback only: never through a proxy the environment may name.
NO_PROXY_ENV = {name: value for name, value in os.environ.items()
                if name.lower() not in ("http_proxy", "https_proxy", "all_proxy")}


def example_client() -> ModuleType:
    """docs/examples/ask_ofpra.py as a module: its `access_token` and `post` helpers."""
    spec = importlib.util.spec_from_file_location("ask_ofpra", EXAMPLE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ask(credentials: Path) -> dict[str, Any]:
    """The partner's side as docs/partners.md shows it: the example client, in its process."""
    run = subprocess.run([sys.executable, EXAMPLE, credentials, "protection-status",
                          "--ofpra-number", OFPRA_NUMBER], cwd=live.ROOT, env=NO_PROXY_ENV,
                         capture_output=True, text=True, timeout=30)
    if not run.stdout:
        pytest.fail(f"the example client said nothing: {run.stderr}")
    answer: dict[str, Any] = json.loads(run.stdout)
    assert run.returncode == (0 if answer["status"] == 200 else 1), run.stderr
    return answer


def plain(text: str) -> str:
    """Text as read: non-breaking spaces and runs of white space as one space."""
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ").replace("\u202f", " ")).strip()


def in_a_month() -> set[str]:
    """The end of a one-month consent given now, as the page writes it (around midnight: 2)."""
    now = datetime.now(PARIS)
    return {babel_dates.format_date((moment + timedelta(days=30)).date(), "long", locale="fr")
            for moment in (now, now + timedelta(minutes=1))}


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def test_consent_given_then_withdrawn_bites_at_once_and_the_person_sees_both(
        page: Page, server: live.Live) -> None:
    watch = journeys.Watch.on(page.context)
    person = journeys.demo_person(server, PERSON)
    assert person["identifier"] == OFPRA_NUMBER
    credentials = server.instance / "demo" / "partners" / "transport.json"
    transport = json.loads(credentials.read_text())
    main = page.locator("main")

    # Activation, then out and in again as on any later day.
    journeys.activate(page, person["identifier"], person["connection_key"])
    main.get_by_role("link", name="Aller à mon espace").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon espace personnel")
    journeys.sign_out(page)
    journeys.sign_in(page, person["identifier"])
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon espace personnel")

    # My consents, by the space's link: the transport authority may ask, the person decides.
    main.get_by_role("link", name=re.compile("^Mes consentements")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes consentements")
    offer = main.locator("section").filter(
        has=page.get_by_role("heading", level=3, name=TRANSPORT, exact=True))
    expect(offer).to_have_count(1)
    expect(offer).to_contain_text("Transports publics")
    expect(offer).to_contain_text("Votre statut de protection")
    expect(offer).to_contain_text("Ce qu’elle apprendrait :")
    expect(offer).to_contain_text(re.compile(r"Protection\s:\soui — statut de réfugié depuis "
                                             r"le 2\smars\s2021"))
    durations = offer.get_by_role("button", name=re.compile("^Oui, pour"))
    expect(durations).to_have_count(4)
    shortest = durations.first
    expect(shortest).to_contain_text("Oui, pour 1 mois")
    # Before any consent, the partner is refused.
    refused_before = ask(credentials)
    assert (refused_before["status"], refused_before["body"]["code"]) == \
        (403, "consent_required")

    shortest.click()
    expect(page.get_by_role("status")).to_contain_text(
        "Merci. Votre consentement est enregistré.")
    agreed = plain(offer.get_by_text("Vous avez dit oui, jusqu’au").inner_text())
    assert agreed.removeprefix("Vous avez dit oui, jusqu’au ").removesuffix(".") in in_a_month()
    in_force = main.locator("li[id^=consentement-]")
    expect(in_force).to_have_count(1)
    expect(in_force).to_contain_text(TRANSPORT)
    expect(in_force).to_contain_text("par vous, dans cet espace")

    # The partner, for real: a token of its own and its question. 200, protected.
    client = example_client()
    token = client.access_token(transport, "protection_status")  # one token, kept
    answered = ask(credentials)  # its own new token
    assert answered["status"] == 200
    assert (answered["body"]["protected"], answered["body"]["protection"]) == (True, "refugee")

    def with_kept_token() -> dict[str, Any]:
        body = json.dumps({"ofpra_number": OFPRA_NUMBER, "recipient": transport["siret"]})
        return dict(client.post(f"{transport['api_base']}/protection-status", body.encode(),
                                "application/json", token))

    assert with_kept_token()["body"]["protected"] is True

    # Withdrawing is one step.
    offer.get_by_role("button", name=re.compile("^Arrêter le partage")).click()
    expect(page.get_by_role("status")).to_contain_text("Votre consentement est retiré.")
    expect(offer.get_by_role("button", name=re.compile("^Oui, pour"))).to_have_count(4)
    withdrawn = main.locator("li[id^=consentement-]")
    expect(withdrawn).to_contain_text("Retiré le")
    expect(withdrawn.get_by_role("button")).to_have_count(0)

    # The very next call is refused: with the token that still lives, and with a new one.
    refused = with_kept_token()
    assert (refused["status"], refused["body"]["code"]) == (403, "consent_required")
    assert "protected" not in refused["body"]
    refused = ask(credentials)
    assert (refused["status"], refused["body"]["code"]) == (403, "consent_required")

    # Who looked at my information: every call, newest first, with the partner's name.
    main.get_by_role("link", name="Mon espace").click()
    main.get_by_role("link", name="Qui a consulté mes informations").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Qui a consulté mes informations")
    entries = main.locator("ol > li")
    expect(entries).to_have_count(5)
    expect(main).to_contain_text("Demandes vous concernant : 5 au total. Les plus récentes "
                                 "sont en premier.")
    read = [(plain(entry.get_by_role("heading").inner_text()),
             plain(entry.locator("p").inner_text()),
             entry.locator("time").get_attribute("datetime") or "")
            for entry in entries.all()]
    assert [name for name, _text, _at in read] == [TRANSPORT] * 5
    for _name, text, _at in read:
        assert "Sa question : Votre statut de protection (réfugié, protection subsidiaire, " \
               "apatride)" in text
    outcomes = [ANSWERED if ANSWERED in text else REFUSED if REFUSED in text else text
                for _name, text, _at in read]
    assert outcomes == [REFUSED, REFUSED, ANSWERED, ANSWERED, REFUSED]
    moments = [at for _name, _text, at in read]
    assert moments == sorted(moments, reverse=True)
    for _name, text, _at in read:
        if ANSWERED in text:
            assert "Autorisé par : votre consentement du " in text
        else:
            assert "Autorisé par : rien : la réponse a été refusée." in text
    # The answered calls name the consent, a link to it on the consent page.
    consent_links = main.get_by_role("link", name=re.compile("^votre consentement du"))
    expect(consent_links).to_have_count(2)
    anchor = consent_links.first.get_attribute("href") or ""
    assert re.fullmatch(r"/espace/consentements#consentement-[\w-]+", anchor), anchor

    watch.assert_clean(server.url)
