"""Rate limits: per client, and shared between processes through Redis when REDIS_URL is set."""

from __future__ import annotations

import uuid

import pytest
import redis
from flask import Flask, g

from app import ratelimit

REDIS_URL = "redis://127.0.0.1:6379/15"


def redis_answers() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.mark.skipif(not redis_answers(), reason="Redis does not answer on 127.0.0.1:6379")
def test_two_workers_share_one_counter_through_redis():
    apps = []
    for _ in range(2):
        worker = Flask(__name__)
        # A minute's window, so that the window does not turn during the test.
        worker.config.update(REDIS_URL=REDIS_URL, RATE_LIMIT_DEFAULT="5/minute")
        ratelimit.init_app(worker)
        apps.append(worker)
    client_id = f"shared-{uuid.uuid4().hex}"
    refused = 0
    allowed = 0
    for index in range(8):
        worker = apps[index % 2]
        with worker.test_request_context():
            try:
                ratelimit.limits().hit(client_id, None)
                allowed += 1
            except ratelimit.RateLimited as error:
                refused += 1
                assert 1 <= int(error.headers["Retry-After"]) <= 60
                assert error.headers["RateLimit-Remaining"] == "0"
    # 5 a minute across both workers; were the counters per process, all 8 would pass.
    assert (allowed, refused) == (5, 3)


def test_zero_lifts_the_limit():
    worker = Flask(__name__)
    worker.config.update(REDIS_URL=None, RATE_LIMIT_DEFAULT="20/second")
    ratelimit.init_app(worker)
    with worker.test_request_context():
        for _ in range(100):
            ratelimit.limits().hit("bench", 0)  # raises RateLimited if counted
        # Nothing was counted: no window for this client, no RateLimit-* headers to send.
        assert "rate_limit_headers" not in g
        limits = ratelimit.limits()
        stats = limits.limiter.get_window_stats(limits.default, "client", "bench")
        assert stats.remaining == 20
