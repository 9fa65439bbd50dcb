"""Rasa, reached through its REST channel: one customer message in, the bot's replies out."""

from typing import Any

import httpx


class BotUnavailable(RuntimeError):
    """Rasa or its action server is down, slow or erroring."""


class RasaClient:
    def __init__(self, base_url: str, timeout: float):
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout)

    async def send(self, conversation_id: str, text: str, metadata: dict[str, Any]) -> list[dict]:
        """The replies, as Rasa's REST channel gives them (``text``, ``buttons``, ``custom``)."""
        body = {"sender": conversation_id, "message": text, "metadata": metadata}
        try:
            response = await self._client.post("/webhooks/rest/webhook", json=body)
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise BotUnavailable(f"{type(error).__name__}: {error}") from error

    async def close(self) -> None:
        await self._client.aclose()
