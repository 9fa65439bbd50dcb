"""The conversation tables and their history, as sqlite-utils migrations (applied on open)."""

from sqlite_utils import Database, Migrations

migrations = Migrations("escalation")


@migrations()
def m001_conversations(db: Database) -> None:
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


@migrations()
def m002_agents_and_queue(db: Database) -> None:
    db["agents"].create(
        {
            "id": str, "username": str, "display_name": str, "role": str, "password_hash": str,
            "disabled": int, "presence": str, "capacity": int, "languages": str, "tags": str,
            "team": str, "created_at": str, "last_assigned_at": str,
        },
        pk="id", not_null={"username", "role", "password_hash"},
        defaults={"disabled": 0, "presence": "offline", "capacity": 3, "languages": "[]",
                  "tags": "[]", "last_assigned_at": ""},
    )  # fmt: skip
    db["agents"].create_index(["username"], unique=True)
    db["sessions"].create(
        {"token_hash": str, "agent_id": str, "kind": str, "created_at": str, "expires_at": str},
        pk="token_hash",
        foreign_keys=[("agent_id", "agents", "id")],
    )
    db["audit"].create(
        {"id": int, "at": str, "actor_id": str, "action": str, "target": str, "data": str},
        pk="id",
    )
    # The queue lives on the conversation: who holds it, its priority, its place, its deadlines.
    columns = {
        "language": str, "priority": str, "reason": str, "tags": str, "team": str,
        "assignee_id": str, "queued_at": str, "queue_key": float, "first_response_due": str,
        "first_response_at": str, "resolution_due": str, "resolved_at": str,
        "resolution_code": str, "reply_later": int, "previous_id": str,
    }  # fmt: skip
    for name, kind in columns.items():
        db["conversations"].add_column(name, kind)
    db["conversations"].create_index(["state", "queue_key"])
    db["conversations"].create_index(["assignee_id", "state"])
    db["conversations"].create_index(["customer_id"])
    db["conversations"].create_index(["resolved_at"])
    db["notes"].create(
        {"id": int, "conversation_id": str, "agent_id": str, "text": str, "created_at": str},
        pk="id", foreign_keys=[("conversation_id", "conversations", "id"),
                               ("agent_id", "agents", "id")],
    )  # fmt: skip
    db["notes"].create_index(["conversation_id"])
    db["canned"].create(
        {"id": int, "title": str, "language": str, "text": str, "updated_by": str,
         "updated_at": str},
        pk="id",
    )  # fmt: skip
    db["vouchers"].create(
        {"id": int, "conversation_id": str, "agent_id": str, "type": str, "amount": float,
         "currency": str, "code": str, "created_at": str},
        pk="id", foreign_keys=[("conversation_id", "conversations", "id"),
                               ("agent_id", "agents", "id")],
    )  # fmt: skip
    db["vouchers"].create_index(["code"], unique=True)


@migrations()
def m003_channels(db: Database) -> None:
    # A phone number is a customer identity: a returning texter is the same customer.
    db["customers"].add_column("phone", str)
    db["customers"].create_index(["phone"], unique=True)
    # Where replies go: the channel the customer wrote from last (or chose, moving to SMS).
    db["conversations"].add_column("reply_channel", str)
    # Outbound messages on a channel that is not live (SMS) are found by their channel.
    db["messages"].create_index(["channel", "id"])
    db["messages"].create_index(["client_message_id"])


@migrations()
def m004_feedback(db: Database) -> None:
    # What the customer said of a resolved conversation: satisfaction (CSAT) and effort (CES),
    # once per conversation, with who resolved it (an agent, or none for the bot).
    db["feedback"].create(
        {
            "conversation_id": str, "csat": int, "ces": int, "comment": str, "agent_id": str,
            "channel": str, "created_at": str,
        },
        pk="conversation_id", foreign_keys=[("conversation_id", "conversations", "id")],
    )  # fmt: skip


@migrations()
def m005_facts_for_kpis(db: Database) -> None:
    # Kept on the conversation as they happen, so the KPIs read one row per conversation
    # instead of its history (docs/kpis.md): when a person first picked it up, and how often
    # the customer reopened it after resolution.
    db["conversations"].add_column("first_assigned_at", str)
    db["conversations"].add_column("reopens", int, not_null_default=0)
    db.execute(
        "update conversations set first_assigned_at = (select min(e.created_at) from events e "
        "where e.conversation_id = conversations.id and e.type = 'state' "
        "and json_extract(e.data, '$.to') = 'assigned'), reopens = (select count(*) from "
        "events e where e.conversation_id = conversations.id and e.type = 'state' "
        "and json_extract(e.data, '$.from') = 'resolved' "
        "and json_extract(e.data, '$.to') in ('assigned', 'bot'))"
    )
    db["conversations"].create_index(["created_at"])
    db["events"].create_index(["type", "created_at"])


@migrations()
def m006_privacy(db: Database) -> None:
    # When retention anonymised the conversation (docs/privacy.md): its words are gone, the
    # facts the KPIs read stay. Retention skips what it has done before by this mark.
    db["conversations"].add_column("anonymised_at", str)
    # Erasure and retention find the audit entries about a conversation by its id.
    db["audit"].create_index(["target"])


@migrations()
def m007_next_contact_index(db: Database) -> None:
    # A customer's next conversation after a resolution (self-service and first-contact
    # resolution, docs/kpis.md) is looked up for every resolved conversation of a report: with
    # the time and the resolution code in the index, each lookup reads the index alone, which
    # takes a third off the KPI query on a busy desk (docs/benchmarks.md, "KPI queries"). It
    # serves a customer's conversations in order too, so the index on the customer alone goes.
    db["conversations"].create_index(["customer_id", "created_at", "resolution_code"])
    db.execute("drop index if exists idx_conversations_customer_id")


@migrations()
def m008_bot_outcome_columns(db: Database) -> None:
    # What each bot_outcome event says (bot/actions: report_outcome), as columns computed from
    # its data (virtual: nothing more is stored) and indexed: the KPIs count the answers that
    # customers reacted to from this index instead of parsing every event's JSON, a third of
    # the time of a report on a busy desk (docs/benchmarks.md, "KPI queries").
    for field in ("decision", "reaction"):
        db.execute(
            f"alter table events add column outcome_{field} text "
            f"generated always as (json_extract(data, '$.{field}')) virtual"
        )
    db["events"].create_index(["type", "outcome_decision", "outcome_reaction", "created_at"])


@migrations()
def m009_queue_told(db: Database) -> None:
    # What a waiting customer was last told of their place and wait (JSON [place, minutes]),
    # kept with the conversation so that API workers agree: each change is told once, by the
    # worker that records it (escalation/desk.py).
    db["conversations"].add_column("queue_told", str)
