"""What agents add to a conversation besides replies: internal notes and goodwill vouchers;
and the canned responses they reply with."""

import secrets
from typing import Any

from escalation.database import Database
from escalation.models import NotFound, now

VOUCHER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread


def voucher_code() -> str:
    return "-".join("".join(secrets.choice(VOUCHER_ALPHABET) for _ in range(4)) for _ in range(3))


class SqlCasework:
    def __init__(self, database: Database):
        self.database = database

    # -- notes: never shown to the customer ------------------------------------------------
    def add_note(self, conversation_id: str, agent_id: str, text: str) -> dict[str, Any]:
        with self.database.write() as conn:
            (note_id,) = conn.execute(
                "insert into notes (conversation_id, agent_id, text, created_at) "
                "values (?, ?, ?, ?) returning id",
                [conversation_id, agent_id, text, now().isoformat()],
            ).fetchone()
        return next(n for n in self.notes(conversation_id) if n["id"] == note_id)

    def notes(self, conversation_id: str) -> list[dict[str, Any]]:
        with self.database.read() as conn:
            rows = conn.execute(
                "select n.id, a.display_name, n.text, n.created_at from notes n "
                "join agents a on a.id = n.agent_id where n.conversation_id = ? order by n.id",
                [conversation_id],
            ).fetchall()
        return [{"id": r[0], "author": r[1], "text": r[2], "created_at": r[3]} for r in rows]

    # -- vouchers --------------------------------------------------------------------------
    def grant_voucher(
        self, conversation_id: str, agent_id: str, type: str, amount: float, currency: str
    ) -> dict[str, Any]:
        with self.database.write() as conn:
            (voucher_id,) = conn.execute(
                "insert into vouchers (conversation_id, agent_id, type, amount, currency, code, "
                "created_at) values (?, ?, ?, ?, ?, ?, ?) returning id",
                [conversation_id, agent_id, type, amount, currency, voucher_code(),
                 now().isoformat()],
            ).fetchone()  # fmt: skip
        return next(v for v in self.vouchers(conversation_id) if v["id"] == voucher_id)

    def vouchers(self, conversation_id: str) -> list[dict[str, Any]]:
        with self.database.read() as conn:
            rows = conn.execute(
                "select v.id, v.type, v.amount, v.currency, v.code, a.display_name, v.created_at "
                "from vouchers v join agents a on a.id = v.agent_id "
                "where v.conversation_id = ? order by v.id",
                [conversation_id],
            ).fetchall()
        return [
            {"id": r[0], "type": r[1], "amount": r[2], "currency": r[3], "code": r[4],
             "agent": r[5], "created_at": r[6]}
            for r in rows
        ]  # fmt: skip

    # -- canned responses ------------------------------------------------------------------
    def canned(self) -> list[dict[str, Any]]:
        with self.database.read() as conn:
            rows = conn.execute(
                "select id, title, language, text from canned order by language, title"
            ).fetchall()
        return [{"id": r[0], "title": r[1], "language": r[2], "text": r[3]} for r in rows]

    def save_canned(
        self, agent_id: str, title: str, language: str, text: str, canned_id: int | None = None
    ) -> dict[str, Any]:
        values = [title, language, text, agent_id, now().isoformat()]
        with self.database.write() as conn:
            if canned_id is None:
                (canned_id,) = conn.execute(
                    "insert into canned (title, language, text, updated_by, updated_at) "
                    "values (?, ?, ?, ?, ?) returning id",
                    values,
                ).fetchone()
            elif not conn.execute(
                "update canned set title = ?, language = ?, text = ?, updated_by = ?, "
                "updated_at = ? where id = ?",
                [*values, canned_id],
            ).rowcount:
                raise NotFound(f"canned response {canned_id}")
        return next(c for c in self.canned() if c["id"] == canned_id)

    def delete_canned(self, canned_id: int) -> None:
        with self.database.write() as conn:
            if not conn.execute("delete from canned where id = ?", [canned_id]).rowcount:
                raise NotFound(f"canned response {canned_id}")
