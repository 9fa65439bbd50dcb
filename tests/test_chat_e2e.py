"""The web chat end to end: a real Rasa server and action server, the API, the demo base."""

import json
from datetime import timedelta

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from escalation import Role, Sender, SqlAgents, SqlConversationStore, State
from tests.clients import Customer
from tests.databases import open_database_at
from tests.servers import Service


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    running = Service(tmp_path_factory.mktemp("service")).start()
    yield running
    running.stop()


def texts(reply: dict) -> str:
    return "\n".join(m["text"] for m in reply["messages"])


def store(service: Service) -> SqlConversationStore:
    return SqlConversationStore(open_database_at(service.db))


def handoff(service: Service, conversation_id: str) -> dict:
    events = store(service).events(conversation_id)
    [queued] = [e for e in events if e.data.get("to") == State.QUEUED]
    return queued.data["handoff"]


@pytest.mark.parametrize(
    ("locale", "greeting", "expected"), [("ru", "привет", "Здравствуйте"), ("en", "hello", "Hello")]
)
def test_greeting_in_the_customers_language(service, locale, greeting, expected):
    reply = Customer(service.url, locale).say(greeting)
    assert reply["messages"][0]["sender"] == "bot"
    assert reply["messages"][0]["text"].startswith(expected)


@pytest.mark.parametrize(
    ("question", "answer_part", "did_it_help"),
    [
        ("где мой заказ?", "Мои заказы", ["Да", "Нет"]),
        ("how long does a repair take?", "business days", ["Yes", "No"]),
    ],
)
def test_a_faq_question_is_answered_from_the_knowledge_base(
    service, question, answer_part, did_it_help
):
    reply = Customer(service.url, "en").say(question)
    assert answer_part in texts(reply)
    assert [q["title"] for q in reply["messages"][-1]["quick_replies"]] == did_it_help
    assert reply["conversation"]["state"] == "bot"


def test_an_ambiguous_question_offers_choices_and_a_choice_answers(service):
    customer = Customer(service.url, "ru")
    reply = customer.say("гарантия")
    *choices, none_of_these = reply["messages"][-1]["quick_replies"]
    assert 2 <= len(choices) <= 3 and none_of_these["title"] == "Ничего из этого"
    chosen = customer.say(choices[0]["title"], choices[0]["payload"])
    assert [q["title"] for q in chosen["messages"][-1]["quick_replies"]] == ["Да", "Нет"]
    assert len(chosen["messages"]) == 2
    article_id = json.loads(choices[0]["payload"].removeprefix("/choose_article"))["article_id"]
    customer.say("позовите оператора")
    [offered, answered] = [a for a in handoff(service, customer.id)["articles"]][-2:]
    assert offered["decision"] == "clarify" and offered["reaction"] == f"chose {article_id}"
    assert answered["article_id"] == article_id and answered["score"] is not None


def test_two_unhelpful_answers_then_yes_to_a_person_queues_with_the_whole_story(service):
    customer = Customer(service.url, "ru")
    first = customer.say("где мой заказ?")
    sorry = customer.press(first, "Нет")
    assert "подробнее" in texts(sorry)
    second = customer.say("как вернуть товар?")
    offer = customer.press(second, "Нет")
    assert "сотрудник" in texts(offer)
    queued = customer.press(offer, "Да, позовите сотрудника")
    assert queued["conversation"]["state"] == "queued"
    assert queued["conversation"]["queue"]["position"] >= 1
    assert "Передаю разговор сотруднику" in texts(queued)
    assert "никого из сотрудников нет" in texts(queued)  # no agent is online in this test
    record = handoff(service, customer.id)
    assert record["reason"] == "bot_could_not_help" and record["language"] == "ru"
    answered = [a for a in record["articles"] if a["decision"] == "answer"]
    assert len(answered) == 2 and answered[0]["article_id"] == "order-status-ru"
    assert all(a["reaction"] == "did_not_help" and a["score"] > 0 for a in answered)
    assert answered[0]["tags"]  # the topic, for routing to an agent who knows it
    assert record["customer_words"] == ["где мой заказ?", "как вернуть товар?"]
    assert all({"intent", "confidence"} <= set(i) for i in record["intents"])
    outcomes = [e.data for e in store(service).events(customer.id, "bot_outcome")]
    assert [(o["article_id"], o["reaction"]) for o in outcomes] == [
        ("order-status-ru", "did_not_help"),
        (answered[1]["article_id"], "did_not_help"),
    ]


def test_what_the_bot_could_not_answer_and_what_helped_is_recorded_and_resolves(service):
    customer = Customer(service.url, "en")
    customer.say("do you have a loyalty card for pensioners?")  # the base has no answer
    helped = customer.say("how long does a repair take?")
    glad = customer.press(helped, "Yes")
    assert glad["conversation"]["state"] == "resolved"  # self-service, confirmed
    again = customer.say("and where is my order?")  # soon after: the bot goes on
    assert again["conversation"]["state"] == "bot" and "continued_in" not in again
    assert any(m.get("quick_replies") for m in again["messages"])
    outcomes = [e.data for e in store(service).events(customer.id, "bot_outcome")]
    assert [(o["decision"], o["reaction"]) for o in outcomes] == [
        ("fallback", None),
        ("answer", "helped"),
    ]
    assert outcomes[0]["query"] == "do you have a loyalty card for pensioners?"


