"""Removing personal data from the tables: conversations deleted or anonymised, phone numbers
forgotten, customers deleted or stripped. Each function works inside the caller's transaction.

Anonymising keeps what the KPIs read (docs/kpis.md): the conversation's row (times, states,
channel, language, queue and SLA facts, resolution code, agent, reopens), the ratings, and the
events reduced to codes. It removes what a person said or could be recognised by: message texts,
comments, internal notes, the bot's record of the questions asked, phone numbers, the customer's
details, SMS bodies and Twilio's message ids, and the conversation's access token.
"""

import json
from datetime import datetime
from typing import Any

from escalation.database import Connection
from privacy.records import id_set, ids, merged_too

# Keys of the JSON of events, messages, conversations and audit entries whose values are
# codes, ids, states, flags or numbers, never anyone's words: anonymising keeps these and drops
# the rest, so a field added later is dropped until it is known to be safe. ``handoff`` is a
# dict, kept reduced the same way (its reason, priority and language; not the customer's turns
# or the bot's attempts).
CODES = {
    "from", "to", "by", "how", "agent_id", "to_agent", "agent", "team", "code", "channel",
    "locale", "reason", "priority", "language", "decision", "reaction", "article_id", "csat",
    "ces", "type", "amount", "survey", "vip", "handoff",
}  # fmt: skip


def scrubbed(data: Any) -> Any:
    """``data`` with only the keys in ``CODES``, at every level of dicts; lists dropped."""
    return {
        key: scrubbed(value) if isinstance(value, dict) else value
        for key, value in data.items()
        if key in CODES and not isinstance(value, list)
    }


def delete_conversations(conn: Connection, conversations: list[str]) -> dict[str, int]:
    """The conversations and everything hanging off them. Vouchers stay, unlinked: a grant is
    a financial record with nothing of the customer in it."""
    param = [ids(conversations)]
    counts = {
        "messages": conn.execute(
            f"delete from messages where conversation_id in {id_set(conn)}", param
        ),
        "sms_texts": conn.execute(
            f"delete from sms_deliveries where conversation_id in {id_set(conn)}", param
        ),
    }
    for table in ("events", "notes", "feedback", "sms_codes"):
        conn.execute(f"delete from {table} where conversation_id in {id_set(conn)}", param)
    conn.execute(
        f"update vouchers set conversation_id = null where conversation_id in {id_set(conn)}", param
    )
    conn.execute(
        f"update conversations set previous_id = null where previous_id in {id_set(conn)}", param
    )
    _scrub_audit(conn, conversations)
    deleted = conn.execute(f"delete from conversations where id in {id_set(conn)}", param).rowcount
    return {"conversations": deleted, **{name: c.rowcount for name, c in counts.items()}}


def anonymise_conversations(
    conn: Connection, conversations: list[str], at: datetime
) -> dict[str, int]:
    """Words out, facts kept (see the module's docstring); marked with ``anonymised_at``."""
    param = [ids(conversations)]
    messages = _rewrite_json(conn, "messages", "metadata", "conversation_id", conversations)
    conn.execute(
        f"update messages set text = '', quick_replies = '[]', client_message_id = null "
        f"where conversation_id in {id_set(conn)}",
        param,
    )
    _rewrite_json(conn, "events", "data", "conversation_id", conversations)
    _rewrite_json(conn, "conversations", "metadata", "id", conversations)
    conn.execute(
        f"update feedback set comment = null where conversation_id in {id_set(conn)}", param
    )
    conn.execute(f"delete from notes where conversation_id in {id_set(conn)}", param)
    conn.execute(f"delete from sms_codes where conversation_id in {id_set(conn)}", param)
    texts = conn.execute(
        f"update sms_deliveries set phone = null, body = null, sid = null "
        f"where conversation_id in {id_set(conn)}",
        param,
    ).rowcount
    _scrub_audit(conn, conversations)
    done = conn.execute(
        f"update conversations set token_hash = '', anonymised_at = ? where id in {id_set(conn)}",
        [at.isoformat(), *param],
    ).rowcount
    return {"conversations": done, "messages": messages, "sms_texts": texts}


def forget_phones(conn: Connection, phones: list[str]) -> int:
    """Texts to these numbers outside any conversation (codes, keyword answers) and their
    opt-outs; how many texts. Texts and codes in another customer's conversation stay: they
    are that customer's."""
    param = [ids(phones)]
    conn.execute(f"delete from sms_opt_outs where phone in {id_set(conn)}", param)
    return conn.execute(
        f"delete from sms_deliveries where conversation_id is null and phone in {id_set(conn)}",
        param,
    ).rowcount


def delete_customers(conn: Connection, customers: list[str]) -> int:
    """Those of ``customers`` with no conversation left, and the customers merged into them."""
    return conn.execute(
        f"delete from customers where id in ({merged_too(conn)}) "
        "and not exists (select 1 from conversations c where c.customer_id = customers.id)",
        [ids(customers)],
    ).rowcount


def strip_customers(conn: Connection, customers: list[str]) -> int:
    """Those of ``customers`` whose conversations are all anonymised keep only their id and
    creation time (the KPIs link a customer's conversations by it); customers merged into
    them, which have no conversations, are deleted. How many customers went either way."""
    retired = [
        row[0]
        for row in conn.execute(
            f"select id from customers where id in {id_set(conn)} and not exists (select 1 from "
            "conversations c where c.customer_id = customers.id and c.anonymised_at is null)",
            [ids(customers)],
        )
    ]
    merged = conn.execute(
        f"delete from customers where id in ({merged_too(conn)}) and id not in {id_set(conn)} "
        "and not exists (select 1 from conversations c where c.customer_id = customers.id)",
        [ids(retired), ids(retired)],
    ).rowcount
    stripped = conn.execute(
        f"update customers set phone = null, metadata = '{{}}' where id in {id_set(conn)}",
        [ids(retired)],
    ).rowcount
    return stripped + merged


def _rewrite_json(
    conn: Connection, table: str, column: str, key: str, conversations: list[str]
) -> int:
    """Reduce a JSON column to ``CODES`` in the conversations' rows; how many rows."""
    found = conn.execute(
        f"select id, {column} from {table} where {key} in {id_set(conn)}", [ids(conversations)]
    ).fetchall()
    conn.executemany(
        f"update {table} set {column} = ? where id = ?",
        [(json.dumps(scrubbed(json.loads(value)), ensure_ascii=False), id) for id, value in found],
    )
    return len(found)


def _scrub_audit(conn: Connection, conversations: list[str]) -> None:
    """Audit entries about the conversations keep who did what and when, not notes' words."""
    found = conn.execute(
        f"select id, data from audit where target in {id_set(conn)}", [ids(conversations)]
    ).fetchall()
    conn.executemany(
        "update audit set data = ? where id = ?",
        [(json.dumps(scrubbed(json.loads(data)), ensure_ascii=False), id) for id, data in found],
    )
