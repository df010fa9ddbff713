"""The partner's website and OFPRA over real sockets: the whole person-present journey."""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import date
from html import unescape

import pytest
import requests
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from app.journal.models import JournalEntry
from consent.models import Consent
from tests import factories
from tests.oauth import partner_site
from tests.oauth.flow import account_for


@contextlib.contextmanager
def live(app: Flask) -> Iterator[str]:
    """OFPRA served in a thread (one request at a time), in the test's rolled-back transaction."""
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, name="ofpra", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture()
def journey(app, db_session, partner_keys):  # type: ignore[no-untyped-def]
    """A running OFPRA, a running partner site registered with it, a signed-in browser."""
    person = factories.person(db_session, protections=[("refugee", date(2021, 3, 2), None)])
    account = account_for(db_session, person)
    partner = factories.partner(db_session, {"protection_status": True},
                                key=partner_keys["ES256"])
    db_session.commit()
    with live(app) as ofpra_url:
        site = partner_site.PartnerSite(partner.client_id, partner_keys["ES256"], ofpra_url,
                                        app.config["OAUTH_ISSUER"])
        with partner_site.serve(site):
            partner.redirect_uris = [site.redirect_uri]
            db_session.commit()
            browser = requests.Session()
            browser.trust_env = False  # loopback only, never a proxy
            # Signed in, as the sign-in pages would leave the browser.
            cookie = app.session_interface.get_signing_serializer(app).dumps(
                {"account_id": account.id, "generation": 0, "seen": int(time.time())})
            browser.cookies.set(app.config["SESSION_COOKIE_NAME"], cookie, domain="127.0.0.1")
            with browser:
                yield site, browser, person


def consent_form(page: requests.Response) -> dict[str, str]:
    form = page.text.split('action="/oauth/authorize/decision"')[1].split("</form>")[0]
    return {name: unescape(value)
            for name, value in re.findall(r'name="(csrf_token|request)" value="([^"]*)"', form)}


def test_the_partner_site_gets_its_answer_with_the_persons_consent(db_session, journey):
    site, browser, person = journey
    page = browser.get(f"{site.url}/start", timeout=10)
    assert page.status_code == 200
    assert page.url.startswith(f"{site.ofpra_url}/oauth/authorize?")
    assert "Test partner" in page.text

    answer = browser.post(f"{site.ofpra_url}/oauth/authorize/decision", timeout=10,
                          data={**consent_form(page), "decision": "accept"})
    assert answer.url.startswith(f"{site.redirect_uri}?code=")
    assert answer.history[0].status_code == 303
    assert answer.status_code == 200, answer.text
    assert re.search(r'<p id="status">200</p>', answer.text)
    shown = json.loads(unescape(re.search(r'<pre id="answer">(.*)</pre>', answer.text)[1]))
    assert (shown["protected"], shown["protection"], shown["protected_since"]) == \
        (True, "refugee", "2021-03-02")
    [exchange] = site.exchanges
    assert exchange["token"]["scope"] == "protection_status"

    [consent] = db_session.scalars(select(Consent)).all()
    [entry] = db_session.scalars(select(JournalEntry)).all()
    assert (entry.person_id, entry.consent_id, entry.outcome) == (person.id, consent.id, "found")


def test_the_partner_site_is_told_when_the_person_declines(db_session, journey):
    site, browser, _person = journey
    page = browser.get(f"{site.url}/start", timeout=10)
    answer = browser.post(f"{site.ofpra_url}/oauth/authorize/decision", timeout=10,
                          data={**consent_form(page), "decision": "decline"})
    assert answer.status_code == 200
    assert '<p id="error">access_denied</p>' in answer.text
    assert site.exchanges == []
    assert db_session.scalars(select(Consent)).all() == []
