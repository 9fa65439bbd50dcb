"""One conversation of a generated history, recorded the way the live system records it.

``Story`` keeps the rows the store would have written at each step (``escalation.store``):
a state change is checked against ``TRANSITIONS`` and sets what ``_move`` sets (the state,
``updated_at``, ``first_assigned_at`` on the first assignment, ``reopens`` when a resolved
conversation opens again) and records a ``state`` event; an agent's first message sets
``first_response_at``; messages are numbered in order. The clock only moves forward, so times
and ``seq`` agree. Rows are kept as tuples in the tables' column order (``devtools.history``
writes them with ``executemany``).
"""

import hashlib
import json
import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from escalation.models import TRANSITIONS, State
from escalation.texts import text as desk_text

Button = dict[str, str]


def iso(moment: datetime) -> str:
    return moment.isoformat()  # as the store writes ``now().isoformat()``


def random_uuid(rng: random.Random) -> str:
    """A version 4 UUID from ``rng``: the same seed gives the same ids."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def twilio_sid(rng: random.Random) -> str:
    return f"SM{rng.getrandbits(128):032x}"


class Story:
    """The rows of one conversation, from its creation to its last event."""

    def __init__(
        self,
        rng: random.Random,
        customer_id: str,
        channel: str,
        language: str,
        created: datetime,
        previous_id: str | None = None,
    ):
        self.rng, self.at, self.language = rng, created, language
        self.row: dict[str, Any] = {
            "id": random_uuid(rng), "customer_id": customer_id, "channel": channel,
            "locale": language, "state": State.BOT.value, "created_at": iso(created),
            "updated_at": iso(created), "metadata": {"demo": True}, "previous_id": previous_id,
            "reopens": 0,
            # the customer's token, as a hash: nobody holds the token itself
            "token_hash": hashlib.sha256(rng.randbytes(32)).hexdigest(),
        }  # fmt: skip
        self.messages: list[list[Any]] = []  # conversation_id, seq, sender, text, ... (below)
        self.events: list[tuple[str, str, str, str]] = []
        self.notes: list[tuple[str, str, str, str]] = []
        self.feedback: tuple | None = None
        self.turns: list[dict[str, Any]] = []  # what the bot heard: its handoff's "intents"
        self.event("created", {"channel": channel, "locale": language})

    @property
    def id(self) -> str:
        return self.row["id"]

    @property
    def state(self) -> State:
        return State(self.row["state"])

    @property
    def channel(self) -> str:
        return self.row["channel"]

    # -- the clock ---------------------------------------------------------------------------
    def later(self, seconds: float) -> datetime:
        """Move the clock on (at least a millisecond: every step has a time of its own)."""
        self.at += timedelta(seconds=max(seconds, 0.001))
        return self.at

    # -- what the store writes ---------------------------------------------------------------
    def event(self, type: str, data: dict[str, Any]) -> None:
        self.events.append((self.id, type, json.dumps(data, ensure_ascii=False), iso(self.at)))

    def move(self, to: State, data: dict[str, Any], **columns: Any) -> None:
        """A state change, as ``SqlConversationStore._move`` makes it."""
        before = self.state
        if to not in TRANSITIONS[before]:
            raise ValueError(f"{self.id}: {before} -> {to} is not allowed")
        self.row.update(columns, state=to.value, updated_at=iso(self.at))
        self.event("state", {"from": before.value, "to": to.value, **data})
        if to == State.ASSIGNED and self.row.get("first_assigned_at") is None:
            self.row["first_assigned_at"] = iso(self.at)
        if before == State.RESOLVED and to in (State.ASSIGNED, State.BOT):
            self.row["reopens"] += 1

    def annotate(self, type: str, data: dict[str, Any], **columns: Any) -> None:
        """Columns set without a change of state, and an event (``store.annotate``)."""
        self.row.update(columns, updated_at=iso(self.at))
        self.event(type, data)

    def say(
        self,
        sender: str,
        text: str,
        buttons: list[Button] | None = None,
        metadata: dict[str, Any] | None = None,
        client_message_id: str | None = None,
    ) -> None:
        """A message; the conversation's channel both ways (replies follow the customer)."""
        self.messages.append([
            self.id, len(self.messages) + 1, sender, text, self.channel,
            json.dumps(buttons, ensure_ascii=False) if buttons else "[]",
            json.dumps(metadata, ensure_ascii=False) if metadata else "{}",
            client_message_id, iso(self.at),
        ])  # fmt: skip
        if sender == "agent" and self.row.get("first_response_at") is None:
            self.row["first_response_at"] = iso(self.at)

    # -- who says it -------------------------------------------------------------------------
    def customer(self, text: str, intent: str, payload: str | None = None) -> None:
        """The customer writes (a pressed button: its title, or its number by SMS); the bot
        hears the payload if there is one."""
        sms = self.channel == "sms"
        message_id = twilio_sid(self.rng) if sms else random_uuid(self.rng)
        self.say("customer", text, metadata={"language": self.language},
                 client_message_id=message_id)  # fmt: skip
        confidence = round(self.rng.uniform(0.72, 0.99), 4)
        self.turns.append({"text": payload or text, "intent": intent, "confidence": confidence})

    def press(self, buttons: list[Button], index: int, intent: str) -> None:
        button = buttons[index]
        shown = str(index + 1) if self.channel == "sms" else button["title"]
        self.customer(shown, intent, button["payload"])

    def system(self, key: str, buttons: list[Button] | None = None, **values: Any) -> None:
        """What the desk itself tells the customer (``escalation.texts``)."""
        metadata = values.pop("metadata", None)
        self.say("system", desk_text(key, self.language, **values), buttons, metadata)

    def agent(self, agent_id: str, name: str, text: str) -> None:
        metadata = {"author": name, "agent_id": agent_id}
        self.say("agent", text, metadata=metadata, client_message_id=random_uuid(self.rng))

    def note(self, agent_id: str, text: str) -> None:
        self.notes.append((self.id, agent_id, text, iso(self.at)))

    def rated(self, csat: int, ces: int | None, comment: str | None) -> None:
        """The feedback row, as ``add_feedback`` or the first ``add_rating`` writes it."""
        self.feedback = (
            self.id,
            csat,
            ces,
            comment,
            self.row.get("assignee_id"),
            self.channel,
            iso(self.at),
        )
