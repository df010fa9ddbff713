"""Ofpra Connect: OFPRA answers partner administrations about the people it protects."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from app import config as settings


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the application; refuse to start if the configuration is unsafe."""
    config = settings.load(overrides)
    app = Flask(__name__, instance_path=config["INSTANCE_PATH"])
    app.config.update(config)
    logging.basicConfig(level=app.config.get("LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # Alembic announces each of its plugins at INFO on every command: noise for operators.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

    from app import cli, db, errors, web
    from app.oauth import keys
    from app.vault import storage

    app.extensions["ofpra.db"] = db.Database(app.config["DATABASE_URL"])
    app.extensions["ofpra.vault"] = storage.from_app_config(app.config)
    app.extensions["ofpra.keys"] = keys.KeyStore(
        app.config["KEYS_DIR"], generate=app.config["ENV"] != "production"
    )
    web.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    _register_features(app)
    return app


def _register_features(app: Flask) -> None:
    from app import api, i18n, ratelimit, site
    from app.accounts import cli as accounts_cli
    from app.accounts import views as accounts_views
    from app.consents import api as consents_api
    from app.consents import cli as consents_cli
    from app.consents import display as consents_display
    from app.consents import views as consents_views
    from app.journal import cli as journal_cli
    from app.journal import views as journal_views
    from app.notify import cli as notify_cli
    from app.oauth import server as oauth_server
    from app.oauth import tokens
    from app.partners import api as partners_api
    from app.partners import cli as partners_cli
    from app.partners import directory
    from app.people import cli as people_cli

    app.extensions["ofpra.directory"] = directory.Directory(
        app.extensions["ofpra.db"], app.config["PARTNER_CACHE_SECONDS"]
    )
    tokens.init_app(app)
    ratelimit.init_app(app)
    api.init_app(app)
    api.register(app, partners_api.blp)
    api.register(app, consents_api.blp)
    i18n.init_app(app)
    site.init_app(app)
    accounts_views.init_app(app)
    consents_display.init_app(app)
    app.register_blueprint(consents_views.bp)
    app.register_blueprint(journal_views.bp)
    people_cli.init_app(app)
    accounts_cli.init_app(app)
    journal_cli.init_app(app)
    notify_cli.init_app(app)
    consents_cli.init_app(app)
    oauth_server.init_app(app)
    partners_cli.init_app(app)

    # Attestations: the personal space's downloads, /verify, their keys and revocation list.
    from app import attestations

    attestations.init_app(app)

    # The person's documents, deemed notification and post; support structures' pages.
    from app.support import cli as support_cli
    from app.support import views as support_views
    from app.vault import cli as vault_cli
    from app.vault import views as vault_views

    app.register_blueprint(vault_views.bp)
    support_views.init_app(app)
    vault_cli.init_app(app)
    support_cli.init_app(app)

    # OFPRA's back office (/backoffice/v1): people, deposits, acknowledgements.
    from app.backoffice import api as backoffice_api

    backoffice_api.init_app(app)
