"""Live events for whoever watches: customers' chats and agents' consoles.

Topics: each conversation has a customer topic (what the customer may see) and a staff topic
(all of that, plus internal notes and the customer's typing); ``queue`` tells consoles that the
queue changed. In one process an asyncio queue per listener is enough; with several API workers
this hub is replaced by Redis pub/sub behind the same methods.
"""

import asyncio
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

    async def next(self) -> dict[str, Any]:
        """The next event; ``FellBehind`` once the backlog is read after an overflow."""
        if self.overflowed and self.inbox.empty():
            raise FellBehind()
        return await self.inbox.get()


class LiveEvents:
    def __init__(self) -> None:
        self._listeners: dict[str, set[Listener]] = defaultdict(set)

    def publish(self, topic: str, event: dict[str, Any]) -> None:
        for listener in list(self._listeners.get(topic, ())):
            try:
                listener.inbox.put_nowait(event)
            except asyncio.QueueFull:  # silence would lose events: it must reconnect instead
                listener.overflowed = True
                for followed in list(listener.topics):
                    listener.unfollow(followed)

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
        for topic in topics:
            listener.follow(topic)
        try:
            yield listener
        finally:
            for topic in list(listener.topics):
                listener.unfollow(topic)
