"""The pages anyone can read, and the language switcher."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from app import i18n
from app.site import pages

YEAR = 365 * 24 * 3600

bp = Blueprint("site", __name__)
bp.after_request(pages.secure_headers)


@bp.get("/")
def home() -> str:
    return render_template("site/home.html")


@bp.post("/language")
def language() -> Response:
    """Remember the language chosen, then go back to the page the person was on."""
    chosen = i18n.supported(request.form.get("lang"))
    back = pages.safe_next(request.form.get("next"), url_for("site.home"))
    response = redirect(back, code=303)
    if chosen:
        response.set_cookie(i18n.COOKIE, chosen, max_age=YEAR, path="/", httponly=True,
                            samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


@bp.get("/accessibilite")
def accessibility() -> str:
    return render_template("site/accessibility.html")


@bp.get("/mentions-legales")
def legal() -> str:
    return render_template("site/legal.html")
