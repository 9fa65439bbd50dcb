"""Customers' personal data: what is held about one (export), forgetting one (erasure), and
forgetting everyone's old conversations (retention). What is personal here and where it lives:
docs/privacy.md.

Public surface: ``Privacy`` (built with ``Privacy.open``), who asks (``Actor``), its refusals,
the export's format version, and the bot's trackers (``bot_trackers``).
"""

from privacy.export import EXPORT_VERSION
from privacy.service import SCHEDULE, ActiveConversations, Actor, Privacy, RetentionOff
from privacy.trackers import BotTrackers, RasaApiTrackers, bot_trackers

__all__ = [
    "EXPORT_VERSION",
    "SCHEDULE",
    "ActiveConversations",
    "Actor",
    "BotTrackers",
    "Privacy",
    "RasaApiTrackers",
    "RetentionOff",
    "bot_trackers",
]
