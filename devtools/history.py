"""A synthetic support history, so that a first ``make run`` has a manager dashboard worth
looking at, and the KPI benchmark a busy desk's database.

``seed_history`` writes weeks of conversations ending now into the service's own database,
through its real schema: customers, conversations with the facts the store keeps on them,
messages, events (state changes, the bot's outcomes, ratings, transfers), feedback, notes,
and the SMS texts as delivered. How the conversations go is ``devtools.history_flows``; what
each step writes, ``devtools.history_story``. The people are the demo accounts
(``helpdesk.demo``) and a few demo agents made here, whose passwords nobody is shown.

Everything seeded is marked (``"demo": true`` in the conversation's and customer's metadata)
and replaced by the next seeding; live conversations are never touched. Its ids are random
UUIDs like the store's, so live use after seeding goes on as on any database. The texts it
records as sent by SMS are marked delivered, so the SMS worker never texts the made-up
numbers.
"""

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tqdm import tqdm

from channels.sms import render_sms
from channels.sms_store import SqlSmsStore
from channels.twilio import segments
from devtools.history_flows import TEAM, History, Worker
from devtools.history_story import Story, iso, twilio_sid
from escalation import Message, NotFound, Role, Sender, SqlAgents
from escalation.database import Connection, Database
from helpdesk.demo import DEMO_ACCOUNTS
from helpdesk.settings import Settings
from knowledge import KnowledgeBase

FLUSH = 20_000  # messages written at a time
CONVERSATION_COLUMNS = (
    "id", "customer_id", "channel", "locale", "state", "token_hash", "created_at",
    "updated_at", "metadata", "language", "priority", "reason", "tags", "team", "assignee_id",
    "queued_at", "queue_key", "first_response_due", "first_response_at", "resolution_due",
    "resolved_at", "resolution_code", "reply_later", "previous_id", "reply_channel",
    "first_assigned_at", "reopens",
)  # fmt: skip


@dataclass(frozen=True)
class Seeded:
    """What one seeding wrote (and replaced)."""

    start: datetime
    end: datetime
    seed: int
    conversations: int
    messages: int
    customers: int
    replaced: int  # conversations of the earlier demo history


def seed_history(
    database: Database,
    knowledge: KnowledgeBase,
    settings: Settings,
    days: float,
    conversations: int,
    seed: int | None = None,
    messages: int | None = None,
    end: datetime | None = None,
    progress: bool = True,
) -> Seeded:
    """About ``conversations`` conversations over the ``days`` up to ``end`` (default now),
    in place of any earlier demo history, in one transaction. ``seed``: the same seed, end
    and knowledge base give the same history (default: a new one each time). ``messages``:
    about this many messages in all."""
    end = (end or datetime.now(UTC)).astimezone(UTC)
    seed = secrets.randbits(32) if seed is None else seed
    workers = demo_team(SqlAgents(database))
    SqlSmsStore(database)  # the SMS tables, for the texts sent
    history = History(knowledge, settings, workers, seed, end - timedelta(days=days), end)
    writer = _Writer(history, knowledge, settings, progress)
    with database.write() as conn:
        conn.execute(conn.dialect.defer_foreign_keys)  # messages come before their rows
        replaced = _remove(conn)
        written = writer.write(conn, conversations, messages)
    return Seeded(history.start, end, seed, written, writer.messages, len(history.customers),
                  replaced)  # fmt: skip


def demo_team(agents: SqlAgents) -> list[Worker]:
    """The people of the history: the demo accounts if they exist (they are made on the
    first start only), and the demo agents, made here if missing. Nobody is shown the demo
    agents' passwords: they are there to have worked, not to sign in."""
    workers = []
    demo_accounts = {username for username, _, _ in DEMO_ACCOUNTS}
    for member in TEAM:
        try:
            agent = agents.by_username(member.username)
        except NotFound:
            if member.username in demo_accounts:
                continue
            agent = agents.add(
                member.username, secrets.token_urlsafe(24), Role.AGENT, display_name=member.name,
                languages=list(member.languages), tags=list(member.tags),
            )  # fmt: skip
            agents.audit(None, "user_added", member.username, role="agent", by="demo history")
        workers.append(Worker(member, agent.id, agent.display_name))
    return workers


def _remove(conn: Connection) -> int:
    """Delete the earlier demo history, and its customers who have nothing else."""
    demo = conn.dialect.json_text("metadata", "demo")
    conn.execute(
        f"create temp table demo_ids as select id from conversations where {demo} is not null"
    )
    for table in ("messages", "events", "feedback", "notes", "vouchers", "sms_deliveries",
                  "sms_codes"):  # fmt: skip
        conn.execute(f"delete from {table} where conversation_id in (select id from demo_ids)")
    conn.execute(  # a live conversation that followed on from a demo one
        "update conversations set previous_id = null where previous_id in "
        "(select id from demo_ids) and id not in (select id from demo_ids)"
    )
    removed = conn.execute(
        "delete from conversations where id in (select id from demo_ids)"
    ).rowcount
    conn.execute(
        f"delete from customers where {demo} is not null and not exists "
        "(select 1 from conversations c where c.customer_id = customers.id)"
    )
    conn.execute("drop table demo_ids")
    return removed


