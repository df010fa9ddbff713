"""The benchmark's own PostgreSQL databases: created, migrated, loaded by COPY, dropped.

Each database is created on the server of `--postgres` (the `test` database on loopback by
default), brought to the migrations' head with `flask db upgrade`, and loaded with synthetic
people, every one a refugee, through COPY. The journal can be preloaded with millions of
plausible entries for the scale run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
FLASK = Path(sys.executable).parent / "flask"

FIRST_OFPRA_NUMBER = 800_000_000_000  # 12 digits, as the lookup schema wants
FIRST_AGDREF_NUMBER = 7_000_000_000
RECIPIENT = "77568406300016"  # a valid SIRET (Luhn), a transport authority
BENCH_CLIENT_ID = "bench"
CHUNK = 100_000

BIRTH_NAMES = ("Abdi", "Haddad", "Nguyen", "Popescu", "Tesfaye", "Karimi", "Diallo", "Sahin",
               "Ivanova", "Mensah", "Rahimi", "Osei", "Bakr", "Yilmaz", "Kovalenko", "Ahmadi")
GIVEN_NAMES = ('["Amina"]', '["Yonas", "Tesfay"]', '["Mariam"]', '["Olena"]', '["Karim"]',
               '["Fatoumata", "Aissata"]', '["Reza"]', '["Hawa"]', '["Dawit"]', '["Leyla"]')


def database_url(server_url: str, name: str) -> str:
    """The URL of database `name` on the server that `server_url` points to."""
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def create(server_url: str, name: str) -> str:
    """Create (or re-create) database `name`; return its URL."""
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                           .format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return database_url(server_url, name)


def drop(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                           .format(sql.Identifier(name)))


def migrate(env: dict[str, str]) -> None:
    """`flask db upgrade` with the application's own environment."""
    done = subprocess.run([str(FLASK), "db", "upgrade"], cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"flask db upgrade failed:\n{done.stdout}{done.stderr}")


def durability(url: str) -> dict[str, str]:
    """The server settings that decide whether a commit is durable."""
    with psycopg.connect(url) as connection:
        return {name: str(connection.execute(f"SHOW {name}").fetchone()[0])  # type: ignore[index]
                for name in ("synchronous_commit", "fsync", "wal_sync_method")}


@contextmanager
def secondary_indexes_dropped(connection: psycopg.Connection, tables: tuple[str, ...]
                              ) -> Iterator[None]:
    """Drop the foreign keys, unique constraints and indexes of `tables` (primary keys stay)
    for a bulk load, then create them again exactly as the migrations defined them."""
    constraints = connection.execute(
        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid), c.contype "
        "FROM pg_constraint c WHERE c.conrelid = ANY(%s::regclass[]) AND c.contype IN ('f', 'u')",
        (list(tables),),
    ).fetchall()
    indexes = connection.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
        (list(tables),),
    ).fetchall()
    for table, name, _definition, _kind in constraints:
        connection.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
            sql.Identifier(table), sql.Identifier(name)))
    for name, _definition in indexes:
        connection.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    connection.commit()
    yield
    for _name, definition in indexes:
        connection.execute(definition)  # type: ignore[arg-type]
    for table, name, definition, _kind in sorted(constraints, key=lambda c: c[3] == "f"):
        connection.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(
            sql.Identifier(table), sql.Identifier(name)) + sql.SQL(definition))  # type: ignore[arg-type]
    connection.commit()


def _copy_chunks(connection: psycopg.Connection, statement: str,
                 chunks: Iterator[str]) -> None:
    with connection.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[arg-type]
        for chunk in chunks:
            copy.write(chunk)


def _people_chunks(count: int) -> Iterator[str]:
    created = "2020-01-01 00:00:00+00"
    for start in range(0, count, CHUNK):
        lines = []
        for i in range(start, min(start + CHUNK, count)):
            born = date(1950 + i % 55, 1 + i % 12, 1 + i % 28).isoformat()
            lines.append(
                f"{i + 1}\t{FIRST_OFPRA_NUMBER + i}\t{FIRST_AGDREF_NUMBER + i}\t"
                f"{BIRTH_NAMES[i % 16]}\t{GIVEN_NAMES[i % 10]}\t\\N\t{'FMX'[i % 3]}\t{born}\t"
                f"day\tSDN\tSDN\t{created}\n")
        yield "".join(lines)


def _protection_chunks(count: int) -> Iterator[str]:
    for start in range(0, count, CHUNK):
        yield "".join(
            f"{i + 1}\trefugee\t{date(2010 + i % 15, 1 + i % 12, 1 + i % 28).isoformat()}\n"
            for i in range(start, min(start + CHUNK, count)))


