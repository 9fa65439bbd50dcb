"""Where conversations live: an interface, and its embedded SQLite implementation.

Each method is one transaction (see ``escalation.sqlite``). State changes check ``TRANSITIONS``
inside the transaction that makes them, so a late or repeated request can never move a
conversation backwards, and a claim is atomic: of two agents claiming at once, one wins.
"""

import hashlib
import hmac
import json
import secrets
import uuid
from datetime import datetime
from typing import Any, Protocol

from escalation.database import Connection, Database
from escalation.models import (
    TRANSITIONS,
    ClaimRefused,
    Conversation,
    Event,
    InvalidTransition,
    Message,
    NotFound,
    Priority,
    Sender,
    State,
    now,
)

CONVERSATION_COLUMNS = (
    "id, customer_id, channel, locale, state, created_at, updated_at, metadata, language, "
    "priority, reason, tags, team, assignee_id, queued_at, first_response_due, "
    "first_response_at, resolution_due, resolved_at, resolution_code, reply_later, previous_id, "
    "reply_channel"
)
MESSAGE_COLUMNS = (
    "id, conversation_id, seq, sender, text, channel, quick_replies, metadata, "
    "client_message_id, created_at"
)


class ConversationStore(Protocol):
    def create_conversation(
        self,
        channel: str,
        locale: str,
        customer_id: str | None = None,
        previous_id: str | None = None,
    ) -> tuple[Conversation, str]: ...
    def get(self, conversation_id: str) -> Conversation: ...
    def token_matches(self, conversation_id: str, token: str) -> bool: ...
    def rotate_token(self, conversation_id: str) -> str: ...
    def successor(self, conversation_id: str) -> Conversation | None: ...
    def add_message(
        self,
        conversation_id: str,
        sender: Sender,
        text: str,
        *,
        client_message_id: str | None = None,
        quick_replies: list[dict[str, str]] | None = None,
        metadata: dict[str, Any] | None = None,
        holder: str | None = None,
        channel: str | None = None,
    ) -> tuple[Message, bool]: ...
    def messages(self, conversation_id: str, after: int = 0) -> list[Message]: ...
    def outbound(self, channel: str, after_id: int, limit: int) -> list[Message]: ...
    def by_client_message_id(self, client_message_id: str, channel: str) -> Message | None: ...
    def last_message(self, conversation_id: str, sender: Sender) -> Message | None: ...
    def transition(
        self,
        conversation_id: str,
        to: State,
        data: dict[str, Any] | None = None,
        columns: dict[str, Any] | None = None,
    ) -> Conversation: ...
    def annotate(
        self, conversation_id: str, columns: dict[str, Any], type: str, data: dict[str, Any]
    ) -> Conversation: ...
    def claim(self, conversation_id: str, agent_id: str, data: dict[str, Any]) -> Conversation: ...
    def hand_to(
        self, conversation_id: str, agent_id: str, data: dict[str, Any]
    ) -> Conversation: ...
    def events(self, conversation_id: str, type: str | None = None) -> list[Event]: ...
    def in_state(self, *states: State) -> list[Conversation]: ...
    def held_by(self, agent_id: str) -> list[Conversation]: ...
    def quiet_after_answer(self, before: datetime) -> list[Conversation]: ...
    def of_customer(self, customer_id: str) -> list[Conversation]: ...
    def queue_position(self, conversation_id: str) -> int | None: ...
    def customer(self, customer_id: str) -> dict[str, Any]: ...
    def update_customer(self, customer_id: str, metadata: dict[str, Any]) -> dict[str, Any]: ...
    def customer_by_phone(self, phone: str, create: bool = False) -> str | None: ...
    def link_phone(self, customer_id: str, phone: str) -> None: ...
    def handling_times(self, limit: int) -> list[float]: ...
    def tell_queue(self, told: dict[str, list[int | None]]) -> set[str]: ...
    def add_feedback(
        self, conversation_id: str, csat: int, ces: int | None, comment: str | None
    ) -> dict[str, Any]: ...
    def feedback(self, conversation_id: str) -> dict[str, Any] | None: ...
    def add_rating(self, conversation_id: str, question: str, value: int) -> None: ...


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _conversation(row: tuple) -> Conversation:
    return Conversation(
        id=row[0], customer_id=row[1], channel=row[2], locale=row[3], state=State(row[4]),
        created_at=datetime.fromisoformat(row[5]), updated_at=datetime.fromisoformat(row[6]),
        metadata=json.loads(row[7]), language=row[8], priority=Priority(row[9] or "normal"),
        reason=row[10], tags=json.loads(row[11] or "[]"), team=row[12], assignee_id=row[13],
        queued_at=_time(row[14]), first_response_due=_time(row[15]),
        first_response_at=_time(row[16]), resolution_due=_time(row[17]),
        resolved_at=_time(row[18]), resolution_code=row[19], reply_later=bool(row[20]),
        previous_id=row[21], reply_channel=row[22],
    )  # fmt: skip


