"""What the browser journeys share: a person's first steps, and a watch on what the browser did.

`activate` and `sign_in` go through the pages as a person does (one plain form per step, no
script). `Watch` records every request the browser makes and every console message and page
error, so that a journey can end by checking that the browser stayed on the loopback address
and that OFPRA's pages logged nothing: no error, no Content-Security-Policy violation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Request, expect

from tests import live

# A password the pages accept: long, not common, no identifier in it.
PASSWORD = "un tram bleu passe le soir"


def demo_person(server: live.Live, key: str) -> dict[str, Any]:
    """The entry of instance/demo/people.json (`flask accounts demo`) for a sandbox person."""
    [entry] = [item for item in server.demo("people.json")["people"] if item["key"] == key]
    return entry


@dataclass
class Watch:
    """What a browser context did: requests, console messages, uncaught page errors."""

    requests: list[str] = field(default_factory=list)
    console: list[tuple[str, str, str]] = field(default_factory=list)  # (type, text, page URL)
    page_errors: list[str] = field(default_factory=list)

    @classmethod
    def on(cls, context: BrowserContext) -> Watch:
        watch = cls()
        context.on("request", watch._request)
        context.on("console", watch._console)
        context.on("weberror", lambda error: watch.page_errors.append(str(error.error)))
        return watch

    def _request(self, request: Request) -> None:
        self.requests.append(request.url)

    def _console(self, message: ConsoleMessage) -> None:
        where = message.page.url if message.page else ""
        self.console.append((message.type, message.text, where))

    def hosts(self) -> set[str]:
        return {urlsplit(url).hostname or url for url in self.requests}

    def problems_on(self, origin: str) -> list[tuple[str, str, str]]:
        """Console errors and warnings (CSP reports included) logged by pages of `origin`."""
        return [item for item in self.console
                if item[2].startswith(origin + "/")
                and (item[0] in ("error", "warning")
                     or "Content Security Policy" in item[1])]

    def assert_clean(self, ofpra_url: str) -> None:
        assert self.requests, "the browser made no request at all"
        assert self.hosts() == {"127.0.0.1"}, sorted(self.requests)
        assert self.problems_on(ofpra_url) == []
        assert self.page_errors == []


def activate(page: Page, identifier: str, connection_key: str,
             password: str = PASSWORD) -> None:
    """/activate to "Your space is ready": key, password, no contact, French."""
    page.goto("/activate")
    expect(page.get_by_role("heading", level=1)).to_have_text("Activer votre espace personnel")
    main = page.locator("main")
    main.get_by_label("Numéro AGDREF ou numéro OFPRA").fill(identifier)
    main.get_by_label("Clé de connexion").fill(connection_key)
    main.get_by_role("button", name="Continuer").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Créez votre mot de passe")
    expect(main.get_by_text("Étape 2 sur 5")).to_be_visible()
    main.get_by_label("Nouveau mot de passe", exact=True).fill(password)
    main.get_by_label("Nouveau mot de passe, encore une fois").fill(password)
    main.get_by_role("button", name="Enregistrer mon mot de passe").click()

    expect(main.get_by_text("Étape 3 sur 5")).to_be_visible()
    main.get_by_role("button", name="Passer cette étape").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Choisissez votre langue")
    main.get_by_role("button", name="Français").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Votre espace personnel est prêt")
    expect(main.get_by_text("Étape 5 sur 5")).to_be_visible()


def sign_out(page: Page) -> None:
    page.locator("main").get_by_role("button", name="Me déconnecter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Connectez-vous à votre espace personnel")
    expect(page.get_by_role("status")).to_contain_text("Vous êtes déconnecté")


def sign_in(page: Page, identifier: str, password: str = PASSWORD) -> None:
    """Fill the sign-in form the page shows (the browser is already on /signin)."""
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Connectez-vous à votre espace personnel")
    main = page.locator("main")
    main.get_by_label("Numéro AGDREF ou numéro OFPRA").fill(identifier)
    main.get_by_label("Mot de passe", exact=True).fill(password)
    main.get_by_role("button", name="Se connecter").click()
