"""The agent console's API on a real server: sign-in, CSRF, roles, the queue over HTTP and
WebSocket, and a customer writing again after resolution. Rasa is not running here, so every
customer message is handed over (reason ``bot_unavailable``): the queue's own path."""

import json
import os
import time

import httpx
import pytest
from websockets.sync.client import connect

from escalation import Role, SqlAgents
from tests.clients import PASSWORD, Console, Customer
from tests.databases import database_env, open_database_at
from tests.servers import free_port, start_api, stop


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("agent-api")
    db = folder / "helpdesk.db"
    agents = SqlAgents(open_database_at(db))
    agents.add("anna", PASSWORD, display_name="Anna", capacity=20)
    agents.add("bob", PASSWORD, display_name="Bob")
    agents.add("mia", PASSWORD, Role.MANAGER, display_name="Mia")
    port = free_port()
    env = os.environ | {
        **database_env(db),
        "HELPDESK_COOKIE_SECURE": "false",  # plain http on loopback in tests
        "HELPDESK_RASA_PORT": str(free_port()),  # nothing listens: the bot is "unavailable"
        "HELPDESK_REOPEN_WINDOW_MINUTES": "0.02",
    }
    process = start_api(port, env, folder / "api.log")
    yield {"url": f"http://127.0.0.1:{port}", "db": db}
    stop(process)


