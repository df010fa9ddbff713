"""Static files of the pages: versioned URLs, so a phone downloads each file once, and
compressed, so that it downloads few bytes (stylesheets and icons shrink four to six times;
fonts are woff2, already compressed).

`static_url("dsfr/core/core.min.css")` adds `?v=<hash of the content>`: such a URL never
changes meaning, so it is cached for a year. Files a stylesheet points to (fonts, icons) have
no version in their URL: they are cached for a day and revalidated by ETag afterwards.
"""

from __future__ import annotations

import gzip
import hashlib
from functools import lru_cache
from pathlib import Path

from flask import Flask, Response, current_app, request, url_for

YEAR = 365 * 24 * 3600
DAY = 24 * 3600


@lru_cache(maxsize=256)
def _version(path: Path, _mtime: float) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def static_url(filename: str) -> str:
    """Return the versioned URL of a file under app/static/; raise if the file is missing."""
    path = Path(current_app.static_folder or "", filename)
    version = _version(path, path.stat().st_mtime)
    return url_for("static", filename=filename, v=version)


# Only static text: pages are never compressed here, since they carry the session's CSRF token
# next to text a visitor may influence (BREACH).
COMPRESSIBLE = frozenset({"text/css", "image/svg+xml"})


@lru_cache(maxsize=256)
def _gzipped(path: Path, _mtime: float) -> bytes:
    return gzip.compress(path.read_bytes(), compresslevel=9, mtime=0)


def compress_static(response: Response) -> Response:
    """Send a static stylesheet or icon gzipped when the browser accepts it."""
    if (request.endpoint != "static" or response.status_code != 200
            or response.mimetype not in COMPRESSIBLE
            or "gzip" not in request.headers.get("Accept-Encoding", "")
            or "Content-Encoding" in response.headers or request.range):
        return response
    path = Path(current_app.static_folder or "", request.view_args["filename"])  # type: ignore[index]
    body = _gzipped(path, path.stat().st_mtime)
    response.close()  # the file send_file opened: its bytes are not sent
    response.direct_passthrough = False
    response.set_data(body)
    response.headers["Content-Encoding"] = "gzip"
    response.headers["Content-Length"] = str(len(body))
    response.vary.add("Accept-Encoding")
    etag, _weak = response.get_etag()
    if etag:
        # A compressed body is another representation: it must not share the file's ETag.
        response.set_etag(etag + "-gz")
    return response


def cache_static(response: Response) -> Response:
    if request.endpoint == "static" and response.status_code in (200, 304):
        versioned = "v" in request.args
        response.headers["Cache-Control"] = (
            f"public, max-age={YEAR}, immutable" if versioned else f"public, max-age={DAY}"
        )
    return response


def init_app(app: Flask) -> None:
    app.jinja_env.globals["static_url"] = static_url
    # Runs before app.web's hook, which only sets Cache-Control when none is there.
    app.after_request(cache_static)
    app.after_request(compress_static)
