"""The embedded database that conversations, agents and the queue share: one SQLite file.

Every write is one ``BEGIN IMMEDIATE`` transaction, so several processes can share the file
(SQLite serialises writers; readers are never blocked in WAL mode), a message is durable before
the caller acknowledges it, and a change and the event recording it commit together.
"""

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils
from sqlite_utils import Migrations

from escalation.schema import migrations


def now() -> datetime:
    return datetime.now(UTC)


class SqliteDatabase:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # autocommit at the driver level: transactions are ours, explicit and IMMEDIATE
        self.db = sqlite_utils.Database(
            sqlite3.connect(path, check_same_thread=False, timeout=30, isolation_level=None)
        )
        self.db.enable_wal()
        self.db.execute("pragma foreign_keys = on")
        # Deleted and overwritten rows are zeroed in the file, not left in free space: what
        # erasure and retention remove is gone from the bytes too (docs/privacy.md).
        self.db.execute("pragma secure_delete = on")
        self._lock = threading.RLock()  # one connection shared by threads: one user at a time
        self.migrate(migrations)

    def migrate(self, migrations: Migrations) -> None:
        """Apply a part's schema changes (each part keeps its own, named, history)."""
        with self.write():  # one process migrates; another starting at once waits, then skips
            migrations.apply(self.db)

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One transaction; everything in it commits together or not at all."""
        with self._lock:
            conn = self.db.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self.db.conn
