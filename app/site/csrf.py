"""Cross-site request forgery: a synchronizer token kept in the signed session cookie.

Every page form carries `csrf_token()`; every POST (PUT, PATCH, DELETE) to a blueprint whose
name starts with "site", or that `protect()` names, must send it back or is refused with a
400 page in plain words. The session also lives only 15 idle minutes: phones are shared.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

from flask import Blueprint, Flask, Request, current_app, request, session
from flask.blueprints import BlueprintSetupState
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from werkzeug.exceptions import BadRequest

FIELD = "csrf_token"
SESSION_KEY = "csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
EXTENSION = "ofpra.csrf_blueprints"


class CsrfRefused(BadRequest):
    """The form came without the token of this session (expired, or sent from elsewhere)."""


# Machine-to-machine routes: no cookie session is opened for them (a partner's call needs
# none, and reading and signing a cookie on every call is work on the hot path).
API_PREFIXES = ("/v1/", "/backoffice/", "/oauth/token", "/oauth/introspect", "/oauth/revoke",
                "/oauth/jwks", "/.well-known/", "/openapi.json")


class SessionInterface(SecureCookieSessionInterface):
    """The signed-cookie session, never refreshed on static files (which caches may share),
    never opened on the API (a null session there: writing to it is an error)."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(API_PREFIXES):
            return None  # Flask then uses a null session
        return super().open_session(app, request)

    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        return request.endpoint != "static" and super().should_set_cookie(app, session)


def csrf_token() -> str:
    """Return this session's token, creating it (and the session) on first use."""
    token = session.get(SESSION_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[SESSION_KEY] = token
    session.permanent = True
    return token


def protect(blueprint: Blueprint) -> None:
    """Check the token on every unsafe request to this blueprint (site* ones always are)."""

    def remember(state: BlueprintSetupState) -> None:
        state.app.extensions.setdefault(EXTENSION, set()).add(state.name)

    blueprint.record_once(remember)


def _protected() -> bool:
    named = current_app.extensions.get(EXTENSION, set())
    return any(name.startswith("site") or name in named for name in request.blueprints)


def check() -> None:
    """Refuse an unsafe request to a protected blueprint without this session's token.

    Raises CsrfRefused.
    """
    if request.method in SAFE_METHODS or not _protected():
        return
    expected = session.get(SESSION_KEY)
    given = request.form.get(FIELD, "")
    if not isinstance(expected, str) or not hmac.compare_digest(expected, given):
        raise CsrfRefused()


def init_app(app: Flask) -> None:
    # `make run` serves plain http on 127.0.0.1: a Secure cookie would be dropped there, so
    # Secure is off in development and tests only. In production the `__Host-` prefix also
    # pins the cookie to this host, over https, for the whole site.
    secure = app.config.get("ENV", "production") not in ("development", "test")
    app.config.update(
        SESSION_COOKIE_NAME="__Host-session" if secure else "session",
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_PATH="/",
        # Idle lifetime: each request refreshes it, 15 quiet minutes end the session.
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=15),
        SESSION_REFRESH_EACH_REQUEST=True,
    )
    app.session_interface = SessionInterface()
    app.before_request(check)
    app.jinja_env.globals["csrf_token"] = csrf_token