def load_people(url: str, count: int) -> None:
    """Persons 1..count, OFPRA numbers FIRST_OFPRA_NUMBER + 0..count-1, each a refugee."""
    with psycopg.connect(url) as connection:
        with secondary_indexes_dropped(connection, ("person", "protection")):
            _copy_chunks(connection, "COPY person (id, ofpra_number, agdref_number, birth_name, "
                         "given_names, usage_name, sex, birth_date, birth_date_precision, "
                         "nationality, country_of_origin, created_at) FROM STDIN",
                         _people_chunks(count))
            _copy_chunks(connection, "COPY protection (person_id, kind, granted_on) FROM STDIN",
                         _protection_chunks(count))
            connection.commit()
        connection.execute("SELECT setval(pg_get_serial_sequence('person', 'id'), %s)",
                           (count,))
        connection.commit()


def partners(url: str) -> list[tuple[int, int, str]]:
    """(partner id, habilitation id, client_id) of every partner with a habilitation."""
    with psycopg.connect(url) as connection:
        return [(int(p), int(h), str(c)) for p, h, c in connection.execute(
            "SELECT p.id, h.id, p.client_id FROM partner p JOIN habilitation h "
            "ON h.partner_id = p.id ORDER BY p.id").fetchall()]


def _journal_chunks(count: int, people: int, partners: list[tuple[int, int, str]]
                    ) -> Iterator[str]:
    """Entries over the past year: mostly `found`, some `not_found` (no person), all hashed."""
    start = datetime.now(UTC) - timedelta(days=365)
    step = 365 * 86400 / count
    for first in range(0, count, CHUNK):
        size = min(CHUNK, count - first)
        noise = os.urandom(48 * size).hex()
        lines = []
        for k in range(size):
            i = first + k
            at = (start + timedelta(seconds=i * step)).isoformat()
            partner_id, habilitation_id, client_id = partners[i % len(partners)]
            random = noise[96 * k:96 * (k + 1)]
            request_id = (f"{random[:8]}-{random[8:12]}-4{random[13:16]}-a{random[17:20]}-"
                          f"{random[20:32]}")
            if i % 20:
                outcome, person = "found", str(1 + int(random[32:40], 16) % people)
            else:
                outcome, person = "not_found", "\\N"
            subject_key = random[32:96]
            entry_hash = random[:64]  # 32 bytes
            lines.append(
                f"{at}\t{request_id}\t{partner_id}\t{client_id}\tprotection_status\t{RECIPIENT}\t"
                f"{outcome}\tlegal_basis\t{habilitation_id}\t\\N\t{person}\t{subject_key}\t"
                f"\\\\x{entry_hash}\n")
        yield "".join(lines)


def load_journal(url: str, count: int, people: int, partners: list[tuple[int, int, str]]) -> None:
    """Append `count` plausible entries (indexes and foreign keys rebuilt after the COPY)."""
    with psycopg.connect(url) as connection:
        with secondary_indexes_dropped(connection, ("journal_entry",)):
            _copy_chunks(connection, "COPY journal_entry (at, request_id, partner_id, client_id, "
                         "scope, recipient, outcome, basis, habilitation_id, consent_id, "
                         "person_id, subject_key, entry_hash) FROM STDIN",
                         _journal_chunks(count, people, partners))
            connection.commit()


def vacuum_analyze(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")


def size(url: str) -> str:
    with psycopg.connect(url) as connection:
        return str(connection.execute(
            "SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0])  # type: ignore[index]


def journal_mark(url: str) -> int:
    """The highest journal id so far (the next run's entries come after it)."""
    with psycopg.connect(url) as connection:
        return int(connection.execute(
            "SELECT coalesce(max(id), 0) FROM journal_entry").fetchone()[0])  # type: ignore[index]


def journal_since(url: str, mark: int) -> dict[str, int]:
    """Entries after `mark`, by outcome."""
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT outcome, count(*) FROM journal_entry WHERE id > %s GROUP BY outcome",
            (mark,)).fetchall()
    return {outcome: int(count) for outcome, count in rows}


def people_count(url: str) -> int:
    with psycopg.connect(url) as connection:
        return int(connection.execute("SELECT count(*) FROM person").fetchone()[0])  # type: ignore[index]


def timed(label: str):  # type: ignore[no-untyped-def]
    """Print how long a step took."""

    @contextmanager
    def block() -> Iterator[None]:
        began = time.monotonic()
        print(f"  {label}...", end="", flush=True)
        yield
        print(f" {time.monotonic() - began:.1f} s", flush=True)

    return block()
