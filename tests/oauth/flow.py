"""The person-present flow as a partner's website and a person's browser go through it."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from sqlalchemy.orm import Session

from app.accounts.models import Account
from tests.oauth.conftest import ASSERTION_TYPE

REDIRECT_URI = "https://partner.example/ofpra/callback"
STATE = "state-4f1c9a"


def pkce() -> tuple[str, str]:
    """A fresh code verifier (RFC 7636: 43 to 128 characters) and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    return verifier, create_s256_code_challenge(verifier)


def authorize_path(client_id: str | None, challenge: str | None = None,
                   **overrides: Any) -> str:
    """/oauth/authorize?… as the partner's website builds it; a parameter given None is left out.

    `overrides` may name any parameter, `client_id` and `code_challenge` included.
    """
    params: dict[str, Any] = {"response_type": "code", "client_id": client_id,
                              "redirect_uri": REDIRECT_URI, "scope": "protection_status",
                              "state": STATE, "code_challenge": challenge,
                              "code_challenge_method": "S256"}
    params.update(overrides)
    return "/oauth/authorize?" + urlencode({k: v for k, v in params.items() if v is not None})


def account_for(db_session: Session, person: Any) -> Account:
    account = Account(person_id=person.id, password_hash="not-a-real-hash")
    db_session.add(account)
    db_session.flush()
    return account


def sign_in(client: Any, account: Account) -> None:
    with client.session_transaction() as session:
        session.update(account_id=account.id, generation=0, seen=int(time.time()))


def hidden(html: str, name: str) -> str:
    match = re.search(rf'<form method="post" action="/oauth/authorize/decision">.*?'
                      rf'name="{name}" value="([^"]+)"', html, re.S)
    assert match, f"the consent form has no {name}"
    return match.group(1)


def decide(client: Any, consent_page: Any, decision: str = "accept") -> Any:
    html = consent_page.get_data(as_text=True)
    return client.post("/oauth/authorize/decision", data={
        "csrf_token": hidden(html, "csrf_token"), "request": hidden(html, "request"),
        "decision": decision})


def redirected(response: Any) -> tuple[str, dict[str, str]]:
    """The redirect's target (without query) and its query parameters, each given once."""
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    parts = urlsplit(response.headers["Location"])
    params = parse_qs(parts.query, keep_blank_values=True)
    assert all(len(values) == 1 for values in params.values()), params
    return (f"{parts.scheme}://{parts.netloc}{parts.path}",
            {name: values[0] for name, values in params.items()})


def exchange(client: Any, client_assertion: str, code: str, verifier: str | None,
             redirect_uri: str | None = REDIRECT_URI, **form: str) -> Any:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "code_verifier": verifier, "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": client_assertion, **form}
    return client.post("/oauth/token", data={k: v for k, v in data.items() if v is not None})
