"""The person present on a partner's website: the authorization code flow, in a real browser.

A small partner website (tests/oauth/partner_site.py: PKCE S256, `state` and `iss` checked,
`private_key_jwt` at the token endpoint) runs in a thread next to the live OFPRA; it is
registered as `make run`'s operator would, with `flask partners add --redirect-uri`. Chromium
goes from the partner's button to OFPRA, signs in, reads the consent screen and accepts — or
declines — and lands back on the partner's page, which shows what it got.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwk
from playwright.sync_api import Browser, Page, expect

from tests import live
from tests.browser import journeys
from tests.browser.conftest import STEP_MS
from tests.oauth import partner_site

PARTNER = "Site partenaire de test"
CLIENT_ID = "test-partner-site"


@pytest.fixture(scope="module")
def site(server: live.Live, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[partner_site.PartnerSite]:
    """The partner's website, running, and registered at OFPRA with its key and redirect URI.

    Registered before anyone calls the API in this module, so no worker's partner cache can
    miss it.
    """
    key = jwk.ECKey.generate_key("P-256", parameters={"alg": "ES256", "use": "sig"})
    key.ensure_kid()
    public = tmp_path_factory.mktemp("partner") / "public.jwk"
    public.write_text(json.dumps(key.as_dict(private=False)))
    running = partner_site.PartnerSite(CLIENT_ID, key, ofpra_url=server.url, issuer=server.url)
    with partner_site.serve(running):
        said = server.flask(
            "partners", "add", "--name", PARTNER, "--siret", "77568406300016",
            "--kind", "transport", "--scope", "protection_status:consent",
            "--legal-basis", "Code des transports, art. L. 1113-1",
            "--legal-basis-url", "https://www.legifrance.gouv.fr/codes/texte_lc/"
                                 "LEGITEXT000023086525",
            "--purpose", "Tarif réduit des transports, la personne présente sur notre site.",
            "--retention-days", "30", "--redirect-uri", running.redirect_uri,
            "--client-id", CLIENT_ID, "--jwk", str(public))
        assert f"redirect URI {running.redirect_uri}" in said
        yield running


def activated(browser: Browser, server: live.Live, person_key: str) -> str:
    """Activate a sandbox person's space in a browser of its own; return their identifier."""
    person = journeys.demo_person(server, person_key)
    context = browser.new_context(base_url=server.url, locale="fr-FR")
    context.set_default_timeout(STEP_MS)
    try:
        watch = journeys.Watch.on(context)
        journeys.activate(context.new_page(), person["identifier"], person["connection_key"])
        watch.assert_clean(server.url)
    finally:
        context.close()
    return str(person["identifier"])


