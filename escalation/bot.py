"""Rasa, reached through its REST channel: one customer message in, the bot's replies out.

Several Rasa servers sharing a Redis tracker and lock store can each take any message, so the
messages go to them in turn; a server that refuses the connection is skipped for this message.
A message that reached a server and got no answer is not sent again: the server may have acted
on it, and the bot would answer twice.
"""

from itertools import cycle
from typing import Any

import httpx


class BotUnavailable(RuntimeError):
    """Rasa or its action server is down, slow or erroring."""


class RasaClient:
    def __init__(self, base_urls: list[str], timeout: float):
        self._client = httpx.AsyncClient(timeout=timeout)
        self._count = len(base_urls)
        self._servers = cycle(f"{url.rstrip('/')}/webhooks/rest/webhook" for url in base_urls)

    async def send(self, conversation_id: str, text: str, metadata: dict[str, Any]) -> list[dict]:
        """The replies, as Rasa's REST channel gives them (``text``, ``buttons``, ``custom``)."""
        body = {"sender": conversation_id, "message": text, "metadata": metadata}
        refused: httpx.TransportError | None = None
        for server in [next(self._servers) for _ in range(self._count)]:
            try:
                response = await self._client.post(server, json=body)
                response.raise_for_status()
                return response.json()
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                refused = error  # nothing was sent: the next server may take it
            except (httpx.HTTPError, ValueError) as error:
                raise BotUnavailable(f"{type(error).__name__}: {error}") from error
        raise BotUnavailable(f"no Rasa server answered: {refused}") from refused

    async def close(self) -> None:
        await self._client.aclose()
