"""The conversation store's database on PostgreSQL, for a desk that has outgrown one machine.

It offers what ``escalation.sqlite`` offers (``read``, ``write``, ``dialect``), so every store
runs the same statements on either: written once, with ``?`` and ``:name`` parameters, which
are translated here to psycopg's; the few expressions the two engines spell differently come
from ``escalation.dialect``.

Values read back look as they do from SQLite: times as ISO-8601 strings (the columns are
``timestamptz``), JSON as text (the columns are ``jsonb``), decimals as floats. Each write
takes a transaction-wide advisory lock first, so writers queue one after another as they do on
SQLite: the stores check and change in one transaction (a claim, the next message number) and
rely on nobody writing between the two. Readers never wait.

The schema is Alembic's (``escalation/pg_migrations``), applied on open like SQLite's.
"""

import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC
from functools import lru_cache
from pathlib import Path
from typing import Any

import psycopg
from psycopg.adapt import Loader
from psycopg.types.datetime import TimestamptzLoader
from psycopg_pool import ConnectionPool
from sqlite_utils import Migrations

from escalation.dialect import POSTGRES

MIGRATIONS = Path(__file__).parent / "pg_migrations"
WRITE_LOCK = 7_411_017  # the advisory lock key every write takes: one writer at a time
# Outside string literals: a ``?`` parameter, a ``:name`` one (not a ``::cast``), or a ``%``.
_TOKENS = re.compile(r"'(?:[^']|'')*'|(?<!:):([A-Za-z_]\w*)|\?|%")


@lru_cache(maxsize=1024)
def psycopg_sql(sql: str) -> str:
    """A statement written for SQLite's parameter styles in psycopg's."""

    def replace(match: re.Match) -> str:
        token = match.group(0)
        if token.startswith("'"):
            return token.replace("%", "%%")  # psycopg reads placeholders inside literals too
        if match.group(1):
            return f"%({match.group(1)})s"
        return "%s" if token == "?" else "%%"

    return _TOKENS.sub(replace, sql)


class _IsoTime(TimestamptzLoader):
    """A ``timestamptz`` as the ISO-8601 string that the stores parse (and SQLite keeps)."""

    def load(self, data: Any) -> str:
        return super().load(data).astimezone(UTC).isoformat()


class _Text(Loader):
    """``jsonb`` as its text, which the stores parse themselves (as they do SQLite's)."""

    def load(self, data: Any) -> str:
        return bytes(data).decode()


class _Float(Loader):
    """``numeric`` (``avg``, ``sum`` of integers) as a float, as SQLite returns it."""

    def load(self, data: Any) -> float:
        return float(bytes(data).decode())


class Connection:
    """A psycopg connection that takes SQLite-style statements, and names its dialect."""

    dialect = POSTGRES

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> psycopg.Cursor:
        return self.conn.execute(psycopg_sql(sql), params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self.conn.cursor() as cursor:
            cursor.executemany(psycopg_sql(sql), rows)


def _configure(conn: psycopg.Connection) -> None:
    conn.execute("set time zone 'UTC'")
    conn.adapters.register_loader("timestamptz", _IsoTime)
    conn.adapters.register_loader("jsonb", _Text)
    conn.adapters.register_loader("json", _Text)
    conn.adapters.register_loader("numeric", _Float)
    conn.commit()


class PostgresDatabase:
    dialect = POSTGRES

    def __init__(self, url: str, max_connections: int = 10):
        self.url = url
        self._upgrade()
        self.pool = ConnectionPool(
            url, min_size=1, max_size=max_connections, configure=_configure,
            check=ConnectionPool.check_connection, open=True, name="helpdesk",
        )  # fmt: skip

    def migrate(self, migrations: Migrations) -> None:
        """Nothing to do for a part's SQLite migrations: on PostgreSQL the schema of every
        part is one Alembic history (``pg_migrations``), applied on open."""

    def _upgrade(self) -> None:
        """Bring the schema to Alembic's head (several processes starting at once are
        serialised by a lock in ``pg_migrations/env.py``)."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["url"] = self.url
        command.upgrade(config, "head")

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One transaction, after every earlier writer's (see the module's docstring)."""
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("select pg_advisory_xact_lock(%s)", [WRITE_LOCK])
            yield Connection(conn)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.pool.connection() as conn:
            conn.autocommit = True
            try:
                yield Connection(conn)
            finally:
                conn.autocommit = False

    report = read  # reports read like everyone else: PostgreSQL's readers never block

    def flush_removed(self) -> bool:
        """Nothing to flush: PostgreSQL's autovacuum reclaims the removed rows' space."""
        return True

    def close(self) -> None:
        self.pool.close()