class _Writer:
    """The history's rows into the tables: messages (and their SMS texts) as the stories
    come, everything else once all are told (a later conversation can still close an
    earlier one)."""

    def __init__(
        self, history: History, knowledge: KnowledgeBase, settings: Settings, progress: bool
    ):
        self.history, self.knowledge, self.settings = history, knowledge, settings
        self.progress = progress
        self.messages = 0
        self._bodies: dict[tuple, list[str]] = {}

    def write(self, conn: Connection, count: int, messages: int | None) -> int:
        (self.next_id,) = conn.execute("select coalesce(max(id), 0) + 1 from messages").fetchone()
        stories, rows, texts = [], [], []
        told = tqdm(self.history.stories(count, messages), total=count, desc="conversations",
                    unit="conv", mininterval=1, disable=not self.progress)  # fmt: skip
        for story in told:
            stories.append(story)
            self._message_rows(story, rows, texts)
            if len(rows) >= FLUSH:
                self._flush(conn, rows, texts)
        self._flush(conn, rows, texts)
        self._conversation_rows(conn, stories)
        return len(stories)

    def _message_rows(self, story: Story, rows: list, texts: list) -> None:
        phone = self.history.by_id[story.row["customer_id"]].phone
        for message in story.messages:
            rows.append((self.next_id, *message))
            if phone and message[2] != Sender.CUSTOMER:
                texts += self._texts(self.next_id, story, message, phone)
            self.next_id += 1
        self.messages += len(story.messages)
        story.messages.clear()  # written: not kept for the rest of the history

    def _texts(self, message_id: int, story: Story, message: list, phone: str) -> list[tuple]:
        """The SMS texts a message went out as, delivered."""
        _, seq, sender, text, channel, buttons, metadata, _, at = message
        key = (text, buttons, metadata, story.language)
        if key not in self._bodies:
            rendered = Message(
                id=message_id, conversation_id=story.id, seq=seq, sender=Sender(sender), text=text,
                channel=channel, created_at=datetime.fromisoformat(at),
                quick_replies=json.loads(buttons), metadata=json.loads(metadata),
            )  # fmt: skip
            self._bodies[key] = render_sms(rendered, story.language, self.knowledge, self.settings)
        delivered = iso(datetime.fromisoformat(at) + timedelta(seconds=3))
        return [
            (message_id, story.id, part, phone, body, segments(body), "delivered",
             twilio_sid(self.history.rng), 1, at, delivered)
            for part, body in enumerate(self._bodies[key], start=1)
        ]  # fmt: skip

    def _flush(self, conn: Connection, rows: list, texts: list) -> None:
        conn.executemany(
            "insert into messages (id, conversation_id, seq, sender, text, channel, "
            "quick_replies, metadata, client_message_id, created_at) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        conn.executemany(
            "insert into sms_deliveries (message_id, conversation_id, part, phone, body, "
            "segments, status, sid, attempts, created_at, updated_at) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            texts,
        )
        rows.clear()
        texts.clear()

    def _conversation_rows(self, conn: Connection, stories: list[Story]) -> None:
        conn.executemany(
            "insert into customers (id, created_at, metadata, phone) values (?, ?, ?, ?)",
            [(c.id, iso(c.created), json.dumps({"demo": True, "vip": c.vip} if c.vip
              else {"demo": True}), c.phone) for c in self.history.customers],
        )  # fmt: skip
        marks = ", ".join("?" for _ in CONVERSATION_COLUMNS)
        conn.executemany(
            f"insert into conversations ({', '.join(CONVERSATION_COLUMNS)}) values ({marks})",
            [_conversation_row(story.row) for story in stories],
        )
        events = sorted((e for story in stories for e in story.events), key=lambda e: e[3])
        conn.executemany(
            "insert into events (conversation_id, type, data, created_at) values (?, ?, ?, ?)",
            tqdm(events, desc="events", unit="ev", mininterval=1, disable=not self.progress),
        )
        conn.executemany(
            "insert into feedback (conversation_id, csat, ces, comment, agent_id, channel, "
            "created_at) values (?, ?, ?, ?, ?, ?, ?)",
            [story.feedback for story in stories if story.feedback],
        )
        conn.executemany(
            "insert into notes (conversation_id, agent_id, text, created_at) values (?, ?, ?, ?)",
            [note for story in stories for note in story.notes],
        )
        conn.executemany(  # as claims keep it, for fair assignment between equals
            "update agents set last_assigned_at = case when last_assigned_at > ? "
            "then last_assigned_at else ? end where id = ?",
            [(iso(at), iso(at), agent_id) for agent_id, at in self.history.last_assigned.items()],
        )
        if conn.dialect.catch_up_ids:  # the messages were written with ids of their own
            conn.execute(conn.dialect.catch_up_ids.format(table="messages"))


def _conversation_row(row: dict[str, Any]) -> list[Any]:
    values = dict(row, metadata=json.dumps(row["metadata"], ensure_ascii=False))
    if isinstance(row.get("tags"), list):
        values["tags"] = json.dumps(row["tags"], ensure_ascii=False)
    return [values.get(name) for name in CONVERSATION_COLUMNS]
