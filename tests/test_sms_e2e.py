"""A whole SMS conversation in Russian, end to end: ``helpdesk serve`` in demo mode (the real
Rasa server and action server, the API, the demo knowledge base, and the local Twilio stand-in
that signs webhooks and status callbacks), texted from ``helpdesk dev sms`` and the stand-in.

Rasa answers from the knowledge base with the article's SMS answer, "Did this help?" comes as
numbered options and "2" is understood as "No", the customer asks for a person and is told
their place in the queue by SMS, and an agent's reply is delivered by SMS.
"""

import subprocess
import time

import httpx
import pytest

from channels.twilio import segments
from escalation import SqlAgents
from tests.databases import open_database_at
from tests.servers import BIN, Service

PHONE = "+79990001122"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sms-e2e")
    SqlAgents(open_database_at(folder / "helpdesk.db")).add(
        "anna", PASSWORD, display_name="Анна", capacity=5, languages=["ru", "en"]
    )
    running = Service(folder, HELPDESK_AUTO_ASSIGN="false", HELPDESK_COOKIE_SECURE="false").start()
    yield running
    running.stop()


def texts_to(service: Service, phone: str) -> list[dict]:
    return [m for m in httpx.get(f"{service.standin_url}/_standin/messages").json()
            if m["to"] == phone]  # fmt: skip


def text_in(service: Service, phone: str, body: str) -> None:
    answer = httpx.post(
        f"{service.standin_url}/_standin/inbound", json={"from": phone, "body": body}, timeout=20
    )
    assert answer.json()["status"] == 200, answer.text


def new_texts(service: Service, phone: str, seen: int, wanted: str, timeout=30) -> list[str]:
    """Texts to ``phone`` after the first ``seen``, once one of them contains ``wanted``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        bodies = [m["body"] for m in texts_to(service, phone)[seen:]]
        if any(wanted in body for body in bodies):
            return bodies
        time.sleep(0.2)
    raise AssertionError(f"no text with {wanted!r}; got {bodies}")


def signed_in(service: Service) -> httpx.Client:
    agent = httpx.Client(base_url=service.url, timeout=20)
    login = agent.post("/api/auth/login", json={"username": "anna", "password": PASSWORD})
    assert login.status_code == 200, login.text
    agent.headers["X-CSRF-Token"] = agent.cookies["helpdesk_csrf"]
    return agent


def test_a_russian_sms_conversation_from_faq_answer_to_an_agents_reply(service):
    # A question texted from the terminal, as a person trying the demo would.
    demo = subprocess.run(
        [BIN / "helpdesk", "dev", "sms", PHONE, "где мой заказ?", "--wait", "40"],
        env=service.env, capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stderr
    assert "Статус заказа: в личном кабинете" in demo.stdout  # the article's SMS answer
    assert "1 - Да\n2 - Нет\nОтветьте 1 или 2." in demo.stdout

    seen = len(texts_to(service, PHONE))
    text_in(service, PHONE, "2")  # "No": it did not help
    assert any("Опишите" in b for b in new_texts(service, PHONE, seen, "Опишите"))

    agent = signed_in(service)
    assert agent.put("/api/agent/presence", json={"presence": "online"}).status_code == 200
    seen = len(texts_to(service, PHONE))
    text_in(service, PHONE, "позовите оператора, пожалуйста")
    told = new_texts(service, PHONE, seen, "в очереди")
    assert any("Передаю разговор сотруднику" in b for b in told)
    assert any("Вы 1-й в очереди" in b for b in told)

    [waiting] = agent.get("/api/agent/queue").json()["queued"]
    assert waiting["channel"] == "sms"
    view = agent.get(f"/api/agent/conversations/{waiting['id']}").json()
    assert view["customer"]["phone"] == PHONE
    said = [(m["sender"], m["channel"]) for m in view["messages"]]
    assert ("customer", "sms") in said and ("bot", "sms") in said
    answer = next(m for m in view["messages"] if "Мои заказы" in m["text"])
    assert answer["delivery"]["status"] in ("sent", "delivered", "queued")

    seen = len(texts_to(service, PHONE))
    assert agent.post(f"/api/agent/conversations/{waiting['id']}/claim").status_code == 200
    reply = (
        "Ваш заказ VS-123456 уже у курьера, он привезёт его сегодня до 18:00. "
        "Если что-то изменится, мы сразу напишем вам сюда."
    )
    sent = agent.post(f"/api/agent/conversations/{waiting['id']}/messages", json={"text": reply})
    assert sent.status_code == 201, sent.text
    bodies = new_texts(service, PHONE, seen, reply)
    assert "Анна подключается к разговору." in bodies
    [delivered] = [m for m in texts_to(service, PHONE) if m["body"] == reply]
    assert int(delivered["num_segments"]) == segments(reply) == 2  # Cyrillic: 70, then 67

    text_in(service, PHONE, "спасибо!")  # the customer's answer reaches the same conversation

    def settled() -> dict | None:
        view = agent.get(f"/api/agent/conversations/{waiting['id']}").json()
        [sent] = [m for m in view["messages"] if m["text"] == reply]
        answered = view["messages"][-1]["text"] == "спасибо!"
        return view if answered and sent["delivery"]["status"] == "delivered" else None

    view = eventually(settled)
    assert view["messages"][-1]["channel"] == "sms"


def eventually(check, timeout: float = 15):
    deadline = time.monotonic() + timeout
    while (result := check()) is None:
        assert time.monotonic() < deadline, "did not happen in time"
        time.sleep(0.2)
    return result
