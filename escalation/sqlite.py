"""The embedded database that conversations, agents and the queue share: one SQLite file.

Every write is one ``BEGIN IMMEDIATE`` transaction, so several processes can share the file
(SQLite serialises writers; readers are never blocked in WAL mode), a message is durable before
the caller acknowledges it, and a change and the event recording it commit together.
"""

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils
from sqlite_utils import Migrations

from escalation.dialect import SQLITE
from escalation.schema import migrations

# Reports read up to this much of the file mapped into memory rather than copied into a
# connection's cache (docs/benchmarks.md, "KPI queries").
MMAP_BYTES = 2**31


class Connection(sqlite3.Connection):
    """A connection that names its dialect, as ``escalation.postgres``'s does."""

    dialect = SQLITE


class SqliteDatabase:
    dialect = SQLITE

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # autocommit at the driver level: transactions are ours, explicit and IMMEDIATE
        self.db = sqlite_utils.Database(
            sqlite3.connect(
                path, check_same_thread=False, timeout=30, isolation_level=None, factory=Connection
            )
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

    def close(self) -> None:
        self.db.conn.close()

    @contextmanager
    def report(self) -> Iterator[sqlite3.Connection]:
        """A connection of its own, for reading only. On a busy desk a report takes about a
        second, and the shared connection (one user at a time) must not wait for it; in WAL
        mode a reader blocks no one. Pages are mapped rather than copied into its cache."""
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, factory=Connection)
        try:
            conn.execute("pragma query_only = 1")
            conn.execute(f"pragma mmap_size = {MMAP_BYTES}")
            yield conn
        finally:
            conn.close()

    def flush_removed(self) -> bool:
        """Removed rows out of the write-ahead log too, so that they are gone from the files
        on disk (the file itself zeroes them: ``secure_delete``). False when a reader held
        the log; SQLite's next checkpoint, after 1000 pages at the latest, completes it."""
        with self.read() as conn:  # outside any transaction, as a checkpoint must be
            busy, _, _ = conn.execute("pragma wal_checkpoint(truncate)").fetchone()
        return busy == 0
