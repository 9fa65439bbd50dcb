"""Which rows hold one customer's personal data, across the conversation and SMS tables.

A customer is more than one row: earlier customers merged into this one when a phone number
proved they were the same person (``escalation.store.link_phone``), their conversations with
everything hanging off them, and the phone numbers: their own, and any they typed to receive
a code that is no other customer's number.
"""

import json
from dataclasses import dataclass
from typing import Any

from channels.sms_text import normalise_phone
from escalation import State
from escalation.database import Connection

# States in which a person is on the conversation or the customer waits for one.
ACTIVE = (State.QUEUED, State.ASSIGNED)


@dataclass(frozen=True)
class Footprint:
    customer_id: str
    identities: list[str]  # the customer, and the customers merged into it
    conversations: list[str]
    active: list[str]  # conversations waiting for or held by a person
    phones: list[str]


def ids(values: list[str]) -> str:
    """``values`` as the one parameter ``id_set`` reads."""
    return json.dumps(values)


def id_set(conn: Connection) -> str:
    """SQL: a set of ids given as one parameter (``ids``), however many."""
    return f"({conn.dialect.each_text('?')})"


def merged_too(conn: Connection) -> str:
    """SQL: the customers whose ids are the one parameter, and those merged into them, at
    any depth."""
    merged_into = conn.dialect.json_text("c.metadata", "merged_into")
    return (
        f"with recursive identity(id) as ({conn.dialect.each_text('?')} union "
        f"select c.id from customers c join identity i on {merged_into} = i.id) "
        "select id from identity"
    )


def footprint(conn: Connection, customer_id: str) -> Footprint | None:
    """Everything that identifies the customer's rows; None if there is no such customer."""
    if conn.execute("select 1 from customers where id = ?", [customer_id]).fetchone() is None:
        return None
    identities = [row[0] for row in conn.execute(merged_too(conn), [ids([customer_id])])]
    found = conn.execute(
        f"select id, state from conversations where customer_id in {id_set(conn)} "
        "order by created_at",
        [ids(identities)],
    ).fetchall()
    conversations = [row[0] for row in found]
    return Footprint(
        customer_id=customer_id,
        identities=identities,
        conversations=conversations,
        active=[row[0] for row in found if row[1] in ACTIVE],
        phones=_phones(conn, identities, conversations),
    )


def _phones(conn: Connection, identities: list[str], conversations: list[str]) -> list[str]:
    """The customer's own number, and numbers typed in their chats for a code, unless such a
    number is another customer's (a typo reaching a stranger stays the stranger's)."""
    found = conn.execute(
        f"select phone from customers where id in {id_set(conn)} and phone is not null "
        f"union select phone from sms_codes where conversation_id in {id_set(conn)} "
        f"and phone not in (select phone from customers where phone is not null "
        f"and id not in {id_set(conn)})",
        [ids(identities), ids(conversations), ids(identities)],
    ).fetchall()
    return sorted(row[0] for row in found)


def find(conn: Connection, text: str) -> str | None:
    """The customer a customer id, a conversation id or a phone number (as typed) names."""
    text = text.strip()
    row = conn.execute("select id from customers where id = ?", [text]).fetchone()
    if row is None:
        row = conn.execute("select customer_id from conversations where id = ?", [text]).fetchone()
    phone = normalise_phone(text)
    if row is None and phone is not None:
        row = conn.execute("select id from customers where phone = ?", [phone]).fetchone()
    return row[0] if row else None


def rows(conn: Connection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    """Rows as dicts keyed by column name."""
    cursor = conn.execute(sql, params)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]
