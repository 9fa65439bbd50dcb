"""Live events for whoever watches a conversation (the customer's chat, later agents' consoles).

In one process an asyncio queue per watcher is enough; with several API workers this hub is
replaced by Redis pub/sub behind the same two methods.
"""

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

WATCHER_BACKLOG = 1000  # a watcher that falls this far behind is dropped, not the service


class LiveEvents:
    def __init__(self) -> None:
        self._watchers: dict[str, set[asyncio.Queue]] = defaultdict(set)

    def publish(self, conversation_id: str, event: dict[str, Any]) -> None:
        for queue in list(self._watchers.get(conversation_id, ())):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:  # it reconnects and reads the history it missed
                self._watchers[conversation_id].discard(queue)

    @asynccontextmanager
    async def watch(self, conversation_id: str) -> AsyncIterator[asyncio.Queue]:
        queue: asyncio.Queue = asyncio.Queue(WATCHER_BACKLOG)
        self._watchers[conversation_id].add(queue)
        try:
            yield queue
        finally:
            self._watchers[conversation_id].discard(queue)
            if not self._watchers[conversation_id]:
                del self._watchers[conversation_id]
