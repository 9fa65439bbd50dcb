"""Conversations, the handoff from the bot and, later, the human agent queue.

Public surface: ``ConversationStore`` (the interface), ``SqliteConversationStore`` (the embedded
implementation) and the records they return. A PostgreSQL implementation will sit beside the
SQLite one behind the same interface.
"""

from escalation.models import (
    Conversation,
    Event,
    InvalidTransition,
    Message,
    NotFound,
    Sender,
    State,
)
from escalation.store import ConversationStore, SqliteConversationStore

__all__ = [
    "Conversation",
    "ConversationStore",
    "Event",
    "InvalidTransition",
    "Message",
    "NotFound",
    "Sender",
    "SqliteConversationStore",
    "State",
]
