"""The flask-smorest Api: OpenAPI 3 from the code, problem documents for every error."""

from __future__ import annotations

from typing import Any

import flask_smorest
from flask import Flask, Response, current_app, render_template
from werkzeug.exceptions import HTTPException

from app import errors
from schemas import problems


class Api(flask_smorest.Api):
    ERROR_SCHEMA = problems.ProblemSchema

    def handle_http_exception(self, error: HTTPException) -> Response:  # type: ignore[override]
        return errors.http_exception(error)


def init_app(app: Flask) -> None:
    app.config.update(
        API_TITLE="Ofpra Connect",
        API_VERSION="1.0.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {
                "description": (
                    "Partner administrations ask OFPRA about the people it protects: protection "
                    "status, civil-status progress, civil status. Each call names the person in "
                    "its body, never in the URL, and is journaled; errors are RFC 9457 problem "
                    "documents with a stable `code`."
                ),
                "contact": {"name": "OFPRA", "url": "https://www.ofpra.gouv.fr"},
            },
            "servers": [{"url": app.config["OAUTH_ISSUER"]}],
            "components": {
                "securitySchemes": {
                    "oauth2": {
                        "type": "oauth2",
                        "flows": {
                            "clientCredentials": {
                                "tokenUrl": app.config["OAUTH_ISSUER"] + "/oauth/token",
                                "scopes": {
                                    "protection_status": "Is this person protected, as of today?",
                                    "civil_status_progress": (
                                        "Is OFPRA establishing this person's civil status?"
                                    ),
                                    "civil_status": "Definitive identity and family links.",
                                },
                            }
                        },
                    }
                }
            },
        },
    )
    api = Api(app)
    app.extensions["ofpra.api"] = api
    app.add_url_rule("/docs", "api_docs", api_docs)


def api_docs() -> str:
    """A browsable page of the OpenAPI document, rendered on the server (no script, no CDN)."""
    spec = current_app.extensions["ofpra.api"].spec.to_dict()
    return render_template("api_docs.html", spec=spec)


def register(app: Flask, blueprint: Any) -> None:
    app.extensions["ofpra.api"].register_blueprint(blueprint)
