"""The people who answer customers: accounts, sign-in sessions, presence and the audit log.

Passwords are hashed with Argon2 (argon2-cffi); session and API tokens are random and stored
only as SHA-256 hashes, so a copy of the database opens no account.
"""

import hashlib
import json
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from escalation.database import Database
from escalation.models import Agent, NotFound, Presence, Role, State, now

AGENT_COLUMNS = (
    "id, username, display_name, role, presence, capacity, languages, tags, team, disabled, "
    "(select count(*) from conversations c where c.assignee_id = agents.id and c.state = ?), "
    "last_assigned_at"
)
_hasher = PasswordHasher()


class UsernameTaken(ValueError):
    """An account with this username exists."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _agent(row: tuple) -> Agent:
    return Agent(
        id=row[0], username=row[1], display_name=row[2], role=Role(row[3]),
        presence=Presence(row[4]), capacity=row[5], languages=json.loads(row[6]),
        tags=json.loads(row[7]), team=row[8], disabled=bool(row[9]), load=row[10],
        last_assigned_at=row[11] or "",
    )  # fmt: skip


class SqlAgents:
    def __init__(self, database: Database):
        self.database = database

    # -- accounts --------------------------------------------------------------------------
    def add(
        self,
        username: str,
        password: str,
        role: Role = Role.AGENT,
        *,
        display_name: str | None = None,
        capacity: int = 3,
        languages: list[str] | None = None,
        tags: list[str] | None = None,
        team: str | None = None,
    ) -> Agent:
        agent_id = str(uuid.uuid4())
        with self.database.write() as conn:
            if conn.execute("select 1 from agents where username = ?", [username]).fetchone():
                raise UsernameTaken(username)
            conn.execute(
                "insert into agents (id, username, display_name, role, password_hash, capacity, "
                "languages, tags, team, created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [agent_id, username, display_name or username, Role(role), _hasher.hash(password),
                 capacity, json.dumps(languages or ["ru", "en"]), json.dumps(tags or []), team,
                 now().isoformat()],
            )  # fmt: skip
        return self.get(agent_id)

    def get(self, agent_id: str) -> Agent:
        return self._one("id = ?", agent_id)

    def by_username(self, username: str) -> Agent:
        return self._one("username = ?", username)

    def all(self) -> list[Agent]:
        with self.database.read() as conn:
            rows = conn.execute(
                f"select {AGENT_COLUMNS} from agents order by username", [State.ASSIGNED]
            ).fetchall()
        return [_agent(row) for row in rows]

    def _one(self, where: str, value: str) -> Agent:
        with self.database.read() as conn:
            row = conn.execute(
                f"select {AGENT_COLUMNS} from agents where {where}", [State.ASSIGNED, value]
            ).fetchone()
        if row is None:
            raise NotFound(f"agent {value}")
        return _agent(row)

    def count(self) -> int:
        with self.database.read() as conn:
            return conn.execute("select count(*) from agents").fetchone()[0]

    def disable(self, agent_id: str) -> Agent:
        """Disabled: cannot sign in, every session and token stops working, gets no work."""
        with self.database.write() as conn:
            conn.execute(
                "update agents set disabled = true, presence = ? where id = ?",
                [Presence.OFFLINE, agent_id],
            )
            conn.execute("delete from sessions where agent_id = ?", [agent_id])
        return self.get(agent_id)

    def update(self, agent_id: str, **fields: Any) -> Agent:
        """Presence, capacity, languages, tags, team or display name."""
        allowed = {"presence", "capacity", "languages", "tags", "team", "display_name"}
        if unknown := set(fields) - allowed:
            raise ValueError(f"cannot update {sorted(unknown)}")
        values = [json.dumps(v) if isinstance(v, list) else v for v in fields.values()]
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self.database.write() as conn:
            conn.execute(f"update agents set {assignments} where id = ?", [*values, agent_id])
        return self.get(agent_id)

    def authenticate(self, username: str, password: str) -> Agent | None:
        """The agent, or None for an unknown name, a wrong password or a disabled account."""
        with self.database.read() as conn:
            row = conn.execute(
                "select id, password_hash, disabled from agents where username = ?", [username]
            ).fetchone()
        if row is None:
            _hasher.hash(password)  # as slow as a real check: timing does not reveal names
            return None
        try:
            _hasher.verify(row[1], password)
        except (VerificationError, InvalidHashError):
            return None
        if row[2]:
            return None
        if _hasher.check_needs_rehash(row[1]):
            with self.database.write() as conn:
                conn.execute(
                    "update agents set password_hash = ? where id = ?",
                    [_hasher.hash(password), row[0]],
                )
        return self.get(row[0])

    # -- sessions and tokens ---------------------------------------------------------------
    def open_session(self, agent_id: str, kind: str, lifetime: timedelta) -> str:
        """A new secret for a browser session (``cookie``) or a script (``token``)."""
        token = secrets.token_urlsafe(32)
        created = now()
        with self.database.write() as conn:
            conn.execute(
                "insert into sessions (token_hash, agent_id, kind, created_at, expires_at) "
                "values (?, ?, ?, ?, ?)",
                [_hash(token), agent_id, kind, created.isoformat(),
                 (created + lifetime).isoformat()],
            )  # fmt: skip
        return token

    def session_agent(self, token: str, kind: str) -> Agent | None:
        with self.database.read() as conn:
            row = conn.execute(
                "select s.agent_id, s.expires_at from sessions s join agents a "
                "on a.id = s.agent_id where s.token_hash = ? and s.kind = ? and not a.disabled",
                [_hash(token), kind],
            ).fetchone()
        if row is None or datetime.fromisoformat(row[1]) < now():
            return None
        return self.get(row[0])

    def close_session(self, token: str) -> None:
        with self.database.write() as conn:
            conn.execute("delete from sessions where token_hash = ?", [_hash(token)])

    # -- audit -----------------------------------------------------------------------------
    def audit(self, actor_id: str | None, action: str, target: str, **data: Any) -> None:
        with self.database.write() as conn:
            conn.execute(
                "insert into audit (at, actor_id, action, target, data) values (?, ?, ?, ?, ?)",
                [now().isoformat(), actor_id, action, target,
                 json.dumps(data, ensure_ascii=False, default=str)],
            )  # fmt: skip

    def audit_log(self, limit: int = 200) -> list[dict[str, Any]]:
        with self.database.read() as conn:
            rows = conn.execute(
                "select l.id, l.at, coalesce(a.username, 'system'), l.action, l.target, l.data "
                "from audit l left join agents a on a.id = l.actor_id order by l.id desc limit ?",
                [limit],
            ).fetchall()
        return [
            {"id": r[0], "at": r[1], "actor": r[2], "action": r[3], "target": r[4],
             "data": json.loads(r[5])}
            for r in rows
        ]  # fmt: skip
