"""Page tests: a browser's Accept header and helpers to read forms."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"



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
