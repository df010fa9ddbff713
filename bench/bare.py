"""The reference: a bare Flask app answering a POST with a JSON body with a small JSON answer.

Served by gunicorn with the very settings Ofpra Connect gets (`bare:create_app()`), it is the
ceiling of this stack on this machine; the benchmark reports Ofpra Connect as a share of it.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request


def create_app() -> Flask:
    app = Flask(__name__)

    @app.post("/v1/protection-status")
    def status() -> dict[str, Any]:
        body = request.get_json()
        return {"as_of": "2026-01-01", "protected": bool(body.get("ofpra_number")),
                "protection": "refugee", "protected_since": "2021-03-02"}

    return app
