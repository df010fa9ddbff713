"""Database engine, sessions and the declarative base.

One engine per application. A request or CLI command gets one session and one commit point
(see `app.session()`); services only add and flush.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    DateTime,
    Engine,
    Enum,
    MetaData,
    create_engine,
    event,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# A 64-bit key that still autoincrements on SQLite (which only does so for INTEGER PRIMARY KEY).
BigId = BigInteger().with_variant(sqlite.INTEGER(), "sqlite").with_variant(
    postgresql.BIGINT(), "postgresql"
)


def str_enum(cls: type[enum.Enum], name: str, length: int = 32) -> Enum:
    """A Python enum stored as its string values, checked by a named CHECK constraint (no
    native ENUM type: adding a value is then a plain migration on every database)."""
    return Enum(cls, name=name, native_enum=False, length=length, validate_strings=True,
                values_callable=lambda members: [member.value for member in members],
                create_constraint=True)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every database (SQLite stores it naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime}


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Return an engine with the settings this service relies on for each dialect."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)
        _sqlite_pragmas(engine)
        return engine
    kwargs.setdefault("pool_size", 5)
    kwargs.setdefault("pool_pre_ping", False)
    return create_engine(url, **kwargs)


def _sqlite_pragmas(engine: Engine) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT; take it over (SQLAlchemy recipe).
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit would silently re-select every object after the commit point.
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


_NAMED = re.compile(r"(?<!:):([a-z_][a-z0-9_]*)")


def driver_sql(sql: str, paramstyle: str) -> str:
    """Rewrite `:name` placeholders for the driver's paramstyle (hot paths skip SQLAlchemy)."""
    if paramstyle == "named":
        return sql
    if paramstyle == "pyformat":
        return _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))
    raise ValueError(f"unsupported paramstyle {paramstyle}")


class Database:
    """The engine and the session factory of one application."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = make_session_factory(self.engine)


class Raw:
    """Driver-level statements inside a transaction, for the hot paths.

    SQLAlchemy's statement and result machinery costs more than the database on a lookup by key
    (see bench/README.md); here the SQL is plain, written with `:name` placeholders, and values
    are given to the driver as it stores them. A Raw works inside a session's transaction
    (`Raw(db_session)`), or owns one (`Raw.transaction(sessions)`).
    """

    _cache: dict[tuple[str, str], str] = {}

    def __init__(self, bound: Session | Connection) -> None:
        self._session = bound if isinstance(bound, Session) else None
        connection = bound.connection() if isinstance(bound, Session) else bound
        self.connection = connection
        self.dialect = connection.dialect.name
        self.sqlite = self.dialect == "sqlite"
        # sqlite3 takes `:name` as is; psycopg takes `%(name)s`.
        self._paramstyle = "named" if self.sqlite else "pyformat"
        self._dbapi = connection.connection.driver_connection
        self._cursor_made: Any = None
        self._owns_session = False

    @classmethod
    @contextmanager
    def transaction(cls, sessions: sessionmaker[Session]) -> Iterator[Raw]:
        """One transaction, committed when the block ends, rolled back if it raises.

        No ORM session is made: on a hot path its bookkeeping costs more than the statements
        (bench/README.md). The connection comes from what `sessions` is bound to: the engine's
        pool in service; in tests, the test's own connection, where this transaction is a
        savepoint, as the sessions the tests make there are (`create_savepoint`).
        """
        bind = sessions.kw["bind"]
        if isinstance(bind, Connection):
            with bind.begin_nested():
                raw = cls(bind)
                try:
                    yield raw
                finally:
                    raw._close()
        else:
            with bind.connect() as connection, connection.begin():
                raw = cls(connection)
                try:
                    yield raw
                finally:
                    raw._close()

    def session(self) -> Session:
        """An ORM session in this same transaction, for the reads a hot path leaves to the ORM."""
        if self._session is None:
            # Joins the connection's transaction; closing it neither commits nor rolls back.
            self._session = Session(bind=self.connection, join_transaction_mode="rollback_only",
                                    expire_on_commit=False, autoflush=False)
            self._owns_session = True
        return self._session

    def _close(self) -> None:
        if self._cursor_made is not None:
            self._cursor_made.close()
        if self._owns_session and self._session is not None:
            self._session.close()

    def _sql(self, sql: str) -> str:
        key = (sql, self._paramstyle)
        text = self._cache.get(key)
        if text is None:
            text = self._cache[key] = driver_sql(sql, self._paramstyle)
        return text

    def _params(self, params: dict[str, Any]) -> dict[str, Any]:
        if not self.sqlite:
            return params
        return {name: to_sqlite(value) for name, value in params.items()}

    def _cursor(self) -> Any:
        # One cursor for all the statements of a Raw: a client-side cursor holds nothing on the
        # server, and making one per statement costs more than some statements.
        if self._cursor_made is None:
            self._cursor_made = self._dbapi.cursor()  # type: ignore[union-attr]
        return self._cursor_made

    def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        cursor = self._cursor()
        cursor.execute(self._sql(sql), self._params(params))
        return list(cursor.fetchall())

    def execute(self, sql: str, **params: Any) -> None:
        self._cursor().execute(self._sql(sql), self._params(params))


def to_sqlite(value: Any) -> Any:
    """Store a value the way SQLAlchemy's SQLite types store it, so the ORM reads it back."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def as_date(value: Any) -> date | None:
    """Read a date column from either driver (SQLite returns text)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def as_json(value: Any) -> Any:
    """Read a JSON column from either driver (SQLite returns text)."""
    return json.loads(value) if isinstance(value, str) else value
