"""What every page of the personal space shares: its headers, its error pages, safe redirects."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Response, current_app, render_template, request
from flask_babel import gettext
from werkzeug.exceptions import HTTPException

from app import web
from app.site import csrf

log = logging.getLogger(__name__)

# No script, no inline style, nothing from elsewhere: only our own vendored CSS, fonts, icons.
# `data:` images are DSFR's own (the Marianne logo, form arrows).
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
# Paths that answer machines: their errors stay RFC 9457 problem documents.
MACHINE_PREFIXES = ("/v1", "/oauth", "/.well-known", "/openapi.json", "/static")


def secure_headers(response: Response) -> Response:
    """Give a page the strict policy (app.web only sets a default if none is there)."""
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Cache-Control"] = "no-store"
    response.vary.update(("Cookie", "Accept-Language"))
    return response


def is_page_path(path: str) -> bool:
    """Return True if a path belongs to the pages people read, not to the machine API."""
    return not any(path == prefix or path.startswith(prefix.rstrip("/") + "/")
                   for prefix in MACHINE_PREFIXES)


def wants_page() -> bool:
    """Return True if this request is a person's browser asking for a page.

    Clients that accept anything (`*/*`: curl, requests) get problem documents.
    """
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return is_page_path(request.path) and best == "text/html"


def safe_next(target: str | None, default: str) -> str:
    """Return `target` if it is a path on this site, else `default` (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def _texts(status: int) -> tuple[str, str]:
    if status == 404:
        return (gettext("This page does not exist"),
                gettext("The address may be wrong, or the page has moved. "
                        "Check the address, or go back to the home page."))
    if status == 405:
        return (gettext("This action is not possible here"),
                gettext("Go back to the home page and try again."))
    if status == 400:
        return (gettext("We could not understand the request"),
                gettext("Go back to the previous page and try again."))
    return (gettext("Sorry, something went wrong on our side"),
            gettext("It is not your fault. Please try again in a few minutes. "
                    "If it happens again, contact OFPRA and give them this number:"))


def error_page(error: BaseException, status: int) -> Response | None:
    """Return an HTML error page for a person's browser on a page path, else None.

    A refused form (CSRF) always gets its page: only page forms are checked. Returns None if
    the page itself cannot be rendered, so the caller falls back to a problem document.
    """
    refused_form = isinstance(error, csrf.CsrfRefused)
    if not refused_form and not wants_page():
        return None
    if refused_form:
        title = gettext("This form has expired")
        detail = gettext("For your safety, forms stop working after 15 minutes without "
                         "activity. Go back, reload the page, and try again.")
    else:
        title, detail = _texts(status)
    try:
        body = render_template("site/error.html", status=status, title=title, detail=detail,
                               # The request id the person can quote to OFPRA.
                               request_id=web.request_id() if status >= 500 else None)
    except Exception:  # the problem document is the fallback
        log.exception("could not render the error page")
        return None
    response = current_app.response_class(body, status=status, mimetype="text/html")
    if isinstance(error, HTTPException) and error.response is None and status == 405:
        valid = getattr(error, "valid_methods", None)
        if valid:
            response.headers["Allow"] = ", ".join(valid)
    return secure_headers(response)
