"""Records as signed attestations (PDF + QR), their revocation, and the public verifier.

`init_app` sets the feature's settings (from the environment, unless the app's overrides give
them) and registers its pages, its machine endpoints and its command.
"""

from __future__ import annotations

import os

from flask import Flask


def init_app(app: Flask) -> None:
    from app import api
    from app.attestations import api as attestations_api
    from app.attestations import cli, views

    # Days an attestation stays valid after the day it is issued.
    app.config.setdefault("ATTESTATION_VALIDITY_DAYS",
                          int(os.environ.get("ATTESTATION_VALIDITY_DAYS", "90")))
    # Offline verifiers fetch a new revocation list by then (its `next_update`).
    app.config.setdefault("ATTESTATION_REVOCATION_LIST_HOURS",
                          float(os.environ.get("ATTESTATION_REVOCATION_LIST_HOURS", "24")))
    # The `iss` of attestations: where OFPRA's service is, and so where they are checked.
    app.config.setdefault("ATTESTATION_ISSUER", os.environ.get(
        "ATTESTATION_ISSUER", app.config["PUBLIC_URL"].rstrip("/")))
    app.register_blueprint(views.bp)
    app.register_blueprint(views.verify_bp)
    app.register_blueprint(attestations_api.keys_bp)
    api.register(app, attestations_api.blp)
    cli.init_app(app)
