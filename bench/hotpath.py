"""The status question in-process, timed and profiled, without HTTP or a load generator.

Requests are built beforehand (werkzeug's EnvironBuilder) and handed to the WSGI app directly,
so what is timed is Flask, the application and the database round trips. cProfile inflates
pure-Python code (every call is counted) relative to time spent waiting on PostgreSQL; the
wall-clock figures are taken without it.
"""

from __future__ import annotations

import cProfile
import io
import json
import pstats
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.test import EnvironBuilder

PATH = "/v1/protection-status"

# Where time goes, by the package a function lives in (first match wins).
GROUPS = (
    ("/bench/", "bench harness"),
    ("/app/", "ofpra: app"), ("/consent/", "ofpra: consent"), ("/schemas/", "ofpra: schemas"),
    ("/sqlalchemy/", "sqlalchemy"), ("/psycopg", "psycopg: Python"), ("/joserfc/", "joserfc"),
    ("/cryptography/", "cryptography"), ("/marshmallow/", "marshmallow"),
    ("/flask_smorest/", "flask-smorest"), ("/webargs/", "webargs"), ("/apispec/", "apispec"),
    ("/werkzeug/", "werkzeug"), ("/flask/", "flask"), ("/limits/", "limits"),
    ("/json/", "json (stdlib)"), ("/logging/", "logging (stdlib)"), ("/uuid.py", "uuid"),
    ("/zoneinfo/", "zoneinfo"),
)


def environs(tokens: Iterable[str], numbers: list[int], recipient: str) -> list[dict[str, Any]]:
    built = []
    for token, number in zip(tokens, numbers, strict=True):
        body = json.dumps({"ofpra_number": str(number), "recipient": recipient})
        builder = EnvironBuilder(path=PATH, method="POST", data=body,
                                 content_type="application/json",
                                 headers=[("Authorization", f"Bearer {token}")])
        built.append(builder.get_environ())
    return built


def call(app: Callable[..., Any], environ: dict[str, Any]) -> str:
    status: list[str] = []

    def start_response(line: str, _headers: Any, _exc_info: Any = None) -> Any:
        status.append(line)
        return lambda _data: None

    body = app(environ, start_response)
    try:
        for _chunk in body:
            pass
    finally:
        close = getattr(body, "close", None)
        if close:
            close()
    return status[0]


def per_request_us(app: Callable[..., Any], built: list[dict[str, Any]]) -> tuple[float, float]:
    """Wall-clock and CPU (this process only: not PostgreSQL's) microseconds per request over
    `built`; every answer must be a 200."""
    began, began_cpu = time.perf_counter(), time.process_time()
    for environ in built:
        status = call(app, dict(environ, **{"wsgi.input": _rewound(environ)}))
        if not status.startswith("200"):
            raise RuntimeError(f"in-process request answered {status}")
    return ((time.perf_counter() - began) / len(built) * 1e6,
            (time.process_time() - began_cpu) / len(built) * 1e6)


def _rewound(environ: dict[str, Any]) -> Any:
    stream = environ["wsgi.input"]
    stream.seek(0)
    return stream


def profile(app: Callable[..., Any], built: list[dict[str, Any]]) -> pstats.Stats:
    profiler = cProfile.Profile()
    profiler.enable()
    for environ in built:
        call(app, dict(environ, **{"wsgi.input": _rewound(environ)}))
    profiler.disable()
    return pstats.Stats(profiler, stream=io.StringIO())


# psycopg's own time is mostly the socket: its C calls (send, poll) and the wait for
# PostgreSQL's answer are counted in these Python frames.
WAITS = {("connection.py", "wait"), ("_connection_base.py", "_exec_command"),
         ("_cursor_base.py", "_send_query_prepared"), ("_cursor_base.py", "_send_prepare")}


def round_trips(stats: pstats.Stats, requests: int) -> float:
    """Round trips to PostgreSQL per request (psycopg waits once per result it reads)."""
    calls = sum(row[1] for (filename, _line, name), row in stats.stats.items()  # type: ignore[attr-defined]
                if filename.endswith("psycopg/connection.py") and name == "wait")
    return float(calls) / requests


def by_group(stats: pstats.Stats) -> list[tuple[str, float]]:
    """Own time (tottime) summed by package, largest first."""
    totals: dict[str, float] = defaultdict(float)
    for (filename, _line, name), row in stats.stats.items():  # type: ignore[attr-defined]
        tottime = row[2]
        if (filename.rsplit("/", 1)[-1], name) in WAITS and "/psycopg/" in filename:
            totals["psycopg: socket I/O, waiting for PostgreSQL"] += tottime
            continue
        group = next((label for marker, label in GROUPS if marker in filename), None)
        if group is None:
            group = "C builtins: " + name if filename == "~" else "other python"
        totals[group] += tottime
    return sorted(totals.items(), key=lambda item: -item[1])


def top_functions(stats: pstats.Stats, key: str, limit: int) -> str:
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    stats.sort_stats(key).print_stats(limit)
    lines = out.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
    return "\n".join(line.replace("/work/main/", "").replace(
        str(_site()), "") for line in lines[start:] if line.strip())


def _site() -> str:
    import flask

    return flask.__file__.rsplit("/flask/", 1)[0] + "/"


def numbers(first: int, people: int, count: int, seed: int = 7) -> list[int]:
    chooser = random.Random(seed)
    return [first + chooser.randrange(people) for _ in range(count)]
