"""The knowledge base, reached over the Helpdesk API's HTTP surface (never its internals)."""

import os

import requests

API_URL = os.environ.get("HELPDESK_API_URL", "http://127.0.0.1:8000")
TIMEOUT_SECONDS = 5


class KnowledgeUnavailable(RuntimeError):
    """The API could not be asked; the bot hands over rather than guess."""


def _get(path: str, **params) -> dict:
    try:
        response = requests.get(f"{API_URL}{path}", params=params, timeout=TIMEOUT_SECONDS)
        response.raise_for_status()
    except requests.RequestException as error:
        raise KnowledgeUnavailable(str(error)) from error
    return response.json()


def search(text: str) -> dict:
    """``{"lang", "decision", "hits": [{"id", "score", "question", "lang"}]}``."""
    return _get("/api/kb/search", q=text)


def article(article_id: str) -> dict:
    return _get(f"/api/kb/articles/{article_id}")
