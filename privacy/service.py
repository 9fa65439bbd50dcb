"""The privacy operations as admins and the schedule use them: look a customer up, export what
is held about them, erase them, apply retention. Each is recorded in the audit log with who
asked, how and when, and counts; never the personal data itself (an erasure's reason is the
admin's own words, so docs/privacy.md asks for a ticket number rather than a name).

Removal works in the database's own transactions, then empties the bot's trackers, then
checkpoints the write-ahead log, so that the removed words are gone from the files on disk too
(the database zeroes what it deletes: ``pragma secure_delete``, set in ``escalation.sqlite``).
"""

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from channels.schema import migrations as sms_migrations
from escalation import NotFound, SqlAgents
from escalation.database import Connection, Database
from helpdesk.settings import Settings
from privacy.export import export
from privacy.records import Footprint, find, footprint, id_set, ids, rows
from privacy.removal import delete_conversations, delete_customers, forget_phones
from privacy.retention import BATCH, next_batch, old_texts, preview
from privacy.trackers import BotTrackers, bot_trackers


class ActiveConversations(Exception):
    """The customer waits for, or talks with, a person: erasing them now would pull the
    conversation from under the agent. Resolve it first, or force the erasure."""

    def __init__(self, conversations: list[str]):
        super().__init__(
            f"{len(conversations)} conversation(s) of this customer are with a person or "
            "waiting for one: resolve them first, or force the erasure"
        )
        self.conversations = conversations


class RetentionOff(Exception):
    """No retention period is set (``HELPDESK_RETENTION_DAYS``)."""


@dataclass(frozen=True)
class Actor:
    """Who asked, for the audit log: an admin (``agent_id``), or the system (None) by the CLI
    (with the operating-system user) or the schedule."""

    agent_id: str | None
    via: str  # api, cli, schedule
    user: str | None = None

    def recorded(self) -> dict[str, str]:
        return {"via": self.via, **({"user": self.user} if self.user else {})}


SCHEDULE = Actor(None, "schedule")