def _column_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return value


class SqlConversationStore:
    def __init__(self, database: Database):
        self.database = database

    # -- conversations ---------------------------------------------------------------------
    def create_conversation(
        self,
        channel: str,
        locale: str,
        customer_id: str | None = None,
        previous_id: str | None = None,
    ) -> tuple[Conversation, str]:
        """A new conversation with the bot, and the secret token that alone grants access to it."""
        token = secrets.token_urlsafe(32)
        created = now().isoformat()
        conversation_id = str(uuid.uuid4())
        with self.database.write() as conn:
            if customer_id is None:
                customer_id = str(uuid.uuid4())
                conn.execute(
                    "insert into customers (id, created_at, metadata) values (?, ?, '{}')",
                    [customer_id, created],
                )
            conn.execute(
                "insert into conversations (id, customer_id, channel, locale, state, token_hash, "
                "created_at, updated_at, metadata, previous_id) "
                "values (?, ?, ?, ?, ?, ?, ?, ?, '{}', ?)",
                [conversation_id, customer_id, channel, locale, State.BOT,
                 _token_hash(token), created, created, previous_id],
            )  # fmt: skip
            self._record(conn, conversation_id, "created", {"channel": channel, "locale": locale})
        return self.get(conversation_id), token

    def get(self, conversation_id: str) -> Conversation:
        with self.database.read() as conn:
            return self._get(conn, conversation_id)

    def _get(self, conn: Connection, conversation_id: str) -> Conversation:
        row = conn.execute(
            f"select {CONVERSATION_COLUMNS} from conversations where id = ?", [conversation_id]
        ).fetchone()
        if row is None:
            raise NotFound(conversation_id)
        return _conversation(row)

    def token_matches(self, conversation_id: str, token: str) -> bool:
        with self.database.read() as conn:
            row = conn.execute(
                "select token_hash from conversations where id = ?", [conversation_id]
            ).fetchone()
        return row is not None and hmac.compare_digest(row[0], _token_hash(token))

    def rotate_token(self, conversation_id: str) -> str:
        """A new customer token for the conversation; the old one stops working."""
        token = secrets.token_urlsafe(32)
        with self.database.write() as conn:
            self._get(conn, conversation_id)
            self._set(conn, conversation_id, {"token_hash": _token_hash(token)})
        return token

    def successor(self, conversation_id: str) -> Conversation | None:
        """The conversation started by a message to this one after it was over."""
        with self.database.read() as conn:
            row = conn.execute(
                f"select {CONVERSATION_COLUMNS} from conversations where previous_id = ? "
                "order by created_at limit 1",
                [conversation_id],
            ).fetchone()
        return _conversation(row) if row else None

    def transition(
        self,
        conversation_id: str,
        to: State,
        data: dict[str, Any] | None = None,
        columns: dict[str, Any] | None = None,
    ) -> Conversation:
        """Move to ``to``, set ``columns``, record it; refused unless ``TRANSITIONS`` allows it."""
        with self.database.write() as conn:
            current = self._get(conn, conversation_id)
            self._move(conn, current, to, data or {}, columns or {})
            return self._get(conn, conversation_id)

    def annotate(
        self, conversation_id: str, columns: dict[str, Any], type: str, data: dict[str, Any]
    ) -> Conversation:
        """Set ``columns`` without a change of state, and record an event of ``type``."""
        with self.database.write() as conn:
            self._get(conn, conversation_id)
            self._set(conn, conversation_id, {**columns, "updated_at": now()})
            self._record(conn, conversation_id, type, data)
            return self._get(conn, conversation_id)

    def _set(self, conn: Connection, conversation_id: str, columns: dict[str, Any]):
        assignments = ", ".join(f"{name} = ?" for name in columns)
        conn.execute(
            f"update conversations set {assignments} where id = ?",
            [*map(_column_value, columns.values()), conversation_id],
        )

    def claim(self, conversation_id: str, agent_id: str, data: dict[str, Any]) -> Conversation:
        """Queued -> held by ``agent_id``, if it is still queued and the agent has room."""
        with self.database.write() as conn:
            current = self._get(conn, conversation_id)
            if current.state == State.ASSIGNED and current.assignee_id == agent_id:
                return current  # a repeated claim by the holder changes nothing
            if current.state != State.QUEUED:
                holder = self._holder_name(conn, current)
                raise ClaimRefused(f"already taken by {holder}" if holder else current.state)
            self._check_capacity(conn, agent_id)
            self._move(conn, current, State.ASSIGNED, data, {"assignee_id": agent_id})
            conn.execute(
                "update agents set last_assigned_at = ? where id = ?",
                [now().isoformat(), agent_id],
            )
            return self._get(conn, conversation_id)

    def hand_to(self, conversation_id: str, agent_id: str, data: dict[str, Any]) -> Conversation:
        """A held conversation to another agent (a transfer), if that agent has room."""
        with self.database.write() as conn:
            current = self._get(conn, conversation_id)
            if current.state != State.ASSIGNED:
                raise InvalidTransition(f"{conversation_id} is {current.state}, not held")
            self._check_capacity(conn, agent_id)
            self._set(conn, conversation_id, {"assignee_id": agent_id, "updated_at": now()})
            self._record(conn, conversation_id, "transfer", {"to_agent": agent_id, **data})
            return self._get(conn, conversation_id)

    def _check_capacity(self, conn: Connection, agent_id: str) -> None:
        row = conn.execute(
            "select capacity, (select count(*) from conversations where assignee_id = agents.id "
            "and state = ?) from agents where id = ? and not disabled",
            [State.ASSIGNED, agent_id],
        ).fetchone()
        if row is None:
            raise NotFound(f"agent {agent_id}")
        if row[1] >= row[0]:
            raise ClaimRefused(f"at capacity ({row[1]} of {row[0]} conversations)")

    def _holder_name(self, conn: Connection, conversation: Conversation) -> str | None:
        if conversation.state != State.ASSIGNED or not conversation.assignee_id:
            return None
        row = conn.execute(
            "select display_name from agents where id = ?", [conversation.assignee_id]
        ).fetchone()
        return row[0] if row else None

    def _move(
        self,
        conn: Connection,
        current: Conversation,
        to: State,
        data: dict[str, Any],
        columns: dict[str, Any],
    ) -> None:
        if to not in TRANSITIONS[current.state]:
            raise InvalidTransition(f"{current.id}: {current.state} -> {to} is not allowed")
        if to != State.QUEUED:  # told again of their place if they come back to the queue
            columns = {**columns, "queue_told": None}
        self._set(conn, current.id, {**columns, "state": to, "updated_at": now()})
        self._record(conn, current.id, "state", {"from": current.state, "to": to, **data})
        if to == State.ASSIGNED:
            conn.execute(
                "update conversations set first_assigned_at = coalesce(first_assigned_at, ?) "
                "where id = ?",
                [now().isoformat(), current.id],
            )
        if current.state == State.RESOLVED and to in (State.ASSIGNED, State.BOT):
            conn.execute(
                "update conversations set reopens = reopens + 1 where id = ?", [current.id]
            )

    def in_state(self, *states: State) -> list[Conversation]:
        """Conversations in these states; queued ones in the order they will be served."""
        marks = ", ".join("?" for _ in states)
        with self.database.read() as conn:
            rows = conn.execute(
                f"select {CONVERSATION_COLUMNS} from conversations where state in ({marks}) "
                "order by queue_key, queued_at, created_at",
                list(states),
            ).fetchall()
        return [_conversation(row) for row in rows]

    def quiet_after_answer(self, before: datetime) -> list[Conversation]:
        """Conversations with the bot whose last customer message got an answer from the
        knowledge base, and where nothing was said since ``before``."""
        with self.database.read() as conn:
            rows = conn.execute(
                f"select {CONVERSATION_COLUMNS} from conversations c where state = ? and "
                "(select max(created_at) from messages m where m.conversation_id = c.id) < ? "
                "and exists (select 1 from messages a where a.conversation_id = c.id "
                f"and a.sender = ? and {conn.dialect.json_text('a.metadata', 'article_id')} "
                "is not null "
                "and a.seq > coalesce((select max(seq) from messages q "
                "where q.conversation_id = c.id and q.sender = ?), 0))",
                [State.BOT, before.isoformat(), Sender.BOT, Sender.CUSTOMER],
            ).fetchall()
        return [_conversation(row) for row in rows]

    def held_by(self, agent_id: str) -> list[Conversation]:
        with self.database.read() as conn:
            rows = conn.execute(
                f"select {CONVERSATION_COLUMNS} from conversations "
                "where assignee_id = ? and state = ? order by queued_at",
                [agent_id, State.ASSIGNED],
            ).fetchall()
        return [_conversation(row) for row in rows]

    def of_customer(self, customer_id: str) -> list[Conversation]:
        with self.database.read() as conn:
            rows = conn.execute(
                f"select {CONVERSATION_COLUMNS} from conversations where customer_id = ? "
                "order by created_at desc",
                [customer_id],
            ).fetchall()
        return [_conversation(row) for row in rows]

    def queue_position(self, conversation_id: str) -> int | None:
        """1 for the conversation served next; None when not queued."""
        with self.database.read() as conn:
            row = conn.execute(
                "select state, queue_key, id from conversations where id = ?", [conversation_id]
            ).fetchone()
            if row is None or row[0] != State.QUEUED:
                return None
            (ahead,) = conn.execute(
                "select count(*) from conversations where state = ? "
                "and (queue_key < ? or (queue_key = ? and id < ?))",
                [State.QUEUED, row[1], row[1], row[2]],
            ).fetchone()
        return ahead + 1

    def tell_queue(self, told: dict[str, list[int | None]]) -> set[str]:
        """Record what each waiting customer now hears (conversation id -> [place, minutes]),
        in one transaction; the conversations for which that is news. Whoever records a change
        tells it, once."""
        changed = set()
        with self.database.write() as conn:
            for conversation_id, standing in told.items():
                value = json.dumps(standing)
                if conn.execute(
                    "update conversations set queue_told = ? where id = ? "
                    "and queue_told is distinct from ?",
                    [value, conversation_id, value],
                ).rowcount:
                    changed.add(conversation_id)
        return changed

    def handling_times(self, limit: int) -> list[float]:
        """Seconds from the first claim to resolution, of the latest resolved conversations."""
        with self.database.read() as conn:
            first_claim = (
                "(select min(e.created_at) from events e where e.conversation_id = c.id "
                f"and e.type = 'state' and {conn.dialect.json_text('e.data', 'to')} = 'assigned')"
            )
            rows = conn.execute(
                f"select {conn.dialect.seconds('c.resolved_at', first_claim)} "
                "from (select id, resolved_at from conversations where resolved_at is not null "
                "and assignee_id is not null "
                "order by resolved_at desc limit ?) c",
                [limit],
            ).fetchall()
        return [row[0] for row in rows if row[0] is not None and row[0] >= 0]

    # -- feedback --------------------------------------------------------------------------
    def add_feedback(
        self, conversation_id: str, csat: int, ces: int | None, comment: str | None
    ) -> dict[str, Any]:
        """The customer's rating of a resolved conversation; once, and only once it is over."""
        with self.database.write() as conn:
            conversation = self._get(conn, conversation_id)
            if conversation.state not in (State.RESOLVED, State.CLOSED):
                raise InvalidTransition(f"{conversation_id} is {conversation.state}, not resolved")
            if conn.execute(
                "select 1 from feedback where conversation_id = ?", [conversation_id]
            ).fetchone():
                raise InvalidTransition(f"{conversation_id} has feedback already")
            conn.execute(
                "insert into feedback (conversation_id, csat, ces, comment, agent_id, channel, "
                "created_at) values (?, ?, ?, ?, ?, ?, ?)",
                [conversation_id, csat, ces, comment, conversation.assignee_id,
                 conversation.route, now().isoformat()],
            )  # fmt: skip
            self._record(conn, conversation_id, "feedback", {"csat": csat, "ces": ces})
        return {"csat": csat, "ces": ces, "comment": comment}

    def add_rating(self, conversation_id: str, question: str, value: int) -> None:
        """One answer to a survey asked one question at a time (``csat``, then ``ces``), as by
        SMS; a question answered before keeps its first answer."""
        if question not in ("csat", "ces"):
            raise ValueError(f"no survey question {question!r}")
        with self.database.write() as conn:
            conversation = self._get(conn, conversation_id)
            conn.execute(
                "insert into feedback (conversation_id, agent_id, channel, created_at) "
                "values (?, ?, ?, ?) on conflict do nothing",
                [conversation_id, conversation.assignee_id, conversation.route,
                 now().isoformat()],
            )  # fmt: skip
            changed = conn.execute(
                f"update feedback set {question} = ? where conversation_id = ? "
                f"and {question} is null",
                [value, conversation_id],
            ).rowcount
            if changed:
                self._record(conn, conversation_id, "feedback", {question: value})

    def feedback(self, conversation_id: str) -> dict[str, Any] | None:
        with self.database.read() as conn:
            row = conn.execute(
                "select csat, ces, comment from feedback where conversation_id = ?",
                [conversation_id],
            ).fetchone()
        return {"csat": row[0], "ces": row[1], "comment": row[2]} if row else None

    # -- customers -------------------------------------------------------------------------
    def customer(self, customer_id: str) -> dict[str, Any]:
        with self.database.read() as conn:
            row = conn.execute(
                "select id, created_at, metadata, phone from customers where id = ?", [customer_id]
            ).fetchone()
        if row is None:
            raise NotFound(f"customer {customer_id}")
        return {"id": row[0], "created_at": row[1], **json.loads(row[2]), "phone": row[3]}

    def customer_by_phone(self, phone: str, create: bool = False) -> str | None:
        """The customer this phone number (E.164) belongs to; with ``create``, a new one if
        none does, so a returning texter is always the same customer."""
        with self.database.write() as conn:
            row = conn.execute("select id from customers where phone = ?", [phone]).fetchone()
            if row is not None or not create:
                return row[0] if row else None
            customer_id = str(uuid.uuid4())
            conn.execute(
                "insert into customers (id, created_at, metadata, phone) values (?, ?, '{}', ?)",
                [customer_id, now().isoformat(), phone],
            )
            return customer_id

    def link_phone(self, customer_id: str, phone: str) -> None:
        """The phone is now this customer's (a web customer proved it with a texted code).

        If the number already was another customer's, that customer's conversations become
        this one's: it was the same person, and agents should see one history.
        """
        with self.database.write() as conn:
            row = conn.execute("select id from customers where phone = ?", [phone]).fetchone()
            if row is not None and row[0] != customer_id:
                conn.execute(
                    "update conversations set customer_id = ? where customer_id = ?",
                    [customer_id, row[0]],
                )
                merged = conn.dialect.with_json_text("metadata", "merged_into", "?")
                conn.execute(
                    f"update customers set phone = null, metadata = {merged} where id = ?",
                    [customer_id, row[0]],
                )
            conn.execute("update customers set phone = ? where id = ?", [phone, customer_id])

    def update_customer(self, customer_id: str, metadata: dict[str, Any]) -> dict[str, Any]:
        """Merge ``metadata`` (e.g. ``{"vip": true}``) into what is known of the customer."""
        with self.database.write() as conn:
            row = conn.execute(
                "select metadata from customers where id = ?", [customer_id]
            ).fetchone()
            if row is None:
                raise NotFound(f"customer {customer_id}")
            merged = {**json.loads(row[0]), **metadata}
            conn.execute(
                "update customers set metadata = ? where id = ?",
                [json.dumps(merged, ensure_ascii=False), customer_id],
            )
        return self.customer(customer_id)

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
        holder: str | None = None,
        channel: str | None = None,
    ) -> tuple[Message, bool]:
        """Store a message; ``(message, False)`` if this ``client_message_id`` was stored before.

        ``holder``: only this agent may send, and only while they hold the conversation (checked
        in the same transaction, so a transfer cannot slip between the check and the write).
        ``channel``: where a customer's message came from; replies go out on the channel the
        customer used last (``Conversation.route``), which that message moves in the same write.
        """
        with self.database.write() as conn:
            conversation = self._get(conn, conversation_id)
            if client_message_id is not None:
                existing = conn.execute(
                    "select id from messages where conversation_id = ? and client_message_id = ?",
                    [conversation_id, client_message_id],
                ).fetchone()
                if existing is not None:
                    return self._message(conn, existing[0]), False
            if holder is not None:
                self._check_holder(conn, conversation, holder)
            (seq,) = conn.execute(
                "select coalesce(max(seq), 0) + 1 from messages where conversation_id = ?",
                [conversation_id],
            ).fetchone()
            if channel is None:  # a reply goes where the customer is
                channel = conversation.channel if sender == Sender.CUSTOMER else conversation.route
            created = now().isoformat()
            (message_id,) = conn.execute(
                f"insert into messages ({MESSAGE_COLUMNS.removeprefix('id, ')}) "
                "values (?, ?, ?, ?, ?, ?, ?, ?, ?) returning id",
                [
                    conversation_id, seq, Sender(sender), text, channel,
                    json.dumps(quick_replies or [], ensure_ascii=False),
                    json.dumps(metadata or {}, ensure_ascii=False), client_message_id, created,
                ],
            ).fetchone()  # fmt: skip
            if sender == Sender.CUSTOMER and channel != conversation.route:
                conn.execute(  # replies follow the customer to the channel they used
                    "update conversations set reply_channel = ? where id = ?",
                    [channel, conversation_id],
                )
            if sender == Sender.AGENT and conversation.first_response_at is None:
                conn.execute(
                    "update conversations set first_response_at = ? where id = ?",
                    [created, conversation_id],
                )
            return self._message(conn, message_id), True

    def _check_holder(self, conn: Connection, conversation: Conversation, agent: str):
        if conversation.state == State.ASSIGNED and conversation.assignee_id == agent:
            return
        holder = self._holder_name(conn, conversation)
        raise ClaimRefused(
            f"held by {holder}" if holder else f"not held by you (it is {conversation.state})"
        )

    def messages(self, conversation_id: str, after: int = 0) -> list[Message]:
        with self.database.read() as conn:
            rows = conn.execute(
                f"select {MESSAGE_COLUMNS} from messages where conversation_id = ? and seq > ? "
                "order by seq",
                [conversation_id, after],
            ).fetchall()
        return [_message(row) for row in rows]

    def outbound(self, channel: str, after_id: int, limit: int) -> list[Message]:
        """Messages to customers sent on ``channel`` after message ``after_id``, oldest first:
        a channel that is not live (SMS) delivers what it finds here, so a message committed
        before a crash still goes out after it."""
        with self.database.read() as conn:
            rows = conn.execute(
                f"select {MESSAGE_COLUMNS} from messages where channel = ? and id > ? "
                "and sender != ? order by id limit ?",
                [channel, after_id, Sender.CUSTOMER, limit],
            ).fetchall()
        return [_message(row) for row in rows]

    def by_client_message_id(self, client_message_id: str, channel: str) -> Message | None:
        """A message by the id its channel gave it (an SMS's MessageSid is unique everywhere)."""
        with self.database.read() as conn:
            row = conn.execute(
                f"select {MESSAGE_COLUMNS} from messages where client_message_id = ? "
                "and channel = ?",
                [client_message_id, channel],
            ).fetchone()
        return _message(row) if row else None

    def last_message(self, conversation_id: str, sender: Sender) -> Message | None:
        with self.database.read() as conn:
            row = conn.execute(
                f"select {MESSAGE_COLUMNS} from messages where conversation_id = ? and sender = ? "
                "order by seq desc limit 1",
                [conversation_id, Sender(sender)],
            ).fetchone()
        return _message(row) if row else None

    def _message(self, conn: Connection, message_id: int) -> Message:
        row = conn.execute(
            f"select {MESSAGE_COLUMNS} from messages where id = ?", [message_id]
        ).fetchone()
        return _message(row)

    # -- events ----------------------------------------------------------------------------
    def events(self, conversation_id: str, type: str | None = None) -> list[Event]:
        with self.database.read() as conn:
            rows = conn.execute(
                "select id, conversation_id, type, data, created_at from events "
                "where conversation_id = ? and (cast(? as text) is null or type = ?) order by id",
                [conversation_id, type, type],
            ).fetchall()
        return [
            Event(id=r[0], conversation_id=r[1], type=r[2], data=json.loads(r[3]),
                  created_at=datetime.fromisoformat(r[4]))
            for r in rows
        ]  # fmt: skip

    def _record(
        self, conn: Connection, conversation_id: str, type: str, data: dict[str, Any]
    ) -> None:
        conn.execute(
            "insert into events (conversation_id, type, data, created_at) values (?, ?, ?, ?)",
            [conversation_id, type, json.dumps(data, ensure_ascii=False), now().isoformat()],
        )


def _message(row: tuple) -> Message:
    return Message(
        id=row[0], conversation_id=row[1], seq=row[2], sender=Sender(row[3]), text=row[4],
        channel=row[5], quick_replies=json.loads(row[6]), metadata=json.loads(row[7]),
        client_message_id=row[8], created_at=datetime.fromisoformat(row[9]),
    )  # fmt: skip
