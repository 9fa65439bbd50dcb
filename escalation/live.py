"""Live events for whoever watches: customers' chats and agents' consoles.

Topics: each conversation has a customer topic (what the customer may see) and a staff topic
(all of that, plus internal notes and the customer's typing); ``queue`` tells consoles that the
queue changed. In one process an asyncio queue per listener is enough; with several API workers
``RedisLiveEvents`` (``escalation.live_redis``) carries them between workers behind the same
methods.
"""

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

LISTENER_BACKLOG = 1000  # a listener this far behind is disconnected, not the service slowed
QUEUE_TOPIC = "queue"


def customer_topic(conversation_id: str) -> str:
    return f"customer:{conversation_id}"


def staff_topic(conversation_id: str) -> str:
    return f"staff:{conversation_id}"


class FellBehind(RuntimeError):
    """The listener missed events: its client must reconnect and read the history."""


_BEHIND = object()  # put in an inbox to wake a listener that waits while it falls behind


class Listener:
    """One watcher's inbox, following any number of topics."""

    def __init__(self, hub: "LiveEvents"):
        self._hub = hub
        self.inbox: asyncio.Queue = asyncio.Queue(LISTENER_BACKLOG)
        self.topics: set[str] = set()
        self.overflowed = False

    def follow(self, topic: str) -> None:
        if self.overflowed:  # what it missed cannot be replayed here: it must reconnect
            return
        self.topics.add(topic)
        self._hub._listeners[topic].add(self)

    def unfollow(self, topic: str) -> None:
        self.topics.discard(topic)
        listeners = self._hub._listeners.get(topic)
        if listeners is not None:
            listeners.discard(self)
            if not listeners:
                del self._hub._listeners[topic]

    def fall_behind(self) -> None:
        """It misses events from here on: stop delivering to it, and have ``next`` say so
        once what it already has is read."""
        if self.overflowed:
            return
        self.overflowed = True
        for topic in list(self.topics):
            self.unfollow(topic)
        with contextlib.suppress(asyncio.QueueFull):  # a full inbox wakes ``next`` anyway
            self.inbox.put_nowait(_BEHIND)

    async def next(self) -> dict[str, Any]:
        """The next event; ``FellBehind`` once the backlog is read after falling behind."""
        if self.overflowed and self.inbox.empty():
            raise FellBehind()
        return _checked(await self.inbox.get())

    def next_nowait(self) -> dict[str, Any] | None:
        """The next event if one is already waiting (to coalesce a burst), else None."""
        if self.inbox.empty():
            if self.overflowed:
                raise FellBehind()
            return None
        return _checked(self.inbox.get_nowait())


def _checked(event: Any) -> dict[str, Any]:
    if event is _BEHIND:
        raise FellBehind()
    return event


class LiveEvents:
    """The hub within one process: what is published reaches this process's listeners."""

    def __init__(self) -> None:
        self._listeners: dict[str, set[Listener]] = defaultdict(set)
        self._open: set[Listener] = set()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """What the hub needs while the app runs: nothing here; a connection for Redis."""
        yield

    @property
    def delivering(self) -> bool:
        """Whether what any worker publishes reaches this process's listeners now."""
        return True

    def publish(self, topic: str, event: dict[str, Any]) -> None:
        self._deliver(topic, event)

    def _deliver(self, topic: str, event: dict[str, Any]) -> None:
        for listener in list(self._listeners.get(topic, ())):
            try:
                listener.inbox.put_nowait(event)
            except asyncio.QueueFull:  # silence would lose events: it must reconnect instead
                listener.fall_behind()

    def _all_fall_behind(self) -> None:
        """Events may have been missed, by whom is unknown: every listener reconnects."""
        for listener in list(self._open):
            listener.fall_behind()

    def conversation(
        self, conversation_id: str, event: dict[str, Any], staff_only: bool = False
    ) -> None:
        """An event about one conversation, to its staff and (unless ``staff_only``) customer."""
        event = {**event, "conversation_id": conversation_id}
        if not staff_only:
            self.publish(customer_topic(conversation_id), event)
        self.publish(staff_topic(conversation_id), event)

    @asynccontextmanager
    async def listen(self, *topics: str) -> AsyncIterator[Listener]:
        listener = Listener(self)
        self._open.add(listener)
        for topic in topics:
            listener.follow(topic)
        try:
            yield listener
        finally:
            self._open.discard(listener)
            for topic in list(listener.topics):
                listener.unfollow(topic)
