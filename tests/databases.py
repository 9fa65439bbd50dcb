"""The database a test runs on: a SQLite file, or, when ``make test`` runs with
``HELPDESK_DATABASE_URL=postgresql://...``, a schema of its own in that PostgreSQL database.

Tests name their database by a file path as before (``open_database_at``, ``database_env`` for
a server's environment); with PostgreSQL the path picks the schema, so a test and the servers
it starts meet in the same one. Schemas are dropped when the test session ends.
"""

import hashlib
import os
from pathlib import Path

import psycopg

from escalation.database import Database, open_database
from helpdesk.settings import Settings

# Moved aside: nothing a test starts may use the shared database itself (test processes that
# a test spawns find it under the other name).
if "HELPDESK_DATABASE_URL" in os.environ:
    os.environ["HELPDESK_TESTS_DATABASE_URL"] = os.environ.pop("HELPDESK_DATABASE_URL")
BASE_URL = os.environ.get("HELPDESK_TESTS_DATABASE_URL", "")
# Where the contract tests (``each_engine`` in tests/conftest.py) find PostgreSQL when the run
# is on SQLite: they run on both engines either way.
POSTGRES_URL = BASE_URL or "postgresql://postgres@127.0.0.1:5432/test"
# The engine of the test running now: the run's own, or the one a contract test asks for.
ENGINE = "postgresql" if BASE_URL else "sqlite"
_schemas: set[str] = set()
opened: list[Database] = []  # closed when the test that opened them ends (tests/conftest.py)


def _digest(path: Path) -> str:
    return hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:16]


def postgres_url_for(path: Path, base: str = POSTGRES_URL) -> str:
    """A URL of ``base`` whose tables live in a schema named after ``path`` (made if new)."""
    schema = "hd_test_" + _digest(path)
    if schema not in _schemas:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"create schema if not exists {schema}")
        _schemas.add(schema)
    return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"


def database_url(path: Path) -> str:
    """The run's database for ``path``: PostgreSQL's URL, or "" for the SQLite file."""
    return postgres_url_for(path) if ENGINE == "postgresql" else ""


def open_database_at(path: Path) -> Database:
    database = open_database(Settings(db=path, database_url=database_url(path) or None))
    opened.append(database)
    return database


def database_env(path: Path) -> dict[str, str]:
    """A server's settings for the same database as ``open_database_at(path)``; when the run
    uses Redis (``HELPDESK_REDIS_URL``), keys of its own there too, as another desk's would be."""
    env = {"HELPDESK_DB": str(path), "HELPDESK_DATABASE_URL": database_url(path)}
    if os.environ.get("HELPDESK_REDIS_URL"):
        env["HELPDESK_REDIS_PREFIX"] = "hdtest" + _digest(path)
    return env


def row_counts(database: Database) -> dict[str, int]:
    """How many rows each table of the database holds."""
    tables = (
        "select table_name from information_schema.tables where table_schema = current_schema()"
        if database.dialect.name == "postgresql"
        else "select name from sqlite_master where type = 'table'"
    )
    with database.read() as conn:
        names = [name for (name,) in conn.execute(tables).fetchall()]
        return {t: conn.execute(f'select count(*) from "{t}"').fetchone()[0] for t in names}


def dump(database: Database) -> str:
    """Every row of every table, as text."""
    with database.read() as conn:
        return "\n".join(
            repr(row)
            for table in row_counts(database)
            for row in conn.execute(f'select * from "{table}"').fetchall()
        )


def stored_bytes(path: Path) -> bytes:
    """Every byte SQLite keeps for the database: the file, its write-ahead log and index. On
    PostgreSQL, every row of every table as text: its files keep removed rows until a vacuum
    reuses their space (docs/privacy.md)."""
    if database_url(path):
        return dump(open_database_at(path)).encode()
    files = [path, *(path.with_name(path.name + end) for end in ("-wal", "-shm"))]
    return b"".join(f.read_bytes() for f in files if f.exists())


def drop_schemas() -> None:
    if _schemas:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            for schema in _schemas:
                conn.execute(f"drop schema if exists {schema} cascade")
        _schemas.clear()
