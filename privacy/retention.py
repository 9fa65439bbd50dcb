"""Retention: conversations over for longer than ``retention_days`` are anonymised or deleted
(``retention_mode``), a batch per transaction, so a long history never holds the database for
long. A conversation is due when it is resolved or closed and nothing happened in it since the
cutoff: no change of state, no message, no rating. Open conversations are never touched.

Running it again changes nothing: anonymised conversations are marked and skipped, deleted
ones are gone. Texts sent outside any conversation (codes, keyword answers) older than the
cutoff go the same way. SMS opt-outs stay: they are the number's standing instruction.
"""

from datetime import datetime
from typing import Literal

from escalation import State
from escalation.database import Connection
from privacy.removal import (
    anonymise_conversations,
    delete_conversations,
    delete_customers,
    strip_customers,
)

Mode = Literal["anonymise", "delete"]
BATCH = 200  # conversations per transaction: other writers wait for one batch, not a run


def _due_sql(mode: Mode, what: str) -> str:
    done_before = "and c.anonymised_at is null" if mode == "anonymise" else ""
    return (
        f"select {what} from conversations c where c.state in ('{State.RESOLVED}', "
        f"'{State.CLOSED}') {done_before} and c.updated_at < :cutoff "
        "and not exists (select 1 from messages m where m.conversation_id = c.id "
        "and m.created_at >= :cutoff) "
        "and not exists (select 1 from feedback f where f.conversation_id = c.id "
        "and f.created_at >= :cutoff)"
    )


def _texts_sql(mode: Mode) -> str:
    """SQL (``where`` onwards): texts outside conversations, sent before the cutoff."""
    not_done = "and phone is not null" if mode == "anonymise" else ""
    return f"where conversation_id is null and created_at < :cutoff {not_done}"


def preview(conn: Connection, cutoff: datetime, mode: Mode) -> dict[str, int]:
    """What a run would do now, changing nothing."""
    params = {"cutoff": cutoff.isoformat()}
    (conversations,) = conn.execute(_due_sql(mode, "count(*)"), params).fetchone()
    (texts,) = conn.execute(
        f"select count(*) from sms_deliveries {_texts_sql(mode)}", params
    ).fetchone()
    return {"conversations": conversations, "sms_texts": texts}


def next_batch(
    conn: Connection, cutoff: datetime, mode: Mode, now: datetime
) -> tuple[list[str], dict[str, int]]:
    """Anonymise or delete the next batch of due conversations, and the customers left with
    nothing else; the conversations done (fewer than ``BATCH``: the last batch) and counts."""
    found = conn.execute(
        _due_sql(mode, "c.id, c.customer_id") + " order by c.updated_at limit :limit",
        {"cutoff": cutoff.isoformat(), "limit": BATCH},
    ).fetchall()
    conversations = [row[0] for row in found]
    customers = sorted({row[1] for row in found})
    if not found:
        return [], {}
    if mode == "delete":
        counts = delete_conversations(conn, conversations)
        counts["customers"] = delete_customers(conn, customers)
    else:
        counts = anonymise_conversations(conn, conversations, now)
        counts["customers"] = strip_customers(conn, customers)
    return conversations, counts


def old_texts(conn: Connection, cutoff: datetime, mode: Mode) -> int:
    """Texts outside conversations sent before the cutoff: numbers and words out, or deleted."""
    action = (
        "delete from sms_deliveries"
        if mode == "delete"
        else "update sms_deliveries set phone = null, body = null, sid = null"
    )
    return conn.execute(f"{action} {_texts_sql(mode)}", {"cutoff": cutoff.isoformat()}).rowcount
