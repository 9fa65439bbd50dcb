"""The queue's rules: priority, its ageing, SLA deadlines, who gets a conversation, and how long
a customer should expect to wait. Pure functions of their inputs; ``escalation.desk`` applies
them. The model is explained in docs/queue.md.
"""

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from escalation.hours import BusinessHours
from escalation.models import Agent, Conversation, Presence, Priority
from helpdesk.settings import Settings

MIN_HANDLING_SAMPLES = 5  # fewer resolved conversations than this: use the configured default
HANDLING_SAMPLE = 50  # the estimate follows the latest conversations


def priority(vip: bool, angry: bool) -> Priority:
    if vip and angry:
        return Priority.URGENT
    return Priority.HIGH if vip or angry else Priority.NORMAL


@dataclass(frozen=True)
class QueuePolicy:
    head_start_s: dict[str, float]
    first_response_s: dict[str, float]
    resolution_s: dict[str, float]
    default_handling_s: float
    pickup_s: float
    hours: BusinessHours

    @classmethod
    def from_settings(cls, settings: Settings) -> "QueuePolicy":
        return cls(
            head_start_s=settings.head_start_s,
            first_response_s=settings.sla_first_response_s,
            resolution_s=settings.sla_resolution_s,
            default_handling_s=settings.default_handling_s,
            pickup_s=settings.pickup_s,
            hours=BusinessHours(settings.business_hours, settings.timezone),
        )

    def queue_key(self, queued_at: datetime, level: Priority) -> float:
        """Served in ascending order: the arrival time moved earlier by the priority's head
        start. A head start is a fixed lead, not a separate lane, so waiting always counts and
        nothing starves: a normal conversation that has waited longer than a high one's head
        start goes first."""
        return queued_at.timestamp() - self.head_start_s.get(level, 0)

    def deadlines(self, queued_at: datetime, level: Priority) -> tuple[datetime, datetime]:
        """When the first response and the resolution are due."""
        return (
            queued_at + timedelta(seconds=self.first_response_s[level]),
            queued_at + timedelta(seconds=self.resolution_s[level]),
        )

    def handling_s(self, recent: Sequence[float]) -> float:
        """Typical time an agent spends on one conversation, from the latest resolved ones."""
        if len(recent) < MIN_HANDLING_SAMPLES:
            return self.default_handling_s
        return statistics.median(recent)

    def expected_wait_s(
        self, position: int, agents: Sequence[Agent], recent_handling: Sequence[float]
    ) -> float | None:
        """Seconds until a person picks up the conversation at ``position``; None when no one
        is online to do it.

        Online agents have ``slots`` places in all, ``free`` of them open now. The first
        ``free`` in line are picked up at once (``pickup_s``); after that a place opens every
        ``handling / slots`` seconds on average, so position p waits (p - free) of those.
        """
        online = [a for a in agents if a.presence == Presence.ONLINE and not a.disabled]
        slots = sum(a.capacity for a in online)
        if slots == 0:
            return None
        free = sum(max(0, a.capacity - a.load) for a in online)
        behind = max(0, position - free)
        return self.pickup_s + behind * self.handling_s(recent_handling) / slots


def eligible(agent: Agent, conversation: Conversation) -> bool:
    """May this agent be given this conversation automatically now?"""
    return (
        agent.presence == Presence.ONLINE
        and not agent.disabled
        and agent.load < agent.capacity
        and (not conversation.language or conversation.language in agent.languages)
        and (not conversation.team or conversation.team == agent.team)
    )


def best_agent(conversation: Conversation, agents: Sequence[Agent]) -> Agent | None:
    """The eligible agent who knows most of the conversation's topics, then the least loaded,
    then the one who has waited longest for work."""
    candidates = [a for a in agents if eligible(a, conversation)]
    if not candidates:
        return None
    topics = set(conversation.tags)
    return min(
        candidates,
        key=lambda a: (-len(topics & set(a.tags)), a.load, a.last_assigned_at, a.username),
    )


QueueStanding = tuple[int, float | None]  # (position, expected wait in seconds or None)
SMS_WAIT_CHANGE_S = 600


def worth_texting(before: QueueStanding, after: QueueStanding) -> bool:
    """Whether a texting customer's new place in the queue is worth an SMS.

    The chat widget can update its status line on every move; a text message interrupts the
    customer (and is billed), so only news they would act on is sent: they are next, they
    have come at least half the way since the last text, the estimate moved by ten minutes or
    more, or someone became available (or no one is any more).
    """
    (was, was_wait), (now_at, wait) = before, after
    if (was_wait is None) != (wait is None):
        return True
    if now_at == 1 and was != 1:
        return True
    if now_at <= was / 2:
        return True
    return wait is not None and was_wait is not None and abs(wait - was_wait) >= SMS_WAIT_CHANGE_S
