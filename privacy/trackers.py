"""What the bot remembers of a conversation: its Rasa tracker, every customer message with its
intent, and the slots (the questions tried). Rasa keeps it in its tracker store: in the Rasa
server's memory by default (bot/endpoints.yml names none), or in Redis when several servers
share conversations (``HELPDESK_REDIS_URL``).

In memory, Rasa's HTTP API (enabled by ``helpdesk serve``) replaces a tracker's events;
replacing them with none leaves an empty tracker, with nothing the customer said. Rasa 3.6's
Redis store merges what it is given into what it holds, so there the API cannot empty a
tracker: its key is deleted instead. Either store is shared by all the servers that may hold
the conversation, so one that answers is enough.
"""

import logging
from typing import Protocol

import httpx
import redis

from helpdesk.rasa_endpoints import tracker_key
from helpdesk.settings import Settings

log = logging.getLogger(__name__)


class BotTrackers(Protocol):
    def forget(self, conversations: list[str]) -> dict[str, int | bool]:
        """Empty the conversations' trackers: ``{"forgotten": n, "unreachable": bool}``.

        The caller records the result where it can be seen (the audit log)."""


def bot_trackers(settings: Settings) -> BotTrackers:
    """The trackers of this deployment's Rasa servers: in Redis if they keep them there."""
    if settings.redis_url:
        return RedisTrackers(settings)
    return RasaApiTrackers(settings.rasa_servers, settings.rasa_token)


class RasaApiTrackers:
    """Trackers in the Rasa servers' memory, emptied through their HTTP API."""

    def __init__(self, servers: list[str], token: str | None = None, timeout: float = 10.0):
        self.servers = [server.rstrip("/") for server in servers]
        self.params = {"token": token} if token else {}  # rasa run --auth-token
        self.timeout = timeout

    def forget(self, conversations: list[str]) -> dict[str, int | bool]:
        """If no server answers, the rest are not tried: a server that is down has lost an
        in-memory store with it, and one that does not answer would make each try wait."""
        if not conversations:
            return {"forgotten": 0, "unreachable": False}
        forgotten = 0
        with httpx.Client(timeout=self.timeout) as client:
            for conversation_id in conversations:
                if not self._forget_one(client, conversation_id):
                    return {"forgotten": forgotten, "unreachable": True}
                forgotten += 1
        return {"forgotten": forgotten, "unreachable": False}

    def _forget_one(self, client: httpx.Client, conversation_id: str) -> bool:
        for server in self.servers:
            try:
                client.put(
                    f"{server}/conversations/{conversation_id}/tracker/events",
                    json=[],
                    params=self.params,
                ).raise_for_status()
                return True
            except httpx.HTTPError as error:
                log.warning("Rasa at %s did not empty a tracker: %s", server, error)
        return False


class RedisTrackers:
    """Trackers in Redis, deleted by key (the HTTP API cannot empty them there)."""

    def __init__(self, settings: Settings, timeout: float = 10.0):
        self.settings = settings
        self.timeout = timeout

    def forget(self, conversations: list[str]) -> dict[str, int | bool]:
        if not conversations:
            return {"forgotten": 0, "unreachable": False}
        keys = [tracker_key(self.settings, conversation) for conversation in conversations]
        try:
            with redis.Redis.from_url(self.settings.redis_url, socket_timeout=self.timeout) as r:
                r.delete(*keys)
        except redis.RedisError as error:
            log.warning("Redis did not delete the bot's trackers: %s", error)
            return {"forgotten": 0, "unreachable": True}
        return {"forgotten": len(conversations), "unreachable": False}
