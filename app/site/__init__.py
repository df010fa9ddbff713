"""The personal space's web edge: server-rendered pages, DSFR, no JavaScript.

Feature blueprints whose name starts with "site" (`site_vault`, …) get the CSRF check; they
call `pages.secure_headers` after each request for the strict Content-Security-Policy, extend
`site/base.html`, and put every text through Flask-Babel.
"""

from __future__ import annotations

from flask import Flask

from app.site import assets, csrf, pages, views


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    assets.init_app(app)
    app.extensions["ofpra.error_page"] = pages.error_page
    app.register_blueprint(views.bp)
