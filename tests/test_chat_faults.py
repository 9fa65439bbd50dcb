"""When the bot cannot answer (down, slow, erroring), the customer still hears back in their
language, reaches a person, and nothing they wrote is lost."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from escalation import SqlConversationStore
from tests.databases import open_database_at
from tests.servers import Service, free_port, start_api, stop


class BrokenRasa(BaseHTTPRequestHandler):
    """A stand-in for a Rasa server in trouble: it answers too slowly, or with an error."""

    slow = False

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        if self.slow:
            time.sleep(3)
        self.send_response(500)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def broken_rasa(slow: bool) -> ThreadingHTTPServer:
    handler = type("Handler", (BrokenRasa,), {"slow": slow})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module", params=["down", "slow", "erroring"])
def api_with_broken_bot(request, tmp_path_factory):
    """The API alone, its Rasa port pointing at nothing, at a slow server or a failing one."""
    stand_in = None if request.param == "down" else broken_rasa(slow=request.param == "slow")
    port = stand_in.server_address[1] if stand_in else free_port()
    folder = tmp_path_factory.mktemp(request.param)
    service = Service(folder, HELPDESK_RASA_PORT=str(port), HELPDESK_RASA_TIMEOUT="1")
    process = start_api(service.ports["api"], service.env, folder / "api.log")
    yield service, folder / "api.log"
    stop(process)
    if stand_in:
        stand_in.shutdown()


@pytest.mark.parametrize(
    ("locale", "text", "expected"),
    [("ru", "где мой заказ?", "сотрудник"), ("en", "where is my order?", "person")],
)
def test_the_customer_is_told_and_queued_and_nothing_is_lost(
    api_with_broken_bot, locale, text, expected
):
    service, log = api_with_broken_bot
    http = httpx.Client(base_url=service.url, timeout=30)
    created = http.post("/api/conversations", json={"channel": "web", "locale": locale}).json()
    headers = {"Authorization": f"Bearer {created['customer_token']}"}
    url = f"/api/conversations/{created['conversation_id']}/messages"
    reply = http.post(url, json={"text": text}, headers=headers).json()
    assert reply["conversation"]["state"] == "queued"
    assert reply["messages"][0]["sender"] == "system" and expected in reply["messages"][0]["text"]
    assert http.get(url, headers=headers).json()["messages"][0]["text"] == text
    store = SqlConversationStore(open_database_at(service.db))
    [queued] = [e for e in store.events(created["conversation_id"]) if e.data.get("to") == "queued"]
    assert queued.data["handoff"]["reason"] == "bot_unavailable"
    assert created["conversation_id"] in log.read_text()  # the error is logged with the id
