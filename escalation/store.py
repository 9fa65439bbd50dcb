"""Where conversations live: an interface, and its embedded SQLite implementation.

Every write is one ``BEGIN IMMEDIATE`` transaction, so several processes can share the file
(SQLite serialises writers; readers are never blocked in WAL mode), a message is durable before
the caller acknowledges it, and a state change and the event recording it commit together.
"""

import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import sqlite_utils

from escalation.models import (
    TRANSITIONS,
    Conversation,
    Event,
    InvalidTransition,
    Message,
    NotFound,
    Sender,
    State,
)


class ConversationStore(Protocol):
    def create_conversation(
        self, channel: str, locale: str, customer_id: str | None = None
    ) -> tuple[Conversation, str]: ...
    def get(self, conversation_id: str) -> Conversation: ...
    def token_matches(self, conversation_id: str, token: str) -> bool: ...
    def add_message(
        self,
        conversation_id: str,
        sender: Sender,
        text: str,
        *,
        client_message_id: str | None = None,
        quick_replies: list[dict[str, str]] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> tuple[Message, bool]: ...
    def messages(self, conversation_id: str, after: int = 0) -> list[Message]: ...
    def last_message(self, conversation_id: str, sender: Sender) -> Message | None: ...
    def transition(
        self, conversation_id: str, to: State, data: dict[str, Any] | None = None
    ) -> Conversation: ...
    def events(self, conversation_id: str) -> list[Event]: ...
    def queue_position(self, conversation_id: str) -> int | None: ...


def _now() -> datetime:
    return datetime.now(UTC)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SqliteConversationStore:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        # autocommit at the driver level: transactions are ours, explicit and IMMEDIATE
        self.db = sqlite_utils.Database(
            sqlite3.connect(path, check_same_thread=False, timeout=30, isolation_level=None)
        )
        self.db.enable_wal()
        self._lock = threading.RLock()  # one connection shared by threads: one user at a time
        self._create_schema()

    def _create_schema(self) -> None:
        db = self.db
        db["customers"].create(
            {"id": str, "created_at": str, "metadata": str}, pk="id", if_not_exists=True
        )
        db["conversations"].create(
            {
                "id": str, "customer_id": str, "channel": str, "locale": str, "state": str,
                "token_hash": str, "created_at": str, "updated_at": str, "metadata": str,
            },
            pk="id", foreign_keys=[("customer_id", "customers", "id")], if_not_exists=True,
        )  # fmt: skip
        db["messages"].create(
            {
                "id": int, "conversation_id": str, "seq": int, "sender": str, "text": str,
                "channel": str, "quick_replies": str, "metadata": str, "client_message_id": str,
                "created_at": str,
            },
            pk="id", foreign_keys=[("conversation_id", "conversations", "id")], if_not_exists=True,
        )  # fmt: skip
        db["messages"].create_index(["conversation_id", "seq"], unique=True, if_not_exists=True)
        db["messages"].create_index(
            ["conversation_id", "client_message_id"], unique=True, if_not_exists=True
        )
        db["events"].create(
            {"id": int, "conversation_id": str, "type": str, "data": str, "created_at": str},
            pk="id", foreign_keys=[("conversation_id", "conversations", "id")], if_not_exists=True,
        )  # fmt: skip
        db["events"].create_index(["conversation_id"], if_not_exists=True)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self.db.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # -- conversations ---------------------------------------------------------------------
    def create_conversation(
        self, channel: str, locale: str, customer_id: str | None = None
    ) -> tuple[Conversation, str]:
        """A new conversation with the bot, and the secret token that alone grants access to it."""
        token = secrets.token_urlsafe(32)
        now = _now().isoformat()
        conversation_id = str(uuid.uuid4())
        with self._write() as conn:
            if customer_id is None:
                customer_id = str(uuid.uuid4())
                conn.execute(
                    "insert into customers (id, created_at, metadata) values (?, ?, '{}')",
                    [customer_id, now],
                )
            conn.execute(
                "insert into conversations (id, customer_id, channel, locale, state, token_hash, "
                "created_at, updated_at, metadata) values (?, ?, ?, ?, ?, ?, ?, ?, '{}')",
                [conversation_id, customer_id, channel, locale, State.BOT,
                 _token_hash(token), now, now],
            )  # fmt: skip
            self._record(conn, conversation_id, "created", {"channel": channel, "locale": locale})
        return self.get(conversation_id), token

    def get(self, conversation_id: str) -> Conversation:
        with self._lock:
            row = self.db.execute(
                "select id, customer_id, channel, locale, state, created_at, updated_at, metadata "
                "from conversations where id = ?",
                [conversation_id],
            ).fetchone()
        if row is None:
            raise NotFound(conversation_id)
        return Conversation(
            id=row[0], customer_id=row[1], channel=row[2], locale=row[3], state=State(row[4]),
            created_at=datetime.fromisoformat(row[5]), updated_at=datetime.fromisoformat(row[6]),
            metadata=json.loads(row[7]),
        )  # fmt: skip

    def token_matches(self, conversation_id: str, token: str) -> bool:
        with self._lock:
            row = self.db.execute(
                "select token_hash from conversations where id = ?", [conversation_id]
            ).fetchone()
        return row is not None and hmac.compare_digest(row[0], _token_hash(token))

    def transition(
        self, conversation_id: str, to: State, data: dict[str, Any] | None = None
    ) -> Conversation:
        """Move to ``to`` and record it; refused unless ``TRANSITIONS`` allows it from now."""
        with self._write() as conn:
            row = conn.execute(
                "select state from conversations where id = ?", [conversation_id]
            ).fetchone()
            if row is None:
                raise NotFound(conversation_id)
            current = State(row[0])
            if to not in TRANSITIONS[current]:
                raise InvalidTransition(f"{conversation_id}: {current} -> {to} is not allowed")
            conn.execute(
                "update conversations set state = ?, updated_at = ? where id = ?",
                [to, _now().isoformat(), conversation_id],
            )
            change = {"from": current, "to": to, **(data or {})}
            self._record(conn, conversation_id, "state", change)
        return self.get(conversation_id)

    def queue_position(self, conversation_id: str) -> int | None:
        """1 for the longest-waiting queued conversation; None when not queued."""
        with self._lock:
            row = self.db.execute(
                "select state, updated_at from conversations where id = ?", [conversation_id]
            ).fetchone()
            if row is None or row[0] != State.QUEUED:
                return None
            (ahead,) = self.db.execute(
                "select count(*) from conversations where state = ? and updated_at < ?",
                [State.QUEUED, row[1]],
            ).fetchone()
        return ahead + 1

    # -- messages --------------------------------------------------------------------------
    def add_message(
        self,
        conversation_id: str,
        sender: Sender,
        text: str,
        *,
        client_message_id: str | None = None,
        quick_replies: list[dict[str, str]] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> tuple[Message, bool]:
        """Store a message; ``(message, False)`` if this ``client_message_id`` was stored before."""
        with self._write() as conn:
            conversation = conn.execute(
                "select channel from conversations where id = ?", [conversation_id]
            ).fetchone()
            if conversation is None:
                raise NotFound(conversation_id)
            if client_message_id is not None:
                existing = conn.execute(
                    "select id from messages where conversation_id = ? and client_message_id = ?",
                    [conversation_id, client_message_id],
                ).fetchone()
                if existing is not None:
                    return self._message(conn, existing[0]), False
            (seq,) = conn.execute(
                "select coalesce(max(seq), 0) + 1 from messages where conversation_id = ?",
                [conversation_id],
            ).fetchone()
            channel = (metadata or {}).get("channel", conversation[0])
            cursor = conn.execute(
                "insert into messages (conversation_id, seq, sender, text, channel, quick_replies, "
                "metadata, client_message_id, created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    conversation_id, seq, Sender(sender), text, channel,
                    json.dumps(quick_replies or [], ensure_ascii=False),
                    json.dumps(metadata or {}, ensure_ascii=False), client_message_id,
                    _now().isoformat(),
                ],
            )  # fmt: skip
            return self._message(conn, cursor.lastrowid), True

    def messages(self, conversation_id: str, after: int = 0) -> list[Message]:
        with self._lock:
            ids = self.db.execute(
                "select id from messages where conversation_id = ? and seq > ? order by seq",
                [conversation_id, after],
            ).fetchall()
            return [self._message(self.db.conn, i) for (i,) in ids]

    def last_message(self, conversation_id: str, sender: Sender) -> Message | None:
        with self._lock:
            row = self.db.execute(
                "select id from messages where conversation_id = ? and sender = ? "
                "order by seq desc limit 1",
                [conversation_id, Sender(sender)],
            ).fetchone()
            return self._message(self.db.conn, row[0]) if row else None

    def _message(self, conn: sqlite3.Connection, message_id: int) -> Message:
        row = conn.execute(
            "select id, conversation_id, seq, sender, text, channel, quick_replies, metadata, "
            "client_message_id, created_at from messages where id = ?",
            [message_id],
        ).fetchone()
        return Message(
            id=row[0], conversation_id=row[1], seq=row[2], sender=Sender(row[3]), text=row[4],
            channel=row[5], quick_replies=json.loads(row[6]), metadata=json.loads(row[7]),
            client_message_id=row[8], created_at=datetime.fromisoformat(row[9]),
        )  # fmt: skip

    # -- events ----------------------------------------------------------------------------
    def events(self, conversation_id: str) -> list[Event]:
        with self._lock:
            rows = self.db.execute(
                "select id, conversation_id, type, data, created_at from events "
                "where conversation_id = ? order by id",
                [conversation_id],
            ).fetchall()
        return [
            Event(id=r[0], conversation_id=r[1], type=r[2], data=json.loads(r[3]),
                  created_at=datetime.fromisoformat(r[4]))
            for r in rows
        ]  # fmt: skip

    def _record(
        self, conn: sqlite3.Connection, conversation_id: str, type: str, data: dict[str, Any]
    ) -> None:
        conn.execute(
            "insert into events (conversation_id, type, data, created_at) values (?, ?, ?, ?)",
            [conversation_id, type, json.dumps(data, ensure_ascii=False), _now().isoformat()],
        )
