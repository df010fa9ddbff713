"""Fixtures: every test runs on SQLite and on PostgreSQL, each in a transaction rolled back.

The schema is built once per database by the real migrations (never `create_all`). PostgreSQL
is used when it answers at TEST_DATABASE_URL; with REQUIRE_POSTGRES=1 (CI) its absence fails.
"""

from __future__ import annotations

import os
import secrets
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from joserfc import jwt
from sqlalchemy.orm import Session, sessionmaker

from app import cli as app_cli
from app import create_app
from app.db import Database

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("REQUIRE_POSTGRES") == "1"


def postgres_answers() -> bool:
    try:
        with psycopg.connect(PG_URL, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


_PG = postgres_answers()


def pytest_report_header() -> list[str]:
    from tests.browser.conftest import CHROMIUM, chromium_present

    lines = [f"databases: sqlite and postgresql ({PG_URL})" if _PG else
             "databases: sqlite only — PostgreSQL did not answer; its tests are SKIPPED"]
    lines.append(f"browser tests: Chromium at {CHROMIUM}" if chromium_present() else
                 f"browser tests: SKIPPED — no Chromium at {CHROMIUM} (apt-get install chromium)")
    return lines


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogues() -> None:
    """Build the .mo files missing or older than their .po (as `make translations` does), so
    that pytest run directly, without make, shows pages in their languages."""
    for po in (ROOT / "app" / "translations").glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalog = read_po(source, locale=po.parts[-3])
        with mo.open("wb") as target:
            write_mo(target, catalog)


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keys")


def postgres_schema() -> Iterator[str]:
    if not _PG:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL is required (REQUIRE_POSTGRES=1) and {PG_URL} did not answer")
        pytest.skip("PostgreSQL did not answer")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database at the migrations' head, for the whole session."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.db'}"
        _migrate(url)
        yield url
    else:
        for url in postgres_schema():
            _migrate(url)
            yield url


def _migrate(url: str) -> None:
    database = Database(url)
    app_cli.upgrade(database.engine)
    database.engine.dispose()


def settings(database_url: str, keys_dir: Path, tmp: Path, **overrides: Any) -> dict[str, Any]:
    values = {
        "TESTING": True,
        "ENV": "test",
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_urlsafe(48),
        "PSEUDONYM_KEY": secrets.token_urlsafe(48),
        "KEYS_DIR": str(keys_dir),
        "INSTANCE_PATH": str(tmp),
        "OAUTH_ISSUER": "http://localhost",
        "API_AUDIENCE": "http://localhost/v1",
        "REDIS_URL": None,
    }
    values.update(overrides)
    return values


@pytest.fixture(scope="session")
def app(database_url: str, keys_dir: Path,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    application = create_app(settings(database_url, keys_dir, tmp_path_factory.mktemp("instance")))
    yield application
    application.extensions["ofpra.db"].engine.dispose()


@pytest.fixture()
def db_session(app: Flask) -> Iterator[Session]:
    """A session whose commits are savepoints inside one transaction rolled back at the end.

    The application's own sessions (requests, CLI commands) join the same transaction.
    """
    database: Database = app.extensions["ofpra.db"]
    original = database.sessions
    connection = database.engine.connect()
    transaction = connection.begin()
    database.sessions = sessionmaker(bind=connection, join_transaction_mode="create_savepoint",
                                     expire_on_commit=False, autoflush=False)
    app.extensions["ofpra.directory"].forget()
    app.extensions["ofpra.tokens"].forget()
    app.extensions["ofpra.limits"].limiter.storage.reset()
    session = database.sessions()
    try:
        yield session
    finally:
        session.close()
        transaction.rollback()
        connection.close()
        database.sessions = original


@pytest.fixture()
def client(app: Flask, db_session: Session) -> FlaskClient:
    return app.test_client()


@pytest.fixture()
def mint(app: Flask):  # type: ignore[no-untyped-def]
    """Sign an access token as OFPRA's authorization server does (RFC 9068)."""

    def make(client_id: str, scopes: str, **claims: Any) -> str:
        keys = app.extensions["ofpra.keys"]
        now = int(time.time())
        payload = {
            "iss": app.config["OAUTH_ISSUER"], "aud": app.config["API_AUDIENCE"],
            "sub": client_id, "client_id": client_id, "scope": scopes,
            "iat": now, "exp": now + 300, "jti": secrets.token_hex(16),
        }
        payload.update(claims)
        header = {"alg": keys.algorithm("access-token"), "typ": "at+jwt",
                  "kid": keys.signing_key("access-token").kid}
        return jwt.encode(header, payload, keys.signing_key("access-token"))

    return make
