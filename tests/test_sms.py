"""The SMS channel end to end over HTTP: the real API (uvicorn) and the local Twilio stand-in
(``devtools.twilio_standin``) as separate processes, talking Twilio's wire format to each other.

What this proves: inbound webhooks are trusted only when signed over the public URL, stored
before they are acknowledged and stored once however often Twilio repeats them; replies go out
through the delivery worker, which retries outages and rate limits and records permanent
failures; delivery statuses only ever move forward, whatever order callbacks arrive in; STOP,
START and HELP (and their Russian counterparts) are honoured; Cyrillic texts are counted and
split as Twilio bills them; a phone number is a customer identity; a web chat moves to SMS with
a texted code; and a texter hears of their place in the queue only when it is news.

Rasa is not running, so every customer message is handed to the human queue (reason
``bot_unavailable``) and no agent is online on the main server: the texts a customer receives
come from the desk ("Connecting you to a person.", the queue notice) and from agents.
Each test texts from numbers of its own, so tests sharing the server do not see each other's
texts.
"""

import os
import re
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from channels.sms_store import SqlSmsStore
from channels.sms_text import plain, split
from channels.twilio import segments, signature
from escalation import SqlAgents, SqlConversationStore, State
from tests.clients import Customer
from tests.databases import database_env, open_database_at
from tests.servers import BIN, free_port, start_api, stop, wait_until_up

ROOT = Path(__file__).parents[1]
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "sms-test-auth-token"
OUR_NUMBER = "+15005550006"
PASSWORD = "correct horse battery"
CONNECTING = "Connecting you to a person."  # escalation.texts "bot_unavailable", in English

T = TypeVar("T")