class Privacy:
    def __init__(self, database: Database, settings: Settings, trackers: BotTrackers):
        database.migrate(sms_migrations)  # the SMS tables, even if SMS never opened this file
        self.database = database
        self.settings = settings
        self.agents = SqlAgents(database)
        self.trackers = trackers

    @classmethod
    def open(cls, database: Database, settings: Settings) -> "Privacy":
        return cls(database, settings, bot_trackers(settings))

    # -- one customer ------------------------------------------------------------------------
    def find(self, text: str, actor: Actor) -> dict[str, Any]:
        """A summary of the customer a customer id, conversation id or phone number names."""
        with self.database.read() as conn:
            customer_id = find(conn, text)
            found = footprint(conn, customer_id) if customer_id else None
            if found is None:
                raise NotFound("no customer has this id, conversation or phone number")
            summary = _summary(conn, found)
        self.agents.audit(actor.agent_id, "customer_lookup", found.customer_id, **actor.recorded())
        return summary

    def export(self, customer_id: str, actor: Actor) -> dict[str, Any]:
        """Everything held about the customer (``privacy.export``)."""
        with self.database.read() as conn:
            found = self._footprint(conn, customer_id)
            document = export(conn, found, datetime.now(UTC))
        self.agents.audit(
            actor.agent_id, "customer_export", customer_id,
            conversations=len(found.conversations), **actor.recorded(),
        )  # fmt: skip
        return document

    def erase(
        self, customer_id: str, reason: str, actor: Actor, force: bool = False
    ) -> dict[str, Any]:
        """Delete everything about the customer, in one transaction: their conversations with
        all that hangs off them, their phone numbers' texts and opt-outs, the customer and
        those merged into it; then their bot trackers. ``ActiveConversations`` unless
        ``force`` when a person has one of their conversations or it waits for one."""
        with self.database.write() as conn:
            found = self._footprint(conn, customer_id)
            if found.active and not force:
                raise ActiveConversations(found.active)
            counts = delete_conversations(conn, found.conversations)
            counts["sms_texts"] += forget_phones(conn, found.phones)
            counts["customers"] = delete_customers(conn, [customer_id])
        result = {**counts, "phones": len(found.phones), **self._finish(found.conversations)}
        self.agents.audit(
            actor.agent_id, "customer_erasure", customer_id, reason=reason,
            forced=bool(found.active), **_flat(result), **actor.recorded(),
        )  # fmt: skip
        return result

    # -- everyone's old conversations ----------------------------------------------------------
    def retention(
        self, actor: Actor = SCHEDULE, dry_run: bool = False, now: datetime | None = None
    ) -> dict[str, Any]:
        """Apply retention now (see ``privacy.retention``): what was done, or with ``dry_run``
        what would be. A scheduled run that found nothing is not recorded: it runs daily."""
        days, mode = self.settings.retention_days, self.settings.retention_mode
        if days is None:
            raise RetentionOff("retention is off: set HELPDESK_RETENTION_DAYS to a number of days")
        now = now or datetime.now(UTC)
        cutoff = now - timedelta(days=days)
        window = {"mode": mode, "days": days, "cutoff": cutoff.isoformat()}
        if dry_run:
            with self.database.read() as conn:
                return {**window, "dry_run": True, **preview(conn, cutoff, mode)}
        totals: Counter[str] = Counter({"conversations": 0, "customers": 0, "sms_texts": 0})
        done: list[str] = []
        while True:
            with self.database.write() as conn:
                batch, counts = next_batch(conn, cutoff, mode, now)
            totals.update(counts)
            done += batch
            if len(batch) < BATCH:
                break
        with self.database.write() as conn:
            totals["sms_texts"] += old_texts(conn, cutoff, mode)
        result = {**window, "dry_run": False, **totals, **self._finish(done)}
        if actor != SCHEDULE or any(totals.values()):
            self.agents.audit(
                actor.agent_id, "retention", "conversations", **_flat(result), **actor.recorded()
            )
        return result

    # -- the parts -------------------------------------------------------------------------------
    def _footprint(self, conn: Connection, customer_id: str) -> Footprint:
        found = footprint(conn, customer_id)
        if found is None:
            raise NotFound(f"customer {customer_id}")
        return found

    def _finish(self, conversations: list[str]) -> dict[str, Any]:
        """After removal: the bot's trackers of the conversations emptied, and the removed
        pages out of the write-ahead log (``checkpointed`` false: a reader held it; the next
        checkpoint, SQLite's own after 1000 pages at the latest, completes it)."""
        trackers = self.trackers.forget(conversations)
        return {"bot_trackers": trackers, "checkpointed": self.database.flush_removed()}


def _summary(conn: Connection, found: Footprint) -> dict[str, Any]:
    """Who the customer is and what of theirs is held, for the admin deciding what to do."""
    [customer] = rows(
        conn, "select id, created_at, phone, metadata from customers where id = ?",
        [found.customer_id],
    )  # fmt: skip
    conversations = rows(
        conn,
        f"select id, state, channel, created_at, anonymised_at from conversations "
        f"where customer_id in {id_set(conn)} order by created_at",
        [ids(found.identities)],
    )
    return {
        **customer,
        "metadata": json.loads(customer["metadata"]),
        "merged_customers": [i for i in found.identities if i != found.customer_id],
        "phones": found.phones,
        "conversations": conversations,
        "active": found.active,
    }


def _flat(result: dict[str, Any]) -> dict[str, Any]:
    """Counts for the audit log, the trackers' result spread out."""
    trackers = result.get("bot_trackers", {})
    return {
        **{k: v for k, v in result.items() if k not in ("bot_trackers", "cutoff")},
        "bot_trackers_forgotten": trackers.get("forgotten", 0),
        "bot_unreachable": trackers.get("unreachable", False),
    }
