"""Which database the conversation store uses: the embedded SQLite file, or PostgreSQL.

Both offer the same small surface (``Database``), and the stores in ``escalation``,
``channels``, ``analytics`` and ``privacy`` are written once against it.
"""

from contextlib import AbstractContextManager
from typing import Any, Protocol

from sqlite_utils import Migrations

from escalation.dialect import Dialect
from escalation.sqlite import SqliteDatabase
from helpdesk.settings import Settings


class Connection(Protocol):
    """What a store's statements run on: a connection inside ``read`` or ``write``."""

    dialect: Dialect

    def execute(self, sql: str, params: Any = ()) -> Any: ...
    def executemany(self, sql: str, rows: Any) -> Any: ...


class Database(Protocol):
    dialect: Dialect

    def write(self) -> AbstractContextManager[Any]:
        """One transaction, serialised with every other writer's."""

    def read(self) -> AbstractContextManager[Any]: ...

    def report(self) -> AbstractContextManager[Any]:
        """A reader for a long query that must not hold up the desk."""

    def migrate(self, migrations: Migrations) -> None: ...

    def flush_removed(self) -> bool:
        """Removed rows gone from the files on disk too, as far as the engine allows."""

    def close(self) -> None: ...


def open_database(settings: Settings) -> Database:
    """PostgreSQL when ``database_url`` is set, otherwise the SQLite file ``db``."""
    if settings.database_url:
        from escalation.postgres import PostgresDatabase  # psycopg only where it is used

        return PostgresDatabase(settings.database_url)
    return SqliteDatabase(settings.db)