def eventually(check: Callable[[], T], timeout: float = 10) -> T:
    """``check()``'s first truthy result; an AssertionError in it means "not yet"."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
            failure: AssertionError | None = None
        except AssertionError as error:
            failure = error
        if time.monotonic() > deadline:
            raise failure or AssertionError(f"not true within {timeout} s: {check}")
        time.sleep(0.05)


def sid() -> str:
    return "SM" + uuid.uuid4().hex


class Console:
    """An agent's browser session: cookie, CSRF header on every change."""

    def __init__(self, url: str, username: str):
        self.http = httpx.Client(base_url=url, timeout=10)
        response = self.http.post(
            "/api/auth/login", json={"username": username, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        self.agent = response.json()["agent"]

    def post(self, path: str, body: dict | None = None) -> httpx.Response:
        headers = {"X-CSRF-Token": self.http.cookies["helpdesk_csrf"]}
        return self.http.post(path, json=body or {}, headers=headers)

    def put(self, path: str, body: dict) -> httpx.Response:
        headers = {"X-CSRF-Token": self.http.cookies["helpdesk_csrf"]}
        return self.http.put(path, json=body, headers=headers)

    def view(self, conversation_id: str) -> dict:
        response = self.http.get(f"/api/agent/conversations/{conversation_id}")
        assert response.status_code == 200, response.text
        return response.json()

    def claim(self, conversation_id: str) -> None:
        response = self.post(f"/api/agent/conversations/{conversation_id}/claim")
        assert response.status_code == 200, response.text

    def reply(self, conversation_id: str, text: str) -> int:
        """The stored message's id."""
        response = self.post(f"/api/agent/conversations/{conversation_id}/messages", {"text": text})
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def delivery(self, conversation_id: str, message_id: int) -> dict | None:
        [message] = [m for m in self.view(conversation_id)["messages"] if m["id"] == message_id]
        return message.get("delivery")

    def delivered(
        self, conversation_id: str, message_id: int, status: str = "delivered", timeout: float = 10
    ) -> dict:
        """The message's delivery once it has reached ``status``."""

        def reached() -> dict | None:
            delivery = self.delivery(conversation_id, message_id)
            return delivery if delivery and delivery["status"] == status else None

        return eventually(reached, timeout)


@dataclass
class Rig:
    """The API, the stand-in posing as Twilio, and the API's database opened directly."""

    url: str
    standin: str
    db: Path
    log: Path

    def __post_init__(self) -> None:
        database = open_database_at(self.db)
        self.store = SqlConversationStore(database)
        self.sms = SqlSmsStore(database)
        self.database = database

    # -- the customer's phone, through the stand-in ----------------------------------------
    def text(self, phone: str, body: str, message_sid: str | None = None) -> str:
        """Text the service from ``phone``, as Twilio would post it; the MessageSid."""
        message = {"from": phone, "body": body, "message_sid": message_sid}
        response = httpx.post(f"{self.standin}/_standin/inbound", json=message, timeout=30)
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["status"] == 200, answer
        assert "<Response/>" in answer["body"]
        return answer["message_sid"]

    def texts_to(self, phone: str) -> list[dict[str, Any]]:
        """What the service texted to ``phone``, in the order it was sent, with statuses."""
        outbox = httpx.get(f"{self.standin}/_standin/messages").json()
        return [message for message in outbox if message["to"] == phone]

    def bodies_to(self, phone: str) -> list[str]:
        return [message["body"] for message in self.texts_to(phone)]

    def text_containing(self, phone: str, words: str) -> dict[str, Any]:
        """The one text to ``phone`` containing ``words``, once it has arrived."""
        return eventually(
            lambda: next((t for t in self.texts_to(phone) if words in t["body"]), None)
        )

    def answered(self, phone: str) -> list[int]:
        """The HTTP status of each send to ``phone``, in order."""
        requests = httpx.get(f"{self.standin}/_standin/requests").json()
        return [request["status"] for request in requests if request["to"] == phone]

    def faults(self, status: int, count: int, retry_after: int | None = None) -> None:
        body = {"status": status, "count": count, "retry_after": retry_after}
        assert httpx.post(f"{self.standin}/_standin/faults", json=body).status_code == 200

    # -- Twilio's webhooks, posted by hand ------------------------------------------------
    def post_signed(self, path: str, fields: dict[str, str], url: str | None = None):
        """A form posted to ``path``, signed as Twilio signs it (over ``url``: by default the
        public URL of ``path``)."""
        signed_url = url or self.url + path
        headers = {"X-Twilio-Signature": signature(AUTH_TOKEN, signed_url, fields)}
        return httpx.post(self.url + path, data=fields, headers=headers)

    def callbacks_in(self) -> None:
        """Wait until every status callback the stand-in will post has reached the API: three
        for each text it took (counted in the API's access log)."""

        def arrived() -> bool:
            sent = len(httpx.get(f"{self.standin}/_standin/messages").json())
            posted = self.log.read_text().count("POST /webhooks/twilio/status ")
            return posted >= 3 * sent

        eventually(arrived)

    # -- the database ----------------------------------------------------------------------
    def conversation_of(self, phone: str) -> str:
        """The latest conversation of the customer with this number, once there is one."""

        def latest() -> str | None:
            customer_id = self.store.customer_by_phone(phone)
            conversations = self.store.of_customer(customer_id) if customer_id else []
            return conversations[0].id if conversations else None

        return eventually(latest)

    def quiet(self) -> None:
        """Wait until the delivery worker has nothing left to do: every reply on the SMS
        channel has been queued as texts, and no text is waiting to be sent."""

        def idle() -> bool:
            with self.database.read() as conn:
                (unqueued,) = conn.execute(
                    "select count(*) from messages m where m.channel = 'sms' "
                    "and m.sender != 'customer' and not exists "
                    "(select 1 from sms_deliveries d where d.message_id = m.id)"
                ).fetchone()
                (pending,) = conn.execute(
                    "select count(*) from sms_deliveries where status = 'pending'"
                ).fetchone()
            return unqueued == 0 and pending == 0

        eventually(idle, timeout=30)


def _start(folder: Path, agents: dict[str, int], **settings: str) -> Iterator[Rig]:
    """The stand-in and the API pointing at each other; ``agents``: username -> capacity."""
    db = folder / "helpdesk.db"
    people = SqlAgents(open_database_at(db))
    for username, capacity in agents.items():
        people.add(username, PASSWORD, display_name=username.title(), capacity=capacity)
    api_port, standin_port = free_port(), free_port()
    api, standin = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{standin_port}"
    command = [
        BIN / "python", "-m", "devtools.twilio_standin", "--port", str(standin_port),
        "--account-sid", ACCOUNT_SID, "--auth-token", AUTH_TOKEN,
        "--webhook-url", f"{api}/webhooks/twilio/sms",
        "--status-url", f"{api}/webhooks/twilio/status", "--phone-number", OUR_NUMBER,
    ]  # fmt: skip
    with (folder / "standin.log").open("w") as output:
        twilio = subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_until_up(f"{standin}/_standin/messages", twilio, timeout=30)
        env = os.environ | {
            **database_env(db),
            "HELPDESK_COOKIE_SECURE": "false",  # plain http on loopback in tests
            "HELPDESK_RASA_PORT": str(free_port()),  # nothing listens: the bot is "unavailable"
            "HELPDESK_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "HELPDESK_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "HELPDESK_TWILIO_FROM_NUMBER": OUR_NUMBER,
            "HELPDESK_TWILIO_API_BASE": standin,
            "HELPDESK_PUBLIC_URL": api,  # what Twilio signs webhooks over
            **settings,
        }
        process = start_api(api_port, env, folder / "api.log")
        try:
            yield Rig(api, standin, db, folder / "api.log")
        finally:
            stop(process)
    finally:
        stop(twilio)


@pytest.fixture(scope="module")
def rig(tmp_path_factory) -> Iterator[Rig]:
    # A resolved conversation reopens within 1.2 s; after that a text starts a new one.
    yield from _start(
        tmp_path_factory.mktemp("sms"), {"anna": 100}, HELPDESK_REOPEN_WINDOW_MINUTES="0.02"
    )


@pytest.fixture(scope="module")
def anna(rig) -> Console:
    return Console(rig.url, "anna")


def queued_texter(rig: Rig, phone: str, body: str) -> str:
    """A texter whose first text has been handed to the queue; their conversation's id."""
    rig.text(phone, body)
    rig.text_containing(phone, CONNECTING)
    return rig.conversation_of(phone)


# --- Webhook signatures, storage, repeats -------------------------------------------------


def inbound_form(phone: str, body: str, message_sid: str) -> dict[str, str]:
    return {
        "MessageSid": message_sid, "SmsSid": message_sid, "AccountSid": ACCOUNT_SID,
        "From": phone, "To": OUR_NUMBER, "Body": body, "NumMedia": "0",
    }  # fmt: skip


def test_only_webhooks_signed_over_the_public_url_are_taken(rig):
    path, phone = "/webhooks/twilio/sms", "+15550100001"
    url = rig.url + path
    forms = [inbound_form(phone, "where is my refund?", sid()) for _ in range(5)]
    unsigned = httpx.post(url, data=forms[0])
    wrongly = httpx.post(url, data=forms[1], headers={"X-Twilio-Signature": "bm90IHRoaXM="})
    elsewhere = rig.post_signed(path, forms[2], url=f"https://helpdesk.example{path}")
    as_json = httpx.post(
        url, json=forms[3], headers={"X-Twilio-Signature": signature(AUTH_TOKEN, url, forms[3])}
    )
    assert [r.status_code for r in (unsigned, wrongly, elsewhere, as_json)] == [403, 403, 403, 415]
    for form in forms[:4]:
        assert rig.store.by_client_message_id(form["MessageSid"], "sms") is None
    assert rig.store.customer_by_phone(phone) is None  # not even a customer was made

    accepted = rig.post_signed(path, forms[4])
    assert accepted.status_code == 200
    assert accepted.headers["content-type"].startswith("application/xml")
    assert accepted.text == '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    assert rig.store.by_client_message_id(forms[4]["MessageSid"], "sms") is not None
    assert rig.store.customer_by_phone(phone) is not None


def test_a_text_is_stored_before_the_webhook_is_answered(rig):
    phone, message_sid = "+15550100201", sid()
    response = rig.post_signed(
        "/webhooks/twilio/sms", inbound_form(phone, "my parcel is late", message_sid)
    )
    assert response.status_code == 200
    stored = rig.store.by_client_message_id(message_sid, "sms")  # no waiting: already there
    assert stored is not None and stored.text == "my parcel is late"
    assert stored.sender == "customer" and stored.channel == "sms"


def test_a_text_delivered_three_times_is_stored_and_answered_once(rig):
    phone = "+15550100101"
    first = rig.text(phone, "my internet is down since morning")
    assert rig.text(phone, "my internet is down since morning", first) == first
    assert rig.text(phone, "my internet is down since morning", first) == first
    conversation = rig.conversation_of(phone)
    rig.text_containing(phone, CONNECTING)
    rig.quiet()
    said = [m for m in rig.store.messages(conversation) if m.sender == "customer"]
    assert [m.client_message_id for m in said] == [first]
    bodies = rig.bodies_to(phone)
    assert bodies.count(CONNECTING) == 1
    assert len(bodies) == len(set(bodies)) == 2  # "Connecting you..." and the queue notice


# --- Sending: retries, failures, statuses -------------------------------------------------


def test_an_outage_is_retried_until_the_text_goes_out(rig):
    phone = "+15550100301"
    rig.quiet()  # so that the next sends are the ones this text causes
    rig.faults(503, 2)
    rig.text(phone, "I was charged twice")
    rig.text_containing(phone, CONNECTING)
    eventually(lambda: all(t["status"] == "delivered" for t in rig.texts_to(phone)))
    answered = rig.answered(phone)
    assert answered[:3] == [503, 503, 201]
    assert answered[3:] == [201] * (len(answered) - 3)  # the queue notice, at once
    assert len(rig.texts_to(phone)) == 2


def test_a_rate_limit_is_waited_out(rig):
    phone = "+15550100302"
    rig.quiet()
    rig.faults(429, 1, retry_after=1)
    rig.text(phone, "I was charged three times")
    rig.text_containing(phone, CONNECTING)
    assert rig.answered(phone)[:2] == [429, 201]


def test_a_refused_text_is_failed_with_twilios_code_and_later_texts_still_go(rig, anna):
    phone = "+15550100303"
    conversation = queued_texter(rig, phone, "the app will not let me log in")
    anna.claim(conversation)
    rig.quiet()
    rig.faults(400, 1)
    refused = anna.reply(conversation, "I have reset your password.")
    delivery = anna.delivered(conversation, refused, "failed")
    assert delivery["error_code"] == 20400  # the stand-in's code for a 400: 20000 + status
    assert delivery["error"]
    assert rig.answered(phone)[-1] == 400  # not retried: a 4xx other than 429 is permanent
    later = anna.reply(conversation, "Please try logging in again now.")
    assert anna.delivered(conversation, later)["error_code"] is None
    bodies = rig.bodies_to(phone)
    assert "Please try logging in again now." in bodies
    assert "I have reset your password." not in bodies
    assert anna.delivery(conversation, refused)["status"] == "failed"  # and stays failed


def test_a_late_sent_callback_does_not_undo_delivered(rig, anna):
    phone = "+15550108888"  # the stand-in reports "delivered" before "sent" for this number
    conversation = queued_texter(rig, phone, "my tariff changed without notice")
    anna.claim(conversation)
    message_id = anna.reply(conversation, "I have restored your old tariff.")
    anna.delivered(conversation, message_id)
    [text] = [t for t in rig.texts_to(phone) if t["body"] == "I have restored your old tariff."]
    rig.callbacks_in()  # the stand-in's late "sent" among them
    assert anna.delivery(conversation, message_id)["status"] == "delivered"
    # And a "sent" posted (signed) by hand for a text already delivered changes nothing.
    late = {"MessageSid": text["sid"], "SmsSid": text["sid"], "MessageStatus": "sent",
            "SmsStatus": "sent", "AccountSid": ACCOUNT_SID, "To": phone}  # fmt: skip
    answer = rig.post_signed("/webhooks/twilio/status", late)
    assert answer.status_code == 200 and answer.text.endswith("<Response/>")
    assert anna.delivery(conversation, message_id)["status"] == "delivered"
    assert {d.status for d in rig.sms.to_phone(phone)} == {"delivered"}


def test_an_undelivered_text_shows_the_carriers_error_to_the_agent(rig, anna):
    phone = "+15550109999"  # the stand-in ends texts to this number "undelivered", 30003
    conversation = queued_texter(rig, phone, "no signal at my address")
    anna.claim(conversation)
    message_id = anna.reply(conversation, "Is your phone switched on?")
    delivery = anna.delivered(conversation, message_id, "undelivered")
    assert delivery["error_code"] == 30003
    [stored] = [d for d in rig.sms.to_phone(phone) if d.message_id == message_id]
    assert (stored.status, stored.error_code) == ("undelivered", 30003)


# --- Carrier keywords --------------------------------------------------------------------


def test_stop_blocks_replies_until_start(rig, anna):
    phone = "+15550100601"
    conversation = queued_texter(rig, phone, "please cancel my subscription")
    anna.claim(conversation)
    stop_sid = rig.text(phone, "STOP")
    rig.text_containing(phone, "you have unsubscribed")
    rig.text(phone, "STOP", stop_sid)  # Twilio delivers the same STOP again
    assert anna.view(conversation)["customer"]["sms_opted_out"] is True
    rig.quiet()
    sent_before = len(rig.texts_to(phone))
    blocked = anna.reply(conversation, "Your subscription is cancelled.")
    delivery = anna.delivered(conversation, blocked, "blocked")
    assert "STOP" in delivery["error"]
    rig.quiet()
    assert len(rig.texts_to(phone)) == sent_before  # nothing went out, not even the confirmation
    assert sum("unsubscribed" in body for body in rig.bodies_to(phone)) == 1
    said = [m.text for m in rig.store.messages(conversation) if m.sender == "customer"]
    assert "STOP" not in said  # keywords are the channel's business, not the conversation's

    rig.text(phone, "START")
    rig.text_containing(phone, "subscribed to texts again")
    rig.text(phone, "STOP", stop_sid)  # that STOP delivered once more, late: already answered
    assert sum("unsubscribed" in body for body in rig.bodies_to(phone)) == 1
    assert anna.view(conversation)["customer"]["sms_opted_out"] is False
    rig.text(phone, "help")
    rig.text_containing(phone, "Reply STOP to unsubscribe")
    again = anna.reply(conversation, "Anything else I can help with?")
    anna.delivered(conversation, again)
    assert "Anything else I can help with?" in rig.bodies_to(phone)


def test_russian_keywords_are_answered_in_russian(rig):
    phone = "+79990000602"
    rig.text(phone, "СТОП")
    assert "вы отписались" in rig.text_containing(phone, "отписались")["body"]
    assert rig.sms.opted_out(phone)
    rig.text(phone, "СТАРТ")
    rig.text_containing(phone, "вы снова подписаны")
    assert not rig.sms.opted_out(phone)
    rig.text(phone, "ПОМОЩЬ")
    rig.text_containing(phone, "поддержка по SMS")
    rig.quiet()
    assert len(rig.texts_to(phone)) == 3
    assert rig.store.customer_by_phone(phone) is None  # keywords alone start no conversation


def test_yes_from_a_number_that_did_not_opt_out_is_a_message(rig):
    phone = "+15550100603"
    yes = rig.text(phone, "yes")
    conversation = rig.conversation_of(phone)
    said = [m for m in rig.store.messages(conversation) if m.sender == "customer"]
    assert [(m.text, m.client_message_id) for m in said] == [("yes", yes)]
    rig.text_containing(phone, CONNECTING)
    rig.quiet()
    assert not any("subscribed" in body for body in rig.bodies_to(phone))


# --- Cyrillic: segments and long replies ---------------------------------------------------


def test_a_russian_reply_is_counted_in_ucs2_segments(rig, anna):
    phone = "+79990000701"
    rig.text(phone, "Здравствуйте, у меня дома не работает интернет")
    conversation = rig.conversation_of(phone)
    rig.text_containing(phone, "Соединяю")  # the desk answers a Russian texter in Russian
    anna.claim(conversation)
    body = ("Мастер приедет завтра с десяти до двух часов, пожалуйста, будьте дома. " * 5)[:300]
    assert len(body) == 300 and plain(body) == body
    expected = segments(body)
    assert expected == 5  # UCS-2: 67 characters a part, 4 parts hold 268, 5 hold 335
    message_id = anna.reply(conversation, body)
    delivery = anna.delivered(conversation, message_id)
    [text] = [t for t in rig.texts_to(phone) if t["body"] == body]
    assert delivery["segments"] == expected == int(text["num_segments"])
    assert delivery["parts"] == 1


def test_a_reply_over_1600_characters_goes_as_several_texts_in_order(rig, anna):
    phone = "+79990000702"
    conversation = queued_texter(rig, phone, "Please write down the whole procedure for me")
    anna.claim(conversation)
    body = ("Мы проверили линию ещё раз, и теперь всё работает. " * 80)[:3500].rstrip()
    parts = split(plain(body))
    assert len(parts) == 3
    message_id = anna.reply(conversation, body)
    delivery = anna.delivered(conversation, message_id)
    assert delivery["parts"] == 3
    assert delivery["segments"] == sum(segments(part) for part in parts)
    texts = [t for t in rig.texts_to(phone) if t["body"] in parts]
    assert [t["body"] for t in texts] == parts  # each part once, in order
    assert all(len(t["body"]) <= 1600 for t in texts)


def test_a_long_reply_stays_in_order_when_its_first_part_must_be_sent_again(rig, anna):
    phone = "+79990000703"
    conversation = queued_texter(rig, phone, "Please send me the full instructions")
    anna.claim(conversation)
    rig.quiet()
    rig.faults(503, 4)  # the client's four tries of the first part all fail: tried again later
    body = ("Сначала выключите роутер, подождите минуту и включите снова. " * 60)[:3500].rstrip()
    parts = split(plain(body))
    message_id = anna.reply(conversation, body)
    assert anna.delivered(conversation, message_id, timeout=30)["parts"] == 3
    assert [t["body"] for t in rig.texts_to(phone) if t["body"] in parts] == parts
    assert rig.answered(phone)[-7:] == [503, 503, 503, 503, 201, 201, 201]


# --- A phone number is a customer ----------------------------------------------------------


def test_a_returning_texter_is_the_same_customer(rig, anna):
    phone = "+15550100801"
    first = queued_texter(rig, phone, "my modem blinks red")
    anna.claim(first)
    resolved = anna.post(f"/api/agent/conversations/{first}/resolve", {"code": "solved"})
    assert resolved.status_code == 200
    time.sleep(1.5)  # past the 1.2 s reopen window of this server
    rig.text(phone, "now the modem blinks orange")
    second = eventually(lambda: (c := rig.conversation_of(phone)) != first and c)
    view = anna.view(second)
    assert view["customer"]["phone"] == phone
    assert [c["id"] for c in view["customer"]["earlier"]] == [first]
    assert view["customer"]["earlier"][0]["first_message"] == "my modem blinks red"
    assert view["customer"]["earlier"][0]["resolution_code"] == "solved"


# --- A web chat continued by SMS -----------------------------------------------------------

CODE = re.compile(r"\b(\d{6})\b")


def code_texted(rig: Rig, phone: str) -> str:
    """The six digits texted to ``phone``, once they have arrived."""
    texts = eventually(lambda: [t for t in rig.texts_to(phone) if CODE.search(t["body"])])
    return CODE.search(texts[0]["body"])[1]


def ask_for_code(customer: Customer, phone: str) -> httpx.Response:
    return customer.http.post(
        f"/api/conversations/{customer.id}/sms", json={"phone": phone}, headers=customer.headers
    )


def verify(customer: Customer, code: str) -> httpx.Response:
    return customer.http.post(
        f"/api/conversations/{customer.id}/sms/verify", json={"code": code},
        headers=customer.headers,
    )  # fmt: skip


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_a_web_chat_continues_by_sms_in_the_same_conversation(rig, anna):
    phone = "+79995550123"
    customer = Customer(rig.url)
    assert customer.say("my order never arrived")["conversation"]["state"] == "queued"
    asked = ask_for_code(customer, "+7 999 555-01-23")
    assert asked.status_code == 202, asked.text
    assert asked.json()["phone"] == "+7 999 ***-**-23"
    code = code_texted(rig, phone)

    refused = verify(customer, wrong(code))
    assert refused.status_code == 422 and refused.json()["attempts_left"] == 4
    again = ask_for_code(customer, phone)
    assert again.status_code == 429 and int(again.headers["Retry-After"]) >= 1
    linked = verify(customer, code)
    assert linked.status_code == 200 and linked.json()["phone"] == "+7 999 ***-**-23"

    anna.claim(customer.id)
    reply = anna.reply(customer.id, "Your parcel is waiting at the depot.")
    assert anna.delivered(customer.id, reply)["parts"] == 1
    assert "Your parcel is waiting at the depot." in rig.bodies_to(phone)
    history = customer.history()
    [in_chat] = [m for m in history if m["id"] == reply]
    assert in_chat["channel"] == "sms"  # sent by SMS, and still in the chat's history

    rig.text(phone, "thanks, I will pick it up tomorrow")
    texted = eventually(
        lambda: [m for m in customer.history() if m["text"] == "thanks, I will pick it up tomorrow"]
    )
    assert texted[0]["channel"] == "sms" and texted[0]["sender"] == "customer"
    assert rig.conversation_of(phone) == customer.id
    view = anna.view(customer.id)
    assert {"web", "sms"} <= {m["channel"] for m in view["messages"]}
    assert view["customer"]["phone"] == phone


def test_five_wrong_codes_use_the_code_up(rig):
    phone = "+79995550124"
    customer = Customer(rig.url)
    assert ask_for_code(customer, phone).status_code == 202
    code = code_texted(rig, phone)
    for left in (4, 3, 2, 1):
        refused = verify(customer, wrong(code))
        assert refused.status_code == 422 and refused.json()["attempts_left"] == left
    assert verify(customer, wrong(code)).status_code == 410
    assert verify(customer, code).status_code == 410  # the right code no longer helps


def test_a_code_needs_a_number_and_the_customers_token(rig):
    customer = Customer(rig.url)
    bad = ask_for_code(customer, "123")
    assert bad.status_code == 422
    anonymous = httpx.post(
        f"{rig.url}/api/conversations/{customer.id}/sms", json={"phone": "+79995550125"}
    )
    assert anonymous.status_code == 401
    assert rig.texts_to("+79995550125") == []


# --- A second server: an agent online, no auto-assignment, codes valid for a second -------


@pytest.fixture(scope="module")
def desk(tmp_path_factory) -> Iterator[Rig]:
    yield from _start(
        tmp_path_factory.mktemp("sms-desk"), {"olga": 1, "pete": 5},
        HELPDESK_AUTO_ASSIGN="false", HELPDESK_SMS_CODE_TTL_S="1",
        HELPDESK_SMS_SEND_ATTEMPTS="1",
    )  # fmt: skip


def test_an_expired_code_is_gone(desk):
    phone = "+79995550126"
    customer = Customer(desk.url)  # not queued: this server's queue is for the next test
    assert ask_for_code(customer, phone).json()["expires_in_s"] == 1
    code = code_texted(desk, phone)
    time.sleep(1.2)  # past the 1 s this server's codes are valid for
    assert verify(customer, code).status_code == 410


def queue_notices(rig: Rig, phone: str) -> list[str]:
    return [body for body in rig.bodies_to(phone) if "in the queue" in body]


def test_a_texter_hears_of_their_place_only_when_it_is_news(desk):
    olga = Console(desk.url, "olga")
    assert olga.put("/api/agent/presence", {"presence": "online"}).status_code == 200
    phones = ["+15550101001", "+15550101002", "+15550101003"]
    for number, phone in enumerate(phones, start=1):
        desk.text(phone, f"my order number {number} is missing")
        desk.text_containing(phone, f"You are number {number} in the queue")
    desk.quiet()
    # Someone joining behind them changes nothing the others would act on: no new text.
    assert [len(queue_notices(desk, phone)) for phone in phones] == [1, 1, 1]

    olga.claim(desk.conversation_of(phones[0]))
    desk.text_containing(phones[0], "Olga has joined the conversation.")
    desk.text_containing(phones[1], "You are number 1 in the queue")  # next: worth a text
    desk.quiet()
    # Olga (capacity 1) is busy now, so the estimate behind her is what it was: the third
    # texter moving up to second is not worth a text (``escalation.queue.worth_texting``).
    assert [len(queue_notices(desk, phone)) for phone in phones] == [1, 2, 1]


def test_a_text_is_tried_as_many_times_as_configured_and_no_more(desk):
    phone = "+79995550127"
    customer = Customer(desk.url)  # not queued
    desk.quiet()
    desk.faults(503, 4)  # one try by the worker: the client's four requests, all failing
    assert ask_for_code(customer, phone).status_code == 202
    [text] = eventually(lambda: [d for d in desk.sms.to_phone(phone) if d.status != "pending"])
    assert (text.status, text.error_code, text.attempts) == ("failed", 20503, 1)
    assert desk.answered(phone) == [503, 503, 503, 503]


def test_a_resolved_texter_is_asked_to_rate_it_one_question_at_a_time(desk):
    pete, phone = Console(desk.url, "pete"), "+15550100931"
    conversation = queued_texter(desk, phone, "my router keeps rebooting")
    pete.claim(conversation)
    resolved = pete.post(f"/api/agent/conversations/{conversation}/resolve", {"code": "solved"})
    assert resolved.status_code == 200
    desk.text_containing(phone, "How satisfied are you")
    desk.text(phone, "5")
    desk.text_containing(phone, "How easy was it")
    desk.text(phone, "4!")
    desk.text_containing(phone, "Thank you for your rating")
    assert desk.store.feedback(conversation) == {"csat": 5, "ces": 4, "comment": None}
    assert desk.store.get(conversation).state == State.RESOLVED  # a rating does not reopen it
    desk.text(phone, "5")  # not asked any more: an ordinary message, which reopens it
    eventually(lambda: desk.store.get(conversation).state == State.ASSIGNED or None)
    assert desk.store.feedback(conversation)["csat"] == 5  # asked once, answered once
