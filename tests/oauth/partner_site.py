"""A partner's website in miniature, asking OFPRA with the person present, as a real one would.

- `/` offers a button; `/start` makes `state` and a PKCE pair (S256), keeps them in this site's
  own session cookie, and sends the browser to OFPRA's /oauth/authorize.
- `/callback` checks `state` (cross-site request forgery) and `iss` (mix-up, RFC 9207), then
  exchanges the code at OFPRA's token endpoint with `private_key_jwt` (an ES256 assertion) and
  the PKCE verifier, asks the question with the person-bound token and shows the answer.

`serve(...)` runs it on a free loopback port in a thread, for the end-to-end tests (the
browser journey drives it with Chromium). Nothing here is OFPRA's code: only HTTP.

Its session cookie has its own name: cookies do not tell ports apart, and OFPRA's test server
runs on the same 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import html
import json
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from flask import Flask, redirect, request, session
from joserfc import jwk, jwt
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
PATHS = {"protection_status": "/v1/protection-status",
         "civil_status_progress": "/v1/civil-status-progress",
         "civil_status": "/v1/civil-status"}
# Loopback only: never through a proxy the environment may name.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class PartnerSite:
    """What the partner knows: its client id and private key, OFPRA's addresses, its scope."""

    client_id: str
    private_key: jwk.Key
    ofpra_url: str  # where OFPRA answers (its authorize, token and API endpoints)
    issuer: str  # OFPRA's issuer identifier: the assertion's aud, the expected `iss`
    scope: str = "protection_status"
    recipient: str = "77568406300016"
    url: str = ""  # this site's base URL, once it runs
    exchanges: list[dict[str, Any]] = field(default_factory=list)  # what /callback did

    @property
    def redirect_uri(self) -> str:
        return f"{self.url}/callback"


def _post(url: str, data: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    outgoing = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310 (loopback http URLs the test gives)
    try:
        with _OPENER.open(outgoing, timeout=10) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read() or b"null")


def client_assertion(site: PartnerSite) -> str:
    now = int(time.time())
    claims = {"iss": site.client_id, "sub": site.client_id, "aud": site.issuer, "iat": now,
              "exp": now + 60, "jti": secrets.token_urlsafe(16)}
    return jwt.encode({"alg": "ES256", "kid": site.private_key.kid}, claims, site.private_key)


def _page(title: str, body: str, status: int = 200) -> Response:
    text = (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}"
            f"</title></head><body><h1>{title}</h1>{body}</body></html>")
    return Response(text, status=status, mimetype="text/html")


def create_app(site: PartnerSite) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=secrets.token_urlsafe(32), SESSION_COOKIE_NAME="partner_site")

    @app.get("/")
    def home() -> Response:
        return _page("Partner website", '<p><a id="start" href="/start">Prove your status with '
                                        "Ofpra Connect</a></p>")

    @app.get("/start")
    def start() -> Response:
        state, verifier = secrets.token_urlsafe(16), secrets.token_urlsafe(48)
        session["oauth"] = {"state": state, "verifier": verifier}
        query = urllib.parse.urlencode({
            "response_type": "code", "client_id": site.client_id,
            "redirect_uri": site.redirect_uri, "scope": site.scope, "state": state,
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256"})
        return redirect(f"{site.ofpra_url}/oauth/authorize?{query}")

    @app.get("/callback")
    def callback() -> Response:
        kept = session.pop("oauth", None)
        if not kept or request.args.get("state") != kept["state"]:
            return _page("Refused", "<p id=\"problem\">state does not match</p>", 400)
        if request.args.get("iss") != site.issuer:
            return _page("Refused", "<p id=\"problem\">iss is not OFPRA's</p>", 400)
        if "error" in request.args:
            return _page("No answer", f"<p id=\"error\">{html.escape(request.args['error'])}"
                                      "</p>")
        status, token = _post(f"{site.ofpra_url}/oauth/token", urllib.parse.urlencode({
            "grant_type": "authorization_code", "code": request.args.get("code", ""),
            "redirect_uri": site.redirect_uri, "code_verifier": kept["verifier"],
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": client_assertion(site)}).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"})
        site.exchanges.append({"token_status": status, "token": token})
        if status != 200:
            return _page("Refused", f"<pre id=\"problem\">{html.escape(json.dumps(token))}"
                                    "</pre>", 502)
        status, answer = _post(f"{site.ofpra_url}{PATHS[site.scope]}",
                               json.dumps({"recipient": site.recipient}).encode(),
                               {"Content-Type": "application/json",
                                "Authorization": f"Bearer {token['access_token']}"})
        site.exchanges[-1].update(answer_status=status, answer=answer)
        return _page("Answer from OFPRA",
                     f"<p id=\"status\">{status}</p>"
                     f"<pre id=\"answer\">{html.escape(json.dumps(answer, sort_keys=True))}</pre>")

    return app


@contextlib.contextmanager
def serve(site: PartnerSite, host: str = "127.0.0.1") -> Iterator[PartnerSite]:
    """Run the site on a free port of `host` in a thread; `site.url` is set meanwhile."""
    server = make_server(host, 0, create_app(site), threaded=True)
    site.url = f"http://{host}:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, name="partner-site", daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
