"""What the bot remembers of a conversation: its Rasa tracker, every customer message with its
intent, and the slots (the questions tried). Rasa keeps it in its tracker store: in the Rasa
server's memory by default (bot/endpoints.yml names none), or in Redis when several servers
share conversations (``HELPDESK_REDIS_URL``).

Rasa's HTTP API (enabled by ``helpdesk serve``) replaces a tracker's events; replacing them with
none leaves an empty tracker, with nothing the customer said. Either store is shared by all the
servers that may hold the conversation, so one server that answers is enough.
"""

import logging

import httpx

log = logging.getLogger(__name__)


class BotTrackers:
    def __init__(self, servers: list[str], timeout: float = 10.0):
        self.servers = [server.rstrip("/") for server in servers]
        self.timeout = timeout

    def forget(self, conversations: list[str]) -> dict[str, int | bool]:
        """Empty the conversations' trackers: ``{"forgotten": n, "unreachable": bool}``.

        If no server answers, the rest are not tried: a server that is down has lost an
        in-memory store with it, and one that does not answer would make each try wait. The
        caller records the result where it can be seen (the audit log)."""
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
                    f"{server}/conversations/{conversation_id}/tracker/events", json=[]
                ).raise_for_status()
                return True
            except httpx.HTTPError as error:
                log.warning("Rasa at %s did not empty a tracker: %s", server, error)
        return False
