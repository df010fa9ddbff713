"""One record everywhere: for every sandbox person and every question, the API's answer, the
personal space's page and the attestation's signed facts (and its PDF) say the same thing."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from flask import Flask
from flask_babel import force_locale

from app.attestations import api, document, payload, signing
from tests import factories
from tests.attestations.conftest import (
    PAGE,
    SANDBOX,
    account,
    csrf_token_of,
    fetch,
    sign_in,
    text_of,
)

ENTRIES = {entry["key"]: entry for entry in json.loads(SANDBOX.read_text())["people"]
           if not entry.get("lookup_only")}
PATHS = {"protection_status": "/v1/protection-status",
         "civil_status_progress": "/v1/civil-status-progress",
         "civil_status": "/v1/civil-status"}


class Items(HTMLParser):
    """The text of each <li> and <p> of an HTML fragment, whitespace collapsed."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.items: list[str] = []
        self._open = 0
        self._text: list[str] = []

    def handle_starttag(self, tag: str, _attrs: object) -> None:
        if tag in ("li", "p"):
            self._open, self._text = 1, []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("li", "p") and self._open:
            self.items.append(" ".join("".join(self._text).split()))
            self._open = 0

    def handle_data(self, data: str) -> None:
        if self._open:
            self._text.append(data)


def rendered(app: Flask, scope: str, record: object, language: str) -> str:
    """A record through the shared macro, in `language`."""
    with app.test_request_context("/"), force_locale(language):
        template = app.jinja_env.get_template("site/records.html")
        return str(template.module.record(scope, record))  # type: ignore[attr-defined]


def section(page: str, scope: str) -> str:
    match = re.search(rf'<section[^>]*aria-labelledby="record-{scope}">(.*?)</section>', page,
                      re.S)
    assert match, f"no section for {scope}"
    return match.group(1)


@pytest.mark.parametrize("key", list(ENTRIES))
def test_the_api_the_page_and_the_attestation_carry_the_same_facts(
        app, browser, db_session, mint, people, key) -> None:
    entry, person = ENTRIES[key], people[key]
    partner = factories.partner(db_session, {scope: False for scope in PATHS})
    sign_in(browser, account(db_session, person))
    db_session.commit()
    # The lookup the sandbox documents, or the person's own OFPRA number where it is
    # ambiguous on purpose.
    lookup = entry["lookup"] if entry["expected"]["protection_status"]["status"] == 200 \
        else {"ofpra_number": entry["ofpra_number"]}
    page = fetch(browser, PAGE)[1].decode()
    for scope, path in PATHS.items():
        answer = browser.post(path, json={**lookup, "recipient": factories.SIRET_CAF},
                              headers={"Authorization": f"Bearer {mint(partner.client_id, scope)}",
                                       "Accept": "application/json"})
        assert answer.status_code == 200, answer.json
        pdf = browser.post(f"{PAGE}/{scope}", data={"csrf_token": csrf_token_of(page)}).data
        (token,) = document.tokens_in(pdf)
        _kid, claims = signing.verify(token, app.extensions["ofpra.keys"].key_set("attestation"))
        terms, signed_scope, holder, record = payload.read(claims)
        assert signed_scope == scope and holder.birth_name == entry["birth_name"]
        # The API and the signed facts: the same record, field for field.
        assert api.RECORD_SCHEMAS[scope].dump(record) == answer.json, (key, scope)
        assert terms.issued_on.isoformat() == answer.json["as_of"]
        # The personal space shows that record through the shared macro.
        assert rendered(app, scope, record, "fr") in section(page, scope), (key, scope)
        # The PDF says it in French, line by line.
        parser = Items()
        parser.feed(rendered(app, scope, record, "fr"))
        text = text_of(pdf)
        for line in parser.items:
            assert " ".join(line.split()) in text, (key, scope, line)
