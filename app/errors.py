"""Feature exceptions become RFC 9457 problem documents here, and only here.

Each feature raises its own exceptions; `Problem` subclasses carry their HTTP rendering, and
`translate()` maps the feature exceptions that know nothing of HTTP.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, current_app
from werkzeug.exceptions import HTTPException

from app import web

log = logging.getLogger(__name__)


class Problem(Exception):
    """An error the API answers with a problem document."""

    status = 400
    code = "bad_request"
    title = "Bad request"

    def __init__(self, detail: str | None = None, *, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra

    def response(self) -> Response:
        return web.problem(self.status, self.code, self.title, self.detail, self.headers,
                           **self.extra)


class InvalidRequest(Problem):
    status = 422
    code = "invalid_request"
    title = "The request is not valid"


class Unauthenticated(Problem):
    status = 401
    code = "invalid_token"
    title = "A valid access token is required"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        super().__init__(detail, **kwargs)


class InsufficientScope(Problem):
    status = 403
    code = "insufficient_scope"
    title = "The access token does not grant this scope"


class NotFound(Problem):
    status = 404
    code = "not_found"
    title = "No person matches"


class Ambiguous(Problem):
    status = 409
    code = "ambiguous"
    title = "Several people match: give a stronger identifier"


class Unavailable(Problem):
    status = 503
    code = "unavailable"
    title = "The service cannot answer right now"


# HTTP errors raised by Flask, werkzeug or flask-smorest, with their stable codes.
HTTP_CODES = {
    400: "bad_request", 401: "invalid_token", 403: "forbidden", 404: "no_such_resource",
    405: "method_not_allowed", 406: "not_acceptable", 413: "too_large",
    415: "unsupported_media_type", 422: "invalid_request", 429: "rate_limited",
    500: "internal_error", 503: "unavailable",
}


def page(error: BaseException, status: int) -> Response | None:
    """Return the HTML page a person's browser gets for this error, or None (a problem).

    The personal space registers the renderer; machine paths always get problem documents.
    """
    render = current_app.extensions.get("ofpra.error_page")
    return render(error, status) if render is not None else None  # type: ignore[no-any-return]


def http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    html = page(error, status)
    if html is not None:
        return html
    data = getattr(error, "data", None) or {}
    extra: dict[str, Any] = {}
    errors = data.get("errors") or data.get("messages")
    if errors:
        # webargs nests by location ("json"); callers want the field names.
        extra["errors"] = errors.get("json", errors) if isinstance(errors, dict) else errors
    headers = dict(data.get("headers") or {})
    if error.response is not None:
        headers.update({k: v for k, v in error.response.headers.items()
                        if k.lower().startswith(("retry-after", "ratelimit", "www-authenticate"))})
    detail = data.get("message") or (error.description if status != 500 else None)
    title = "The request is not valid" if status == 422 else error.name
    return web.problem(status, HTTP_CODES.get(status, "error"), title, detail, headers, **extra)


def init_app(app: Flask) -> None:
    app.register_error_handler(Problem, lambda error: error.response())
    app.register_error_handler(HTTPException, http_exception)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        # The trace goes to the operator's log; the caller gets the request id to quote.
        log.exception("unhandled error on request %s", web.request_id())
        html = page(error, 500)
        if html is not None:
            return html
        return web.problem(500, "internal_error", "Internal error",
                           "Quote the request id to OFPRA support.")