def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(server):
    http = httpx.Client(base_url=server["url"])
    wrong = http.post("/api/auth/login", json={"username": "anna", "password": "nope"})
    unknown = http.post("/api/auth/login", json={"username": "zed", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert http.get("/api/agent/queue").status_code == 401


def test_the_session_cookie_is_http_only_and_changes_need_the_csrf_header(server):
    anna = Console(server["url"], "anna")
    cookie = next(c for c in anna.http.cookies.jar if c.name == "helpdesk_session")
    assert cookie.has_nonstandard_attr("HttpOnly")
    refused = anna.http.put("/api/agent/presence", json={"presence": "away"})
    assert refused.status_code == 403
    headers = {"X-CSRF-Token": anna.http.cookies["helpdesk_csrf"]}
    accepted = anna.http.put("/api/agent/presence", json={"presence": "away"}, headers=headers)
    assert accepted.status_code == 200 and accepted.json()["presence"] == "away"


def test_a_personal_token_works_without_cookie_or_csrf(server):
    token = Console(server["url"], "anna").post("/api/auth/tokens").json()["token"]
    script = httpx.Client(base_url=server["url"], headers={"Authorization": f"Bearer {token}"})
    assert script.get("/api/auth/me").json()["username"] == "anna"
    assert script.put("/api/agent/presence", json={"presence": "away"}).status_code == 200
    wrong = httpx.get(f"{server['url']}/api/auth/me", headers={"Authorization": "Bearer x"})
    assert wrong.status_code == 401


def test_agents_cannot_reach_manager_routes_or_pages(server):
    anna = Console(server["url"], "anna")
    assert anna.http.get("/api/manager/audit").status_code == 403
    assert (
        anna.post("/api/manager/canned", {"title": "t", "language": "en", "text": "x"}).status_code
        == 403
    )
    assert anna.http.get("/console/manager").status_code == 403
    mia = Console(server["url"], "mia")
    assert mia.http.get("/console/manager").status_code == 200
    assert mia.http.get("/api/manager/audit").status_code == 200
    anonymous = httpx.get(f"{server['url']}/console/manager")
    assert anonymous.status_code == 307 and anonymous.headers["location"] == "/console"


def test_handoff_claim_reply_and_a_second_claim_over_http(server):
    customer = Customer(server["url"])
    sent = customer.say("my order never arrived")
    assert sent["conversation"]["state"] == "queued"
    assert sent["conversation"]["queue"]["position"] >= 1
    anna, bob = Console(server["url"], "anna"), Console(server["url"], "bob")
    queued = anna.http.get("/api/agent/queue").json()["queued"]
    item = next(i for i in queued if i["id"] == customer.id)
    assert item["reason"] == "bot_unavailable" and item["summary"] == "my order never arrived"
    assert anna.post(f"/api/agent/conversations/{customer.id}/claim").status_code == 200
    second = bob.post(f"/api/agent/conversations/{customer.id}/claim")
    assert second.status_code == 409 and "Anna" in second.json()["detail"]
    assert (
        bob.post(f"/api/agent/conversations/{customer.id}/messages", {"text": "hi"}).status_code
        == 409
    )
    reply = anna.post(f"/api/agent/conversations/{customer.id}/messages", {"text": "On it!"})
    assert reply.status_code == 201
    note = anna.post(f"/api/agent/conversations/{customer.id}/notes", {"text": "courier issue"})
    assert note.status_code == 201
    history = customer.history()
    assert history[-1] == {**reply.json(), "author": "Anna"}
    assert all("courier issue" not in m["text"] for m in history)  # notes stay internal
    audit = Console(server["url"], "mia").http.get("/api/manager/audit").json()
    assert {"claim", "login"} <= {entry["action"] for entry in audit}


def test_the_console_stream_pushes_the_queue_and_the_customers_words(server):
    anna = Console(server["url"], "anna")
    cookie = f"helpdesk_session={anna.http.cookies['helpdesk_session']}"
    stream_url = server["url"].replace("http", "ws") + "/api/agent/stream"
    with connect(stream_url, additional_headers={"Cookie": cookie}) as stream:
        assert json.loads(stream.recv(timeout=5))["type"] == "queue"
        customer = Customer(server["url"])
        customer.say("hello, is anyone there?")
        snapshot = _next(stream, "queue")
        assert customer.id in [i["id"] for i in snapshot["queued"]]
        stream.send(json.dumps({"type": "watch", "conversation_id": customer.id}))
        anna.post(f"/api/agent/conversations/{customer.id}/claim")
        customer.say("thanks for picking this up")
        pushed = _next(stream, "message", sender="customer")
        assert pushed["conversation_id"] == customer.id
        assert pushed["message"]["text"] == "thanks for picking this up"


def test_typing_shows_both_ways(server):
    customer = Customer(server["url"])
    customer.say("I need help")
    anna = Console(server["url"], "anna")
    anna.post(f"/api/agent/conversations/{customer.id}/claim")
    cookie = f"helpdesk_session={anna.http.cookies['helpdesk_session']}"
    ws = server["url"].replace("http", "ws")
    customer_url = f"{ws}/api/conversations/{customer.id}/stream?token={customer.token}"
    with (
        connect(f"{ws}/api/agent/stream", additional_headers={"Cookie": cookie}) as console,
        connect(customer_url) as chat,
    ):
        _next(console, "queue")  # following the conversations it holds from here on
        chat.send(json.dumps({"type": "typing", "typing": True}))
        typing = _next(console, "typing")
        assert typing["sender"] == "customer" and typing["conversation_id"] == customer.id
        console.send(json.dumps({"type": "typing", "conversation_id": customer.id, "typing": True}))
        assert _next(chat, "typing")["sender"] == "agent"


def test_signing_out_goes_offline(server):
    bob = Console(server["url"], "bob")
    headers = {"X-CSRF-Token": bob.http.cookies["helpdesk_csrf"]}
    bob.http.put("/api/agent/presence", json={"presence": "online"}, headers=headers)
    assert bob.post("/api/auth/logout").status_code == 200
    assert bob.http.get("/api/auth/me").status_code == 401
    agents = SqlAgents(open_database_at(server["db"]))
    assert agents.by_username("bob").presence == "offline"


def test_a_foreign_origin_cannot_open_the_console_stream(server):
    anna = Console(server["url"], "anna")
    cookie = f"helpdesk_session={anna.http.cookies['helpdesk_session']}"
    stream_url = server["url"].replace("http", "ws") + "/api/agent/stream"
    headers = {"Cookie": cookie, "Origin": "https://evil.example"}
    with pytest.raises(Exception), connect(stream_url, additional_headers=headers) as stream:  # noqa: B017
        stream.recv(timeout=5)


def test_a_message_soon_after_resolution_reopens_later_starts_anew(server):
    customer = Customer(server["url"])
    customer.say("I need a person")
    anna = Console(server["url"], "anna")
    anna.post(f"/api/agent/conversations/{customer.id}/claim")
    anna.post(f"/api/agent/conversations/{customer.id}/resolve", {"code": "solved"})
    reopened = customer.say("one more thing")["conversation"]
    assert reopened["state"] == "assigned" and reopened["agent"] == "Anna"
    anna.post(f"/api/agent/conversations/{customer.id}/resolve", {"code": "solved"})
    time.sleep(1.5)  # past the 1.2 s reopen window of this server
    later = customer.say("a new question")
    new_id = later["continued_in"]["conversation_id"]
    assert new_id != customer.id
    detail = anna.http.get(f"/api/agent/conversations/{new_id}").json()
    assert [c["id"] for c in detail["customer"]["earlier"]] == [customer.id]
    assert detail["customer"]["earlier"][0]["resolution_code"] == "solved"
    new_token = later["continued_in"]["customer_token"]
    headers = {"Authorization": f"Bearer {new_token}"}
    assert customer.http.get(f"/api/conversations/{new_id}", headers=headers).status_code == 200
    old = customer.http.get(
        f"/api/conversations/{new_id}", headers={"Authorization": f"Bearer {customer.token}"}
    )
    assert old.status_code == 403  # each token opens its own conversation only


def test_a_resolved_conversation_is_rated_once_and_the_chat_hears_it_resolved(server):
    customer = Customer(server["url"])
    customer.say("I need a person")
    anna = Console(server["url"], "anna")
    anna.post(f"/api/agent/conversations/{customer.id}/claim")
    feedback = f"/api/conversations/{customer.id}/feedback"
    early = customer.http.post(feedback, json={"csat": 5}, headers=customer.headers)
    assert early.status_code == 409  # not resolved yet
    url = server["url"].replace("http", "ws")
    with connect(f"{url}/api/conversations/{customer.id}/stream?token={customer.token}") as chat:
        anna.post(f"/api/agent/conversations/{customer.id}/resolve", {"code": "solved"})
        state = _next(chat, "state")
    assert state["conversation"]["state"] == "resolved"
    bad = customer.http.post(feedback, json={"csat": 6}, headers=customer.headers)
    assert bad.status_code == 422
    rating = {"csat": 4, "ces": 5, "comment": "  quick, thank you  "}
    given = customer.http.post(feedback, json=rating, headers=customer.headers)
    assert given.status_code == 201
    assert given.json() == {"csat": 4, "ces": 5, "comment": "quick, thank you"}
    again = customer.http.post(feedback, json={"csat": 1}, headers=customer.headers)
    assert again.status_code == 409  # once
    read = customer.http.get(f"/api/conversations/{customer.id}", headers=customer.headers)
    assert read.json()["feedback"]["csat"] == 4


def test_the_widget_may_call_the_customer_api_from_another_site_but_not_the_console(server):
    http = httpx.Client(base_url=server["url"])
    preflight = {"Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"}  # fmt: skip
    customer_api = http.options("/api/conversations", headers=preflight)
    assert customer_api.status_code == 200
    assert customer_api.headers["access-control-allow-origin"] == "*"
    console_api = http.options("/api/agent/queue", headers=preflight)
    assert "access-control-allow-origin" not in console_api.headers
    config = http.get("/api/widget/config", headers={"Origin": "https://shop.example"})
    assert config.headers["access-control-allow-origin"] == "*"
    assert set(config.json()["greeting"]) == {"ru", "en"}


def _next(stream, kind: str, **match) -> dict:
    while True:
        event = json.loads(stream.recv(timeout=5))
        if event["type"] == kind and all(
            event.get("message", {}).get(k) == v for k, v in match.items()
        ):
            return event
