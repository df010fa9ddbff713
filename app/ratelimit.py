"""Per-client rate limits (fixed one-second windows), shared through Redis when REDIS_URL is set.

Built on `limits`, the engine of Flask-Limiter, called after the token is verified so that the
limit is the partner's own (API Particulier's 20 requests/s by default, configurable per
partner) and a refused call costs no lookup.
"""

from __future__ import annotations

import math
import time

from flask import Flask, current_app, g
from limits import RateLimitItemPerSecond, parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from app import errors


class RateLimited(errors.Problem):
    status = 429
    code = "rate_limited"
    title = "Too many requests"


class Limits:
    def __init__(self, app: Flask) -> None:
        uri = app.config.get("REDIS_URL") or "memory://"
        self.limiter = FixedWindowRateLimiter(storage_from_string(uri))
        self.default = parse(app.config["RATE_LIMIT_DEFAULT"])
        self._per_second: dict[int, RateLimitItemPerSecond] = {}

    def item(self, per_second: int | None) -> object:
        if per_second is None:
            return self.default
        if per_second not in self._per_second:
            self._per_second[per_second] = RateLimitItemPerSecond(per_second)
        return self._per_second[per_second]

    def hit(self, client_id: str, per_second: int | None) -> None:
        """Count one call; raise RateLimited when the window is full. Headers go to g."""
        if per_second == 0:
            return  # lifted (the benchmark's own partner)
        item = self.item(per_second)
        allowed = self.limiter.hit(item, "client", client_id)  # type: ignore[arg-type]
        stats = self.limiter.get_window_stats(item, "client", client_id)  # type: ignore[arg-type]
        reset = max(1, math.ceil(stats.reset_time - time.time()))
        headers = {
            "RateLimit-Limit": str(item.amount),  # type: ignore[attr-defined]
            "RateLimit-Remaining": str(max(0, stats.remaining)),
            "RateLimit-Reset": str(reset),
        }
        g.rate_limit_headers = headers
        if not allowed:
            raise RateLimited(f"At most {item.amount} requests per second for this client.",  # type: ignore[attr-defined]
                              headers={**headers, "Retry-After": str(reset)})


def limits() -> Limits:
    return current_app.extensions["ofpra.limits"]  # type: ignore[no-any-return]


def init_app(app: Flask) -> None:
    app.extensions["ofpra.limits"] = Limits(app)

    @app.after_request
    def add_headers(response):  # type: ignore[no-untyped-def]
        response.headers.update(g.pop("rate_limit_headers", {}))
        return response
