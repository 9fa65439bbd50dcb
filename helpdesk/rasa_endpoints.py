"""The Rasa server's endpoints: ``bot/endpoints.yml``, plus Redis tracker and lock stores when
``HELPDESK_REDIS_URL`` is set.

With the stores in Redis, several Rasa servers share conversations: any of them can take a
conversation's next message, because the tracker store holds its history and slots, and the
lock store keeps two servers from handling one conversation's messages at the same time.
"""

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

from helpdesk.settings import Settings

BOT_ENDPOINTS = Path(__file__).parents[1] / "bot" / "endpoints.yml"


def endpoints(settings: Settings) -> dict[str, Any]:
    """The endpoints configuration for this deployment, as Rasa reads it."""
    config = yaml.safe_load(BOT_ENDPOINTS.read_text(encoding="utf-8"))
    if not settings.redis_url:
        return config
    store = {
        "type": "redis",
        **_connection(settings.redis_url),
        "key_prefix": settings.redis_prefix,
    }
    return {**config, "tracker_store": store, "lock_store": dict(store)}


def tracker_key(settings: Settings, conversation_id: str) -> str:
    """Where Rasa's Redis tracker store keeps a conversation's tracker: its key prefix (ours,
    which Rasa takes only if it is alphanumeric, as the setting must be), then ``tracker:``."""
    return f"{settings.redis_prefix}:tracker:{conversation_id}"


def write_endpoints(settings: Settings, path: Path) -> Path:
    """Written for the server to read; only the owner may read it (it may hold a password).
    The path returned is absolute: Rasa runs in ``bot/`` and, given a path it cannot find,
    quietly falls back to its own endpoints.yml, without the Redis stores."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(yaml.safe_dump(endpoints(settings), sort_keys=False), encoding="utf-8")
    return path.resolve()


def _connection(redis_url: str) -> dict[str, Any]:
    """``redis://[user:password@]host[:port][/db]`` as Rasa's Redis stores take it."""
    url = urlsplit(redis_url)
    database = url.path.strip("/") or "0"
    if not database.isdigit():
        raise ValueError(f"HELPDESK_REDIS_URL: the database must be a number, not {database!r}")
    connection = {"url": url.hostname or "localhost", "port": url.port or 6379, "db": int(database)}
    if url.username:
        connection["username"] = unquote(url.username)
    if url.password:
        connection["password"] = unquote(url.password)
    if url.scheme == "rediss":
        connection["use_ssl"] = True
    return connection
