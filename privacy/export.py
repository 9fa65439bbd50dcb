"""Everything held about one customer, as one JSON document (the right of access).

Whole rows are exported (``select *``), so a column added later is exported without a change
here; only secrets are left out: token and code hashes open nothing for the customer and would
help someone else guess.
"""

import json
from datetime import datetime
from typing import Any

from escalation.database import Connection
from privacy.records import Footprint, id_set, ids, rows

EXPORT_FORMAT = "helpdesk.customer-export"
EXPORT_VERSION = 1  # raised whenever a field changes meaning or goes away
SECRETS = {"token_hash", "code_hash"}
JSON_COLUMNS = {"metadata", "data", "quick_replies", "tags"}  # stored as JSON text


def export(conn: Connection, footprint: Footprint, at: datetime) -> dict[str, Any]:
    """The customer, their conversations (each with its messages, events, feedback, notes,
    vouchers, texts and codes), and the texts and opt-outs of their phone numbers."""
    customers = _clean(
        rows(
            conn, f"select * from customers where id in {id_set(conn)}", [ids(footprint.identities)]
        )
    )
    [customer] = [c for c in customers if c["id"] == footprint.customer_id]
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": at.isoformat(),
        "customer": customer,
        "merged_customers": [c for c in customers if c["id"] != footprint.customer_id],
        "phones": footprint.phones,
        "conversations": [_conversation(conn, c) for c in footprint.conversations],
        "sms": {
            "texts": _clean(
                rows(
                    conn,
                    f"select * from sms_deliveries where conversation_id is null "
                    f"and phone in {id_set(conn)} order by id",
                    [ids(footprint.phones)],
                )
            ),
            "opt_outs": rows(
                conn,
                f"select * from sms_opt_outs where phone in {id_set(conn)}",
                [ids(footprint.phones)],
            ),
        },
    }


def _conversation(conn: Connection, conversation_id: str) -> dict[str, Any]:
    def of(sql: str) -> list[dict[str, Any]]:
        return _clean(rows(conn, sql, [conversation_id]))

    [conversation] = of("select * from conversations where id = ?")
    feedback = of("select * from feedback where conversation_id = ?")
    return {
        **conversation,
        "messages": of("select * from messages where conversation_id = ? order by seq"),
        "events": of("select * from events where conversation_id = ? order by id"),
        "feedback": feedback[0] if feedback else None,
        "notes": of(
            "select n.id, n.text, n.created_at, a.display_name as author from notes n "
            "left join agents a on a.id = n.agent_id where n.conversation_id = ? order by n.id"
        ),
        "vouchers": of(
            "select id, type, amount, currency, code, created_at from vouchers "
            "where conversation_id = ? order by id"
        ),
        "sms_texts": of("select * from sms_deliveries where conversation_id = ? order by id"),
        "sms_codes": of("select * from sms_codes where conversation_id = ? order by id"),
    }


def _clean(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Secrets out; JSON columns as JSON, not as strings of it."""
    return [
        {
            name: json.loads(value) if name in JSON_COLUMNS and isinstance(value, str) else value
            for name, value in record.items()
            if name not in SECRETS
        }
        for record in records
    ]
