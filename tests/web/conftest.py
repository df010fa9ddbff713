"""Page tests: the translation catalogues are compiled first, as `make translations` does."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

TRANSLATIONS = Path(__file__).resolve().parents[2] / "app" / "translations"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogues() -> None:
    """Build the .mo files that are missing or older than their .po (pytest run directly)."""
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalog = read_po(source, locale=po.parts[-3])
        with mo.open("wb") as target:
            write_mo(target, catalog)


@pytest.fixture()
def browser(client: FlaskClient) -> FlaskClient:
    """The test client, sending the Accept header of a person's browser."""
    client.environ_base["HTTP_ACCEPT"] = BROWSER
    return client


def fetch(client: FlaskClient, url: str, **kwargs) -> tuple[int, bytes, dict[str, str]]:  # type: ignore[no-untyped-def]
    """GET url; return status, body and headers, with the response closed (files too)."""
    with client.get(url, **kwargs) as response:
        return response.status_code, response.get_data(), dict(response.headers)


def csrf_token_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


@pytest.fixture()
def token(browser: FlaskClient) -> Iterator[str]:
    """The CSRF token of the browser's session, as the home page hands it out."""
    _status, body, _headers = fetch(browser, "/")
    yield csrf_token_of(body.decode())
