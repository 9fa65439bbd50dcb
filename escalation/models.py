"""The records of a conversation and the rules for how its state may change."""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


def now() -> datetime:
    """The time every record is stamped with, on either engine: aware, in UTC."""
    return datetime.now(UTC)


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
# request can never move a conversation backwards. Three changes look backwards but are real
# product moves: an agent releasing a conversation to the queue, and a customer writing again
# shortly after it was resolved (it reopens to the same agent, or to the bot if the bot
# resolved it: the customer confirmed an answer, or went quiet after one).
TRANSITIONS: dict[State, set[State]] = {
    State.BOT: {State.QUEUED, State.RESOLVED},
    State.QUEUED: {State.ASSIGNED, State.RESOLVED},  # resolved while queued: customer left
    State.ASSIGNED: {State.QUEUED, State.RESOLVED},
    State.RESOLVED: {State.ASSIGNED, State.BOT, State.CLOSED},
    State.CLOSED: set(),
}


class Priority(StrEnum):
    URGENT = "urgent"  # an angry VIP
    HIGH = "high"  # angry, or a VIP
    NORMAL = "normal"


class Role(StrEnum):
    AGENT = "agent"
    MANAGER = "manager"
    ADMIN = "admin"


class Presence(StrEnum):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


class NotFound(LookupError):
    """No such conversation (or agent, note, canned response...)."""


class InvalidTransition(ValueError):
    """The conversation cannot go from its current state to the one asked for."""


class ClaimRefused(RuntimeError):
    """Someone else holds the conversation, or the agent has no free capacity."""


class NotAllowed(PermissionError):
    """The agent's role does not allow this (a voucher above their limit, say)."""


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
    # set when the bot hands over; what the queue orders and measures by
    language: str | None = None
    priority: Priority = Priority.NORMAL
    reason: str | None = None
    tags: list[str] = field(default_factory=list)
    team: str | None = None
    assignee_id: str | None = None
    queued_at: datetime | None = None
    first_response_due: datetime | None = None
    first_response_at: datetime | None = None
    resolution_due: datetime | None = None
    resolved_at: datetime | None = None
    resolution_code: str | None = None
    reply_later: bool = False
    previous_id: str | None = None  # the conversation this one follows on from
    reply_channel: str | None = None  # where the customer wrote from last, or moved to

    @property
    def route(self) -> str:
        """The channel replies go out on."""
        return self.reply_channel or self.channel


@dataclass(frozen=True)
class Agent:
    id: str
    username: str
    display_name: str
    role: Role
    presence: Presence
    capacity: int
    languages: list[str]
    tags: list[str]
    team: str | None
    disabled: bool
    load: int = 0  # conversations held now
    last_assigned_at: str = ""  # for fairness between equally loaded agents

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "username": self.username, "display_name": self.display_name,
            "role": self.role.value, "presence": self.presence.value, "capacity": self.capacity,
            "load": self.load, "languages": self.languages, "tags": self.tags, "team": self.team,
            "disabled": self.disabled,
        }  # fmt: skip


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
            "channel": self.channel,
            "created_at": self.created_at.isoformat(),
        }
        if self.quick_replies:
            result["quick_replies"] = self.quick_replies
        if self.sender == Sender.AGENT:
            result["author"] = self.metadata.get("author")
        if self.sender == Sender.CUSTOMER and self.client_message_id:
            result["client_message_id"] = self.client_message_id  # the sender's own id for it
        return result


@dataclass(frozen=True)
class Event:
    """A timestamped fact about a conversation; the KPIs are computed from these."""

    id: int
    conversation_id: str
    type: str
    created_at: datetime
    data: dict[str, Any] = field(default_factory=dict)