@pytest.mark.parametrize(
    ("locale", "text"), [("ru", "позовите оператора"), ("en", "I want a real person")]
)
def test_asking_for_a_person_queues_at_once(service, locale, text):
    customer = Customer(service.url, locale)
    reply = customer.say(text)
    assert reply["conversation"]["state"] == "queued"
    assert reply["messages"][-1]["sender"] == "system"
    assert handoff(service, customer.id)["reason"] == "customer_asked"


def test_an_angry_customer_is_queued_with_high_priority(service):
    customer = Customer(service.url, "en")
    reply = customer.say("This is ridiculous, I've been waiting three weeks, worst service ever!!!")
    assert reply["conversation"]["state"] == "queued"
    record = handoff(service, customer.id)
    assert (record["reason"], record["priority"]) == ("angry", "high")


@pytest.mark.parametrize("text", ["what's the weather in Paris tomorrow?", "расскажи анекдот"])
def test_out_of_scope_gets_no_wrong_answer(service, text):
    reply = Customer(service.url, "en").say(text)
    assert reply["conversation"]["state"] == "bot"
    assert not any(m.get("quick_replies") for m in reply["messages"])  # no "did this help?"


def test_after_the_handoff_messages_never_reach_rasa(service):
    customer = Customer(service.url, "en")
    customer.say("I want to talk to a human")
    tracker = service.tracker(customer.id).json()
    seen = [e for e in tracker["events"] if e["event"] == "user"]
    reply = customer.say("hello? are you there?")
    assert reply["messages"] == [] and reply["conversation"]["state"] == "queued"
    tracker = service.tracker(customer.id).json()
    assert [e for e in tracker["events"] if e["event"] == "user"] == seen
    history = customer.http.get(
        f"/api/conversations/{customer.id}/messages", headers=customer.headers
    )
    assert history.json()["messages"][-1]["text"] == "hello? are you there?"


def test_tokens_lengths_and_repeats(service):
    customer, other = Customer(service.url, "en"), Customer(service.url, "en")
    url = f"/api/conversations/{customer.id}/messages"
    assert customer.http.post(url, json={"text": "hi"}).status_code == 401
    assert customer.http.post(url, json={"text": "hi"}, headers=other.headers).status_code == 403
    assert customer.http.get(url, headers=other.headers).status_code == 403
    assert customer.http.post(url, json={"text": ""}, headers=customer.headers).status_code == 422
    assert (
        customer.http.post(url, json={"text": "x" * 4001}, headers=customer.headers).status_code
        == 422
    )
    body = {"text": "where is my order?", "client_message_id": "once"}
    first = customer.http.post(url, json=body, headers=customer.headers).json()
    again = customer.http.post(url, json=body, headers=customer.headers).json()
    assert again["messages"] == first["messages"]
    history = customer.http.get(url, headers=customer.headers).json()["messages"]
    assert [m["text"] for m in history].count("where is my order?") == 1


def test_a_message_stored_by_a_worker_that_died_before_the_reply_is_answered_when_retried(
    service,
):
    customer = Customer(service.url, "en")
    # What a worker killed between storing the message and storing the bot's reply leaves
    store(service).add_message(
        customer.id, Sender.CUSTOMER, "where is my order?", client_message_id="cut-off",
        metadata={"language": "en"}, channel="web",
    )  # fmt: skip
    url = f"/api/conversations/{customer.id}/messages"
    body = {"text": "where is my order?", "client_message_id": "cut-off"}
    retried = customer.http.post(url, json=body, headers=customer.headers).json()
    assert retried["messages"] and {m["sender"] for m in retried["messages"]} == {"bot"}
    again = customer.http.post(url, json=body, headers=customer.headers).json()
    assert again["messages"] == retried["messages"]  # answered once: now a plain repeat
    history = customer.http.get(url, headers=customer.headers).json()["messages"]
    assert [m["text"] for m in history].count("where is my order?") == 1


def test_the_stream_carries_messages_typing_and_state_live(service):
    customer = Customer(service.url, "en")
    stream = service.url.replace("http", "ws") + f"/api/conversations/{customer.id}/stream"
    with pytest.raises(InvalidStatus):
        connect(f"{stream}?token=wrong").recv(timeout=5)
    token = customer.headers["Authorization"].removeprefix("Bearer ")
    with connect(f"{stream}?token={token}") as live:
        customer.say("I want a real person")
        events = []
        while not any(e["type"] == "state" for e in events):
            events.append(json.loads(live.recv(timeout=30)))
    kinds = [e["type"] for e in events]
    assert kinds[0] == "message" and events[0]["message"]["text"] == "I want a real person"
    assert "typing" in kinds
    assert events[-1]["conversation"]["state"] == "queued"


def test_an_article_a_manager_just_saved_is_the_bots_next_answer(service):
    """Last in this module: the article stays in the base."""
    agents = SqlAgents(open_database_at(service.db))
    mia = agents.add("mia", "manager-password", Role.MANAGER)
    token = agents.open_session(mia.id, "token", timedelta(hours=1))  # a script's bearer token
    article = {
        "lang": "en",
        "question": "Is there parking near your service centres?",
        "answer": "Yes: every service centre has free parking for customers.",
        "phrasings": ["where can I park my car", "free parking"],
    }
    created = httpx.post(
        f"{service.url}/api/manager/articles",
        json=article,
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert created.status_code == 201, created.text
    # Worded as every trained model seen so far takes for a question: training is not seeded,
    # and one model read "где можно припарковать машину рядом с вами?" as a complaint
    reply = Customer(service.url, "ru").say("есть ли у вас парковка?")
    assert "free parking for customers" in texts(reply)
