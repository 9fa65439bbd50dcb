"""Live events across API workers: Redis pub/sub behind the methods of ``LiveEvents``.

Every worker publishes to one Redis channel and keeps one subscription to it, from which it
hands events to its own listeners: a WebSocket never holds a Redis connection, and following
a topic is a local matter that cannot race a subscription. Every event reaches every worker;
at a help desk's rate (hundreds of events a second at most) that costs little.

Pub/sub keeps nothing, so a listener is never left believing it has everything when it may
not; instead it falls behind, and its client reconnects and reads the history (the database
has every message before its event is published):

- when the subscription is lost, every listener falls behind, and so does every listener
  that started while it was down, once it is back (it may have read the history meanwhile);
- each worker numbers what it publishes; a gap in a worker's numbers (a publish that failed
  or was dropped while Redis was unreachable) makes the other workers' listeners fall behind.

Publishing never waits for Redis: events go to this worker's listeners at once, and to an
outbox that one task sends to the others, in order.
"""

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from escalation.live import LiveEvents

log = logging.getLogger(__name__)

TIMEOUT_S = 2.0  # a Redis command slower than this has failed: the event loop does not wait
HEARTBEAT_S = 5.0  # a quiet subscription is pinged this often; silent for 3 pings: lost
RECONNECT_S = (0.2, 10.0)  # back-off between attempts to subscribe again: first, longest
START_WAIT_S = 5.0  # how long start-up waits for the first subscription
OUTBOX = 10_000  # events waiting to be published; more (Redis unreachable) are dropped
BATCH = 200


class SubscriptionLost(ConnectionError):
    """No answer to pings: the connection is gone even though no error said so."""


class RedisLiveEvents(LiveEvents):
    def __init__(self, url: str, prefix: str):
        super().__init__()
        self._url = url
        self._where = urlsplit(url).netloc.rpartition("@")[2]  # for logs: no password
        self.channel = f"{prefix}:live"
        self._origin = uuid.uuid4().hex  # this worker, in the numbering of its events
        self._echo = f'["{self._origin}"'.encode()  # how its own events begin, coming back
        self._published = 0
        self._dropped = 0
        self._seen: dict[str, int] = {}  # each worker's last event number received
        self._outbox: asyncio.Queue[tuple[int, str, dict[str, Any]]] = asyncio.Queue(OUTBOX)
        self._up = asyncio.Event()  # subscribed now

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The subscription and the sender run as long as the app; start-up waits a little
        for the subscription, and goes on without it (listeners wait) if Redis is down."""
        redis = Redis.from_url(
            self._url, socket_connect_timeout=TIMEOUT_S, socket_timeout=TIMEOUT_S,
            socket_keepalive=True, retry=Retry(NoBackoff(), 0),
        )  # fmt: skip
        tasks = [asyncio.create_task(self._subscription(redis)),
                 asyncio.create_task(self._sender(redis))]  # fmt: skip
        try:
            try:
                await asyncio.wait_for(self._up.wait(), START_WAIT_S)
            except TimeoutError:
                log.error("live events: no Redis at %s yet; trying on", self._where)
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await redis.aclose()

    @property
    def delivering(self) -> bool:
        return self._up.is_set()

    def publish(self, topic: str, event: dict[str, Any]) -> None:
        """To this worker's listeners at once (as in one process: no round trip through Redis
        on the way to a client of the worker that made the change), and to the others'."""
        self._deliver(topic, event)
        self._published += 1
        try:
            self._outbox.put_nowait((self._published, topic, event))
        except asyncio.QueueFull:  # the gap in the numbers tells the listeners
            self._dropped += 1

    # -- sending ------------------------------------------------------------------------------
    async def _sender(self, redis: Redis) -> None:
        while True:
            batch = [await self._outbox.get()]
            while len(batch) < BATCH and not self._outbox.empty():
                batch.append(self._outbox.get_nowait())
            try:
                await self._send(redis, batch)
            except (RedisError, OSError) as error:
                self._dropped += len(batch) + self._outbox.qsize()
                while not self._outbox.empty():  # stale by the time Redis is back
                    self._outbox.get_nowait()
                log.warning("live events: Redis at %s: %s", self._where, error)
            except Exception:  # an event that is not JSON: a bug, but not the end of events
                self._dropped += len(batch)
                log.exception("live events: could not publish")
            if self._dropped:
                log.warning("live events: %d not published; listeners reconnect", self._dropped)
                self._dropped = 0

    async def _send(self, redis: Redis, batch: list[tuple[int, str, dict[str, Any]]]) -> None:
        async with redis.pipeline(transaction=False) as pipe:
            for number, topic, event in batch:
                pipe.publish(self.channel, json.dumps([self._origin, number, topic, event]))
            await pipe.execute()

    # -- receiving ----------------------------------------------------------------------------
    async def _subscription(self, redis: Redis) -> None:
        """Subscribe, receive until the connection fails, and again after a back-off; each
        attempt on a fresh connection, so that nothing resubscribes behind this code's back."""
        delay = RECONNECT_S[0]
        while True:
            try:
                async with redis.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    await self._receive(pubsub)
            except (RedisError, OSError) as error:
                if self._up.is_set():
                    log.warning("live events: subscription lost (%s); reconnecting", error)
                    delay = RECONNECT_S[0]
            if self._up.is_set():
                self._up.clear()
                self._all_fall_behind()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_S[1])

    async def _receive(self, pubsub: PubSub) -> None:
        quiet = 0
        while True:
            message = await pubsub.get_message(timeout=HEARTBEAT_S)
            if message is None:
                quiet += 1
                if quiet > 3:
                    raise SubscriptionLost(f"no answer from {self._where}")
                await pubsub.ping()
                continue
            quiet = 0
            if message["type"] == "subscribe":
                self._on_subscribe()
            elif message["type"] == "message":
                self._received(message["data"])

    def _on_subscribe(self) -> None:
        """Listeners that started while there was no subscription may have missed events."""
        self._all_fall_behind()
        self._seen.clear()
        self._up.set()
        log.info("live events: subscribed to %s at %s", self.channel, self._where)

    def _received(self, data: bytes) -> None:
        if data.startswith(self._echo):
            return  # delivered here when published: not even decoded
        try:
            origin, number, topic, event = json.loads(data)
        except ValueError:
            log.warning("live events: not an event on %s: %.200r", self.channel, data)
            return
        last = self._seen.get(origin)
        self._seen[origin] = number
        if last is not None and number != last + 1:
            log.warning("live events: %d lost on the way; listeners reconnect", number - last - 1)
            self._all_fall_behind()
        self._deliver(topic, event)