def to_the_consent_screen(page: Page, site: partner_site.PartnerSite, identifier: str) -> None:
    """From the partner's page to OFPRA's consent screen, signing in on the way."""
    page.goto(site.url)
    page.get_by_role("link", name="Prove your status with Ofpra Connect").click()
    page.wait_for_url(re.compile("^" + re.escape(site.ofpra_url) + r"/signin\?next="))
    journeys.sign_in(page, identifier)
    page.wait_for_url(re.compile("^" + re.escape(site.ofpra_url) + r"/oauth/authorize\?"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"{PARTNER} demande à connaître des informations sur vous")
    expect(page).to_have_title(re.compile(f"^Partager vos informations avec {PARTNER}"))


def callback_query(watch: journeys.Watch, site: partner_site.PartnerSite) -> dict[str, list[str]]:
    [callback] = [url for url in watch.requests if url.startswith(site.redirect_uri + "?")]
    return parse_qs(urlsplit(callback).query)


def test_the_person_accepts_and_the_partner_site_gets_its_answer(
        page: Page, browser: Browser, server: live.Live, site: partner_site.PartnerSite) -> None:
    identifier = activated(browser, server, "refugee-active")
    watch = journeys.Watch.on(page.context)
    exchanges = len(site.exchanges)
    to_the_consent_screen(page, site, identifier)

    main = page.locator("main")
    told = main.get_by_role("heading", level=2, name=f"Ce qui sera dit à {PARTNER}")
    expect(told).to_be_visible()
    expect(main).to_contain_text("Votre statut de protection (réfugié, protection subsidiaire, "
                                 "apatride)")
    expect(main.get_by_role("listitem").filter(has_text="Protection")).to_have_text(
        re.compile(r"Protection\s:\soui — statut de réfugié depuis le 2\smars\s2021"))
    expect(main).to_contain_text("Tarif réduit des transports, la personne présente sur notre "
                                 "site.")
    expect(main.get_by_role("link", name="Code des transports, art. L. 1113-1")).to_be_visible()
    expect(main).to_contain_text("Votre consentement dure un jour, jusqu'au")
    expect(main).to_contain_text("Si vous refusez, rien n'est partagé et rien n'est enregistré.")

    main.get_by_role("button", name="Accepter et partager").click()
    page.wait_for_url(re.compile("^" + re.escape(site.redirect_uri) + r"\?"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Answer from OFPRA")
    expect(page.locator("#status")).to_have_text("200")
    shown = json.loads(page.locator("#answer").inner_text())
    assert (shown["protected"], shown["protection"], shown["protected_since"]) == \
        (True, "refugee", "2021-03-02")

    # The code came back with OFPRA's issuer, which the site checked before using the code.
    query = callback_query(watch, site)
    assert query["iss"] == [server.url]
    assert set(query) == {"code", "state", "iss"}
    [exchange] = site.exchanges[exchanges:]
    assert exchange["token_status"] == 200
    assert exchange["token"]["scope"] == "protection_status"
    assert exchange["answer_status"] == 200

    # Back in the space: the consent given on the partner's website, and the partner's call.
    page.goto(f"{server.url}/espace")
    main.get_by_role("link", name=re.compile("^Mes consentements")).click()
    given = main.locator("li[id^=consentement-]")
    expect(given).to_have_count(1)
    expect(given).to_contain_text(PARTNER)
    expect(given).to_contain_text("par vous, sur le site de l’administration")
    main.get_by_role("link", name="Mon espace").click()
    main.get_by_role("link", name="Qui a consulté mes informations").click()
    entries = main.locator("ol > li")
    expect(entries).to_have_count(1)
    expect(entries.get_by_role("heading")).to_have_text(PARTNER)
    expect(entries).to_contain_text("Résultat : Elle a reçu la réponse.")
    expect(entries).to_contain_text("Autorisé par : votre consentement du")

    watch.assert_clean(server.url)


def test_the_person_declines_and_the_partner_site_is_told_access_denied(
        page: Page, browser: Browser, server: live.Live, site: partner_site.PartnerSite) -> None:
    identifier = activated(browser, server, "subsidiary-beyond-delay")
    watch = journeys.Watch.on(page.context)
    exchanges = len(site.exchanges)
    to_the_consent_screen(page, site, identifier)
    main = page.locator("main")
    expect(main.get_by_role("listitem").filter(has_text="Protection")).to_have_text(
        re.compile(r"Protection\s:\soui — protection subsidiaire depuis le 20\sjuin\s2023"))

    main.get_by_role("button", name="Refuser").click()
    page.wait_for_url(re.compile("^" + re.escape(site.redirect_uri) + r"\?"))
    expect(page.get_by_role("heading", level=1)).to_have_text("No answer")
    expect(page.locator("#error")).to_have_text("access_denied")
    query = callback_query(watch, site)
    assert query["iss"] == [server.url]
    assert query["error"] == ["access_denied"]
    assert "code" not in query
    assert site.exchanges[exchanges:] == []  # no code, so no token and no question

    # Declining recorded nothing.
    page.goto(f"{server.url}/espace")
    main.get_by_role("link", name=re.compile("^Mes consentements")).click()
    expect(main).to_contain_text("Vous n’avez donné aucun consentement.")
    expect(main.locator("li[id^=consentement-]")).to_have_count(0)

    watch.assert_clean(server.url)

