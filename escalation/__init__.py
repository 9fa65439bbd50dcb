"""Conversations, the handoff from the bot, the human agent queue and the agents who work it.

Public surface: ``Desk`` (the queue and agents at work), the stores and their interfaces,
the records they return, and ``open_database`` (``escalation.database``): the SQLite file by
default, PostgreSQL when ``HELPDESK_DATABASE_URL`` names one; the stores run on either.
"""

from escalation.agents import SqlAgents, UsernameTaken
from escalation.casework import SqlCasework
from escalation.desk import RESOLUTION_CODES, Desk
from escalation.live import LiveEvents
from escalation.live_redis import RedisLiveEvents
from escalation.models import (
    Agent,
    ClaimRefused,
    Conversation,
    Event,
    InvalidTransition,
    Message,
    NotAllowed,
    NotFound,
    Presence,
    Priority,
    Role,
    Sender,
    State,
    now,
)
from escalation.sqlite import SqliteDatabase
from escalation.store import ConversationStore, SqlConversationStore

__all__ = [
    "RESOLUTION_CODES",
    "Agent",
    "ClaimRefused",
    "Conversation",
    "ConversationStore",
    "Desk",
    "Event",
    "InvalidTransition",
    "LiveEvents",
    "Message",
    "NotAllowed",
    "NotFound",
    "Presence",
    "Priority",
    "RedisLiveEvents",
    "Role",
    "Sender",
    "SqlAgents",
    "SqlCasework",
    "SqlConversationStore",
    "SqliteDatabase",
    "State",
    "UsernameTaken",
    "now",
]
