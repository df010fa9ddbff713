"""Filling the pages' forms as a browser does: the CSRF token read from the page itself."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.web.conftest import csrf_token_of


def page(browser: FlaskClient, url: str, **kwargs: Any) -> tuple[int, str]:
    """GET a page; return its status and text."""
    with browser.get(url, **kwargs) as response:
        return response.status_code, response.get_data(as_text=True)


def token(browser: FlaskClient, url: str) -> str:
    """Return the CSRF token of the form on the page at `url`."""
    status, body = page(browser, url)
    assert status == 200, f"{url} answered {status}"
    return csrf_token_of(body)


def submit(browser: FlaskClient, url: str, data: dict[str, Any], *,
           form_page: str | None = None, **kwargs: Any) -> TestResponse:
    """Open `form_page` (default: `url`), read its token, and POST `data` to `url`."""
    data = {"csrf_token": token(browser, form_page or url), **data}
    response = browser.post(url, data=data, **kwargs)
    response.close()
    return response


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def alerts(html: str) -> list[str]:
    """Return the texts of the alerts of a page (refusals, notices), tags removed."""
    found = re.findall(r'<div class="fr-alert[^"]*"[^>]*>(.*?)</div>', html, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in found]


def field_errors(html: str, name: str) -> list[str]:
    """Return the error texts tied to field `name` (by its `NAME-error` element)."""
    match = re.search(rf'<div id="{name}-error">(.*?)</div>', html, re.S)
    if not match:
        return []
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split())
            for item in re.findall(r'<p class="fr-error-text">(.*?)</p>', match.group(1), re.S)]
