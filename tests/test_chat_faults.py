"""When the bot cannot be reached, the customer still hears back and reaches a person."""

import subprocess
import time

import httpx
import pytest

from escalation import SqliteConversationStore
from tests.servers import BIN, Service, free_port


@pytest.fixture(scope="module")
def api_without_bot(tmp_path_factory):
    """The API alone, its Rasa port pointing at nothing."""
    folder = tmp_path_factory.mktemp("faults")
    service = Service(folder, HELPDESK_RASA_PORT=str(free_port()), HELPDESK_RASA_TIMEOUT="2")
    command = [
        BIN / "python",
        "-m",
        "uvicorn",
        "--factory",
        "api.app:create_app",
        "--port",
        str(service.ports["api"]),
    ]
    with (folder / "api.log").open("w") as log:
        process = subprocess.Popen(command, env=service.env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{service.url}/openapi.json", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.2)
    yield service
    process.terminate()
    process.wait(timeout=30)


@pytest.mark.parametrize(
    ("locale", "text", "expected"),
    [("ru", "где мой заказ?", "сотрудник"), ("en", "where is my order?", "person")],
)
def test_bot_down_queues_for_a_person_and_loses_nothing(api_without_bot, locale, text, expected):
    http = httpx.Client(base_url=api_without_bot.url, timeout=30)
    created = http.post("/api/conversations", json={"channel": "web", "locale": locale}).json()
    headers = {"Authorization": f"Bearer {created['customer_token']}"}
    url = f"/api/conversations/{created['conversation_id']}/messages"
    reply = http.post(url, json={"text": text}, headers=headers).json()
    assert reply["conversation"]["state"] == "queued"
    assert expected in reply["messages"][0]["text"] and reply["messages"][0]["sender"] == "system"
    history = http.get(url, headers=headers).json()["messages"]
    assert history[0]["text"] == text
    store = SqliteConversationStore(api_without_bot.db)
    [queued] = [e for e in store.events(created["conversation_id"]) if e.data.get("to") == "queued"]
    assert queued.data["handoff"]["reason"] == "bot_unavailable"
