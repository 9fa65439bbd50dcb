"""The records of a conversation and the rules for how its state may change."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class State(StrEnum):
    BOT = "bot"
    QUEUED = "queued"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Sender(StrEnum):
    CUSTOMER = "customer"
    BOT = "bot"
    AGENT = "agent"
    SYSTEM = "system"


# Every change a conversation may go through. Anything else is refused, so a late or repeated
# request can never move a conversation backwards. Two changes look backwards but are real
# product moves: an agent releasing a conversation to the queue, and a customer writing again
# shortly after it was resolved (it reopens to the same agent).
TRANSITIONS: dict[State, set[State]] = {
    State.BOT: {State.QUEUED, State.RESOLVED},
    State.QUEUED: {State.ASSIGNED, State.RESOLVED},  # resolved while queued: customer left
    State.ASSIGNED: {State.QUEUED, State.RESOLVED},
    State.RESOLVED: {State.ASSIGNED, State.CLOSED},
    State.CLOSED: set(),
}


class NotFound(LookupError):
    """No such conversation."""


class InvalidTransition(ValueError):
    """The conversation cannot go from its current state to the one asked for."""


@dataclass(frozen=True)
class Conversation:
    id: str
    customer_id: str
    channel: str
    locale: str
    state: State
    created_at: datetime
    updated_at: datetime
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Message:
    id: int
    conversation_id: str
    seq: int  # 1, 2, 3... within the conversation: clients ask for what came after a seq
    sender: Sender
    text: str
    channel: str
    created_at: datetime
    quick_replies: list[dict[str, str]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    client_message_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "id": self.id,
            "seq": self.seq,
            "sender": self.sender.value,
            "text": self.text,
            "created_at": self.created_at.isoformat(),
        }
        if self.quick_replies:
            result["quick_replies"] = self.quick_replies
        return result


@dataclass(frozen=True)
class Event:
    """A timestamped fact about a conversation; the KPIs are computed from these."""

    id: int
    conversation_id: str
    type: str
    created_at: datetime
    data: dict[str, Any] = field(default_factory=dict)
