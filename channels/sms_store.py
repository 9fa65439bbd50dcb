"""What the SMS channel keeps: every text sent and its delivery status, opted-out numbers, and
the one-time codes that link a web chat to a phone.

It shares the conversations' SQLite file and transaction discipline (``escalation.sqlite``),
with tables of its own (``channels.schema``).
"""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from channels.schema import migrations
from channels.twilio import ERROR_TEXTS, segments
from escalation import now
from escalation.database import Connection, Database

# How far along a text is. A status callback only ever moves a text forward, so a late "sent"
# after "delivered" (Twilio does not promise order) changes nothing, and repeats are harmless.
PROGRESS = {
    "pending": 0, "accepted": 1, "queued": 2, "sending": 3, "sent": 4,
    "delivered": 5, "undelivered": 5, "failed": 5, "blocked": 5, "read": 6,
}  # fmt: skip
FAILURES = ("undelivered", "failed", "blocked")
DELIVERY_COLUMNS = (
    "id, message_id, conversation_id, part, phone, body, segments, status, sid, error_code, "
    "error_message, attempts, reply_to"
)
CODE_COLUMNS = "id, conversation_id, phone, code_hash, expires_at, wrong, state"


@dataclass(frozen=True)
class Delivery:
    """One text: a whole message, or one part of a long one."""

    id: int
    message_id: int | None
    conversation_id: str | None
    part: int
    phone: str
    body: str
    segments: int
    status: str
    sid: str | None
    error_code: int | None
    error_message: str | None
    attempts: int
    reply_to: str | None  # the inbound text (MessageSid) this answers, for keyword answers


@dataclass(frozen=True)
class Code:
    id: int
    conversation_id: str
    phone: str
    code_hash: str
    expires_at: datetime
    wrong: int
    state: str  # open, used, blocked, replaced


