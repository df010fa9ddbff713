"""Request scope: the request id, the database session, and RFC 9457 problem documents."""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask import Flask, Response, current_app, g, json, request
from sqlalchemy.orm import Session

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# Pages that need more (the personal space's assets) set their own policy.
DEFAULT_CSP = ("default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self'; "
               "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
PROBLEM_TYPE = "https://connect.ofpra.gouv.fr/problems/"


def session() -> Session:
    """Return this request's session (one per request, one commit point, in the view)."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["ofpra.db"].sessions()
    return g.db_session  # type: ignore[no-any-return]


def request_id() -> str:
    """Return the caller's X-Request-ID when well-formed, else one made for this request."""
    if "request_id" not in g:
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if REQUEST_ID.match(given) else str(uuid.uuid4())
    return g.request_id  # type: ignore[no-any-return]


def problem(status: int, code: str, title: str, detail: str | None = None,
            headers: dict[str, str] | None = None, **extra: Any) -> Response:
    """Return an RFC 9457 problem document with a stable `code`."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + code,
        "title": title,
        "status": status,
        "code": code,
    }
    if detail:
        body["detail"] = detail
    body["instance"] = f"urn:request:{request_id()}"
    body.update(extra)
    response = current_app.response_class(
        json.dumps(body), status=status, mimetype="application/problem+json"
    )
    response.headers.update(headers or {})
    return response


def init_app(app: Flask) -> None:
    @app.after_request
    def add_request_id(response: Response) -> Response:
        response.headers["X-Request-ID"] = request_id()
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("Content-Security-Policy", DEFAULT_CSP)
        return response

    @app.teardown_request
    def close_session(_exc: BaseException | None) -> None:
        db_session = g.pop("db_session", None)
        if db_session is not None:
            db_session.close()