class SqlSmsStore:
    def __init__(self, database: Database):
        database.migrate(migrations)
        self.database = database

    # -- opt-outs ----------------------------------------------------------------------------
    def opted_out(self, phone: str) -> bool:
        with self.database.read() as conn:
            row = conn.execute("select 1 from sms_opt_outs where phone = ?", [phone]).fetchone()
        return row is not None

    def opt_out(self, phone: str) -> None:
        with self.database.write() as conn:
            conn.execute(
                "insert into sms_opt_outs (phone, at) values (?, ?) on conflict do nothing",
                [phone, now().isoformat()],
            )

    def answered(self, inbound_sid: str) -> bool:
        """Whether the inbound text ``inbound_sid`` (a keyword) has been answered already."""
        with self.database.read() as conn:
            row = conn.execute(
                "select 1 from sms_deliveries where reply_to = ?", [inbound_sid]
            ).fetchone()
        return row is not None

    def opt_in(self, phone: str) -> bool:
        """True if the number had opted out."""
        with self.database.write() as conn:
            return conn.execute("delete from sms_opt_outs where phone = ?", [phone]).rowcount > 0

    # -- texts going out -------------------------------------------------------------------
    def add(
        self,
        phone: str,
        bodies: list[str],
        message_id: int | None = None,
        conversation_id: str | None = None,
        reply_to: str | None = None,
    ) -> bool:
        """Queue texts to send; False if this message (or the inbound text this answers) was
        queued before, by another worker or a repeated webhook."""
        created = now().isoformat()
        with self.database.write() as conn:
            done = conn.execute(
                "select 1 from sms_deliveries where message_id = ? or reply_to = ?",
                [message_id, reply_to],
            ).fetchone()
            if done:
                return False
            for part, body in enumerate(bodies, start=1):
                conn.execute(
                    "insert into sms_deliveries (message_id, conversation_id, part, phone, body, "
                    "segments, status, next_attempt_at, reply_to, created_at, updated_at) "
                    "values (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)",
                    [message_id, conversation_id, part, phone, body, segments(body), created,
                     reply_to if part == 1 else None, created, created],
                )  # fmt: skip
        return True

    def last_message_id(self) -> int:
        """The latest conversation message queued here: the delivery worker goes on after it."""
        with self.database.read() as conn:
            (last,) = conn.execute(
                "select coalesce(max(message_id), 0) from sms_deliveries"
            ).fetchone()
        return last

    def take_due(self, lease_s: float, limit: int = 20) -> list[Delivery]:
        """Pending texts whose time has come, leased to this worker for ``lease_s``: another
        worker (or this one after a crash) takes a text again only when its lease runs out.

        Only a number's earliest pending text is taken, so a number's texts go out one at a
        time and in order, even when one is being sent or waits to be tried again (the parts
        of a long reply arrive in order). Each is returned with this try counted in
        ``attempts`` (1 on the first try)."""
        moment = now()
        with self.database.write() as conn:
            rows = conn.execute(
                f"select {DELIVERY_COLUMNS} from sms_deliveries d where status = 'pending' "
                "and next_attempt_at <= ? and not exists (select 1 from sms_deliveries e "
                "where e.phone = d.phone and e.status = 'pending' and e.id < d.id) "
                "order by id limit ?",
                [moment.isoformat(), limit],
            ).fetchall()
            lease = (moment + timedelta(seconds=lease_s)).isoformat()
            for row in rows:
                conn.execute(
                    "update sms_deliveries set attempts = attempts + 1, next_attempt_at = ? "
                    "where id = ?",
                    [lease, row[0]],
                )
        taken = [_delivery(row) for row in rows]
        return [replace(delivery, attempts=delivery.attempts + 1) for delivery in taken]

    def accepted(self, delivery_id: int, sid: str, status: str, segments: int) -> Delivery:
        """Twilio took the text: its id, first status and billed segments (and any status
        reported for it before this answer arrived)."""
        with self.database.write() as conn:
            conn.execute(
                "update sms_deliveries set sid = ?, status = ?, segments = ?, updated_at = ? "
                "where id = ? and status = 'pending'",
                [sid, status, segments, now().isoformat(), delivery_id],
            )
            early = conn.execute(
                "select status, error_code from sms_early_statuses where sid = ?", [sid]
            ).fetchone()
            if early is not None:
                conn.execute("delete from sms_early_statuses where sid = ?", [sid])
                self._advance(conn, delivery_id, status, *early)
            return self._get(conn, delivery_id)

    def retry_at(self, delivery_id: int, when: datetime, error: str) -> None:
        with self.database.write() as conn:
            conn.execute(
                "update sms_deliveries set next_attempt_at = ?, error_message = ?, "
                "updated_at = ? where id = ?",
                [when.isoformat(), error, now().isoformat(), delivery_id],
            )

    def give_up(self, delivery_id: int, status: str, code: int | None, message: str) -> Delivery:
        """A permanent failure (``failed``), or a text not sent to an opted-out number
        (``blocked``)."""
        with self.database.write() as conn:
            conn.execute(
                "update sms_deliveries set status = ?, error_code = ?, error_message = ?, "
                "updated_at = ? where id = ?",
                [status, code, message, now().isoformat(), delivery_id],
            )
            return self._get(conn, delivery_id)

    def status_reported(self, sid: str, status: str, error_code: int | None) -> Delivery | None:
        """A status callback: applied only if it moves the text forward. Returns the text if
        its status changed, None for a late, repeated or unknown report."""
        if status not in PROGRESS:
            return None
        with self.database.write() as conn:
            row = conn.execute(
                "select id, status from sms_deliveries where sid = ?", [sid]
            ).fetchone()
            if row is None:  # not recorded yet: the answer to the send is still on its way
                self._keep_early(conn, sid, status, error_code)
                return None
            if not self._advance(conn, row[0], row[1], status, error_code):
                return None
            return self._get(conn, row[0])

    def _advance(
        self, conn: Connection, delivery_id: int, was: str, status: str, code: int | None
    ) -> bool:
        """Move a text to ``status`` if that is further along; a failure gets Twilio's words."""
        if PROGRESS[status] <= PROGRESS.get(was, 0):
            return False
        conn.execute(
            "update sms_deliveries set status = ?, error_code = coalesce(?, error_code), "
            "error_message = coalesce(?, error_message), updated_at = ? where id = ?",
            [status, code, ERROR_TEXTS.get(code), now().isoformat(), delivery_id],
        )
        return True

    def _keep_early(self, conn: Connection, sid: str, status: str, error_code: int | None) -> None:
        kept = conn.execute("select status from sms_early_statuses where sid = ?", [sid]).fetchone()
        if kept is None or PROGRESS[status] > PROGRESS.get(kept[0], 0):
            conn.execute(
                "insert into sms_early_statuses (sid, status, error_code, at) "
                "values (?, ?, ?, ?) on conflict (sid) do update set status = excluded.status, "
                "error_code = excluded.error_code, at = excluded.at",
                [sid, status, error_code, now().isoformat()],
            )

    def of_conversation(self, conversation_id: str) -> dict[int, dict[str, Any]]:
        """Each message's delivery, as agents see it: ``{message_id: summary}``."""
        with self.database.read() as conn:
            rows = conn.execute(
                f"select {DELIVERY_COLUMNS} from sms_deliveries where conversation_id = ? "
                "order by message_id, part",
                [conversation_id],
            ).fetchall()
        parts: dict[int, list[Delivery]] = {}
        for delivery in map(_delivery, rows):
            if delivery.message_id is not None:
                parts.setdefault(delivery.message_id, []).append(delivery)
        return {message_id: summary(texts) for message_id, texts in parts.items()}

    def of_message(self, message_id: int) -> dict[str, Any] | None:
        with self.database.read() as conn:
            rows = conn.execute(
                f"select {DELIVERY_COLUMNS} from sms_deliveries where message_id = ? order by part",
                [message_id],
            ).fetchall()
        return summary([_delivery(row) for row in rows]) if rows else None

    def to_phone(self, phone: str) -> list[Delivery]:
        with self.database.read() as conn:
            rows = conn.execute(
                f"select {DELIVERY_COLUMNS} from sms_deliveries where phone = ? order by id",
                [phone],
            ).fetchall()
        return [_delivery(row) for row in rows]

    def _get(self, conn: Connection, delivery_id: int) -> Delivery:
        row = conn.execute(
            f"select {DELIVERY_COLUMNS} from sms_deliveries where id = ?", [delivery_id]
        ).fetchone()
        return _delivery(row)

    # -- one-time codes ----------------------------------------------------------------------
    def new_code(self, conversation_id: str, phone: str, code_hash: str, ttl_s: float) -> None:
        """A fresh code for the conversation; any earlier open one stops working."""
        created = now()
        with self.database.write() as conn:
            conn.execute(
                "update sms_codes set state = 'replaced' where conversation_id = ? "
                "and state = 'open'",
                [conversation_id],
            )
            conn.execute(
                "insert into sms_codes (conversation_id, phone, code_hash, created_at, "
                "expires_at) values (?, ?, ?, ?, ?)",
                [conversation_id, phone, code_hash, created.isoformat(),
                 (created + timedelta(seconds=ttl_s)).isoformat()],
            )  # fmt: skip

    def codes_since(self, since: datetime, conversation_id: str, phone: str) -> list[datetime]:
        """When codes were made since ``since`` for this conversation or this number."""
        with self.database.read() as conn:
            rows = conn.execute(
                "select created_at from sms_codes where created_at >= ? "
                "and (conversation_id = ? or phone = ?) order by created_at",
                [since.isoformat(), conversation_id, phone],
            ).fetchall()
        return [datetime.fromisoformat(row[0]) for row in rows]

    def latest_code(self, conversation_id: str) -> Code | None:
        with self.database.read() as conn:
            row = conn.execute(
                f"select {CODE_COLUMNS} from sms_codes where conversation_id = ? "
                "order by id desc limit 1",
                [conversation_id],
            ).fetchone()
        return _code(row) if row else None

    def code_tried(self, code_id: int, right: bool, tries: int) -> Code:
        """Record a try: a right code is used up; the ``tries``-th wrong one blocks it."""
        with self.database.write() as conn:
            if right:
                conn.execute("update sms_codes set state = 'used' where id = ?", [code_id])
            else:
                conn.execute(
                    "update sms_codes set wrong = wrong + 1, state = case when wrong + 1 >= ? "
                    "then 'blocked' else state end where id = ?",
                    [tries, code_id],
                )
            row = conn.execute(
                f"select {CODE_COLUMNS} from sms_codes where id = ?", [code_id]
            ).fetchone()
        return _code(row)


def summary(texts: list[Delivery]) -> dict[str, Any]:
    """A message's delivery as one status: its first failure if a part failed, else the least
    advanced part's status (a message is delivered when all its parts are)."""
    failed = [t for t in texts if t.status in FAILURES]
    worst = failed[0] if failed else min(texts, key=lambda t: PROGRESS.get(t.status, 0))
    return {
        "status": worst.status,
        "segments": sum(t.segments for t in texts),
        "parts": len(texts),
        "error_code": worst.error_code,
        "error": worst.error_message if failed else None,
    }


def _delivery(row: tuple) -> Delivery:
    return Delivery(*row)


def _code(row: tuple) -> Code:
    return Code(row[0], row[1], row[2], row[3], datetime.fromisoformat(row[4]), row[5], row[6])
