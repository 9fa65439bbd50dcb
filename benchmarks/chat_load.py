"""Simulated customers and an agent on the live chat API, and the check of what the server kept:
the machinery of ``benchmarks.load`` and ``tests/test_load_faults.py``.

A customer behaves as the chat widget does: one message at a time, each waiting for the
acknowledgement (a 2xx) of the one before; on a transport error, a 5xx or a 429 it sends the same
message again with the same ``client_message_id`` after a back-off (a repeat returns the stored
message), so every acknowledged message must be stored exactly once, in the order sent. The
texts are what customers of the demo shop write: the demo knowledge base's questions and their
phrasings, small talk, a quick reply pressed now and then, and in about one chat in four a
person asked for (the conversation waits for the agent, the customer nudges). The agent takes
waiting conversations, answers, and resolves them, as a person at the console would.
"""

import asyncio
import contextlib
import itertools
import json
import random
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path

import httpx

DEMO_KB = Path(__file__).parents[1] / "knowledge" / "demo"
RETRIED = {429, 500, 502, 503, 504}  # what the widget sends again; any other 4xx is a bug here
BACKOFF = (0.1, 2.0)  # s: first wait before a retry (with jitter), and the longest
GIVE_UP = 180.0  # s: a customer stops retrying one message after this (counted as given up)
LOCALES = ("en", "en", "ru")  # the demo shop's customers: two in three write in English
SMALL_TALK = {
    "en": {
        "open": ["hi", "hello", "good morning", "hi there"],
        "nudge": ["hello?", "are you there?", "any news?", "still waiting"],
        "close": ["thanks", "thank you, bye", "ok", "great, thanks a lot"],
    },
    "ru": {
        "open": ["привет", "здравствуйте", "добрый день"],
        "nudge": ["алло?", "вы тут?", "есть новости?", "жду ответа"],
        "close": ["спасибо", "спасибо, до свидания", "понятно", "хорошо, спасибо"],
    },
}
ASK_PERSON = {
    "en": ["talk to human", "i want a real person", "connect me to an agent",
           "can i talk to a human please"],
    "ru": ["позовите оператора", "хочу поговорить с человеком", "соедините с живым человеком"],
}  # fmt: skip


def kb_questions() -> dict[str, list[str]]:
    """Every question and phrasing of the demo knowledge base, by language."""
    texts: dict[str, list[str]] = {"en": [], "ru": []}
    for path in sorted(DEMO_KB.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                article = json.loads(line)
                texts[article["lang"]] += [article["question"], *article["phrasings"]]
    return texts


def chat_script(rng: random.Random, locale: str, questions: dict[str, list[str]]) -> list[str]:
    """One chat: a greeting half the time, one to three questions, in one chat in four a person
    asked for and a nudge or two while waiting, and thanks at the end."""
    words = SMALL_TALK[locale]
    script = [rng.choice(words["open"])] if rng.random() < 0.5 else []
    script += rng.sample(questions[locale], rng.randint(1, 3))
    if rng.random() < 0.25:
        script += [rng.choice(ASK_PERSON[locale]), *rng.sample(words["nudge"], rng.randint(0, 2))]
    return [*script, rng.choice(words["close"])]


@dataclass
class Sent:
    client_message_id: str
    acknowledged: bool = False


@dataclass
class Chat:
    """A conversation as its customer knows it: the token, and what was sent in order."""

    id: str
    token: str
    sent: list[Sent] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Tally:
    """What the customers saw, as it happened (times from ``time.monotonic``)."""

    latencies: list[float] = field(default_factory=list)  # s per acknowledged message, retries in
    acknowledged_at: list[float] = field(default_factory=list)
    failures: list[tuple[float, str]] = field(default_factory=list)  # each failed attempt
    answers: list[tuple[float, list[tuple[str, str]]]] = field(default_factory=list)  # replies
    refused: list[str] = field(default_factory=list)  # 4xx other than 429: not retried
    unanswered: list[float] = field(default_factory=list)  # acknowledged, bot's turn, no reply
    given_up: int = 0
    chats: list[Chat] = field(default_factory=list)

    @property
    def replies(self) -> Counter[str]:
        """Replies that came with the acknowledgements, by sender."""
        return Counter(sender for _, replies in self.answers for sender, _ in replies)


class Budget:
    """The messages to send, shared by the customers. ``faults``: for each fault, how many
    messages are sent when it is injected, and an event set once the part is back; the customers
    wait half way to the next fault until then, so that every fault has load through it."""

    def __init__(self, messages: int, faults: list[tuple[int, asyncio.Event]] | None = None):
        self.messages, self.taken = messages, 0
        self.faults = faults or []
        half_step = messages / (len(self.faults) + 1) / 2
        self._holds = [(at + half_step, back) for at, back in self.faults]

    @property
    def left(self) -> int:
        return self.messages - self.taken

    async def take(self) -> bool:
        for limit, back in self._holds:
            if self.taken >= limit:
                await back.wait()
        if self.taken >= self.messages:
            return False
        self.taken += 1
        return True


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return min(float(response.headers["Retry-After"]), 5.0)
    except (KeyError, ValueError):
        return None


async def until_acknowledged(
    http: httpx.AsyncClient, tally: Tally, method: str, url: str, **request
) -> httpx.Response | None:
    """Send until a 2xx, waiting longer between tries (or as long as Retry-After says); None
    when refused for good (counted) or given up after ``GIVE_UP`` seconds."""
    started, delay = time.monotonic(), BACKOFF[0]
    while True:
        wait = None
        try:
            response = await http.request(method, url, **request)
        except httpx.TransportError as error:
            kind = type(error).__name__
        else:
            if response.is_success:
                return response
            kind = f"HTTP {response.status_code}"
            if response.status_code not in RETRIED:
                tally.refused.append(f"{kind} {method} {url}: {response.text[:200]}")
                return None
            wait = _retry_after(response)
        tally.failures.append((time.monotonic(), kind))
        if time.monotonic() - started > GIVE_UP:
            tally.given_up += 1
            return None
        await asyncio.sleep(wait if wait is not None else delay * (0.5 + random.random()))
        delay = min(delay * 2, BACKOFF[1])


async def start_chat(http: httpx.AsyncClient, tally: Tally, locale: str) -> Chat | None:
    """A new conversation. Retried like a message: a repeat may leave an unused conversation
    behind, which is harmless (nothing in it)."""
    body = {"channel": "web", "locale": locale}
    response = await until_acknowledged(http, tally, "POST", "/api/conversations", json=body)
    if response is None:
        return None
    created = response.json()
    chat = Chat(created["conversation_id"], created["customer_token"])
    tally.chats.append(chat)
    return chat


async def say(
    http: httpx.AsyncClient, tally: Tally, chat: Chat, text: str, payload: str | None = None
) -> tuple[Chat, dict | None]:
    """Send one message; the chat it is in now (a new one if the old was over) and the answer,
    None if it was not acknowledged."""
    sent = Sent(str(uuid.uuid4()))
    chat.sent.append(sent)
    body = {"text": text, "client_message_id": sent.client_message_id}
    if payload:
        body["payload"] = payload
    url = f"/api/conversations/{chat.id}/messages"
    started = time.monotonic()
    response = await until_acknowledged(http, tally, "POST", url, json=body, headers=chat.headers)
    if response is None:
        return chat, None
    sent.acknowledged = True
    tally.acknowledged_at.append(time.monotonic())
    tally.latencies.append(tally.acknowledged_at[-1] - started)
    answer = response.json()
    replies = [(message["sender"], message["text"]) for message in answer["messages"]]
    tally.answers.append((tally.acknowledged_at[-1], replies))
    if not replies and answer["conversation"]["state"] == "bot":  # the bot always says something
        tally.unanswered.append(tally.acknowledged_at[-1])
    if moved := answer.get("continued_in"):  # stored in a new conversation: the widget follows
        chat.sent.pop()
        chat = Chat(moved["conversation_id"], moved["customer_token"], [sent])
        tally.chats.append(chat)
    return chat, answer


def quick_replies(answer: dict | None) -> list[dict]:
    messages = answer["messages"] if answer else []
    return [button for message in messages for button in message.get("quick_replies", [])]


async def customer(
    http: httpx.AsyncClient, tally: Tally, budget: Budget, rng: random.Random, on_ack=None
) -> None:
    """Chats one after another until the shared budget of messages is spent, or a message is
    not acknowledged for ``GIVE_UP`` seconds. A quick reply in an answer is pressed half the
    time before the next scripted text."""
    questions = kb_questions()
    while budget.left > 0:
        locale = rng.choice(LOCALES)
        chat = await start_chat(http, tally, locale)
        if chat is None:
            return
        script: deque[tuple[str, str | None]] = deque(
            (text, None) for text in chat_script(rng, locale, questions)
        )
        while script and await budget.take():
            chat, answer = await say(http, tally, chat, *script.popleft())
            if answer is None:  # not acknowledged for minutes: the customer leaves
                return
            if on_ack:
                on_ack()
            buttons = quick_replies(answer)
            if buttons and rng.random() < 0.5:
                pressed = rng.choice(buttons)
                script.appendleft((pressed["title"], pressed["payload"]))


class Agent:
    """A person at the console, online with room for ``capacity`` conversations: takes waiting
    ones (given by auto-assignment, or claimed), answers each new customer message once, and
    resolves a conversation ``RESOLVE_AFTER`` seconds after answering if the customer said
    nothing more; a customer writing again reopens it to the same agent. Errors (while the API
    restarts) are counted and the round is tried again a second later."""

    RESOLVE_AFTER = 3.0

    def __init__(self, url: str, username: str, password: str, capacity: int):
        self.http = httpx.AsyncClient(base_url=url, timeout=30)
        self.login = {"username": username, "password": password}
        self.capacity = capacity
        self.answered: dict[str, tuple[str | None, float]] = {}  # id -> (last seen, when)
        self.outcomes: Counter[str] = Counter()  # "reply 201", "claim 409", "error ReadError"...

    async def _post(self, path: str, body: dict | None = None) -> None:
        headers = {"X-CSRF-Token": self.http.cookies.get("helpdesk_csrf", "")}
        response = await self.http.post(path, json=body or {}, headers=headers)
        self.outcomes[f"{path.rsplit('/', 1)[1]} {response.status_code}"] += 1

    async def sign_in(self) -> None:
        response = await self.http.post("/api/auth/login", json=self.login)
        response.raise_for_status()
        headers = {"X-CSRF-Token": self.http.cookies["helpdesk_csrf"]}
        await self.http.put("/api/agent/presence", json={"presence": "online"}, headers=headers)

    async def work(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self._round()
            except (httpx.HTTPError, ValueError, KeyError) as error:
                self.outcomes[f"error {type(error).__name__}"] += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
        await self.http.aclose()

    async def _round(self) -> None:
        response = await self.http.get("/api/agent/queue")
        response.raise_for_status()
        queue = response.json()
        for item in queue["mine"]:
            path = f"/api/agent/conversations/{item['id']}"
            seen, when = self.answered.get(item["id"], (None, 0.0))
            if item["last_message_at"] != seen:
                text = "Hi, this is the support team; let me look into it for you."
                await self._post(f"{path}/messages", {"text": text})
                self.answered[item["id"]] = (item["last_message_at"], time.monotonic())
            elif time.monotonic() - when > self.RESOLVE_AFTER:
                await self._post(f"{path}/resolve", {"code": "solved"})
        for item in queue["queued"][: max(0, self.capacity - len(queue["mine"]))]:
            await self._post(f"/api/agent/conversations/{item['id']}/claim")


@dataclass
class Verdict:
    """What the server kept, against what the customers were told was received."""

    acknowledged: int = 0
    lost: int = 0  # acknowledged, not stored
    duplicated: int = 0  # stored more than once
    out_of_order: int = 0  # stored before a message sent earlier in the same chat
    unknown: int = 0  # customer messages stored that no customer sent
    unacknowledged_stored: int = 0  # given up by the customer, yet stored (allowed)
    stored: Counter[str] = field(default_factory=Counter)  # every stored message, by sender

    def check(self, chat: Chat, messages: list[dict]) -> None:
        ids = [m.get("client_message_id") for m in messages if m["sender"] == "customer"]
        self.stored.update(m["sender"] for m in messages)
        counts = Counter(ids)
        sent = {s.client_message_id for s in chat.sent}
        acknowledged = [s.client_message_id for s in chat.sent if s.acknowledged]
        self.acknowledged += len(acknowledged)
        self.lost += sum(counts[i] == 0 for i in acknowledged)
        self.duplicated += sum(n - 1 for n in counts.values() if n > 1)
        self.unknown += sum(i not in sent for i in ids)
        self.unacknowledged_stored += sum(
            counts[s.client_message_id] > 0 for s in chat.sent if not s.acknowledged
        )
        place = {i: ids.index(i) for i in acknowledged if counts[i]}
        order = [place[i] for i in acknowledged if i in place]
        self.out_of_order += sum(later < earlier for earlier, later in itertools.pairwise(order))

    @property
    def sound(self) -> bool:
        return not (self.lost or self.duplicated or self.out_of_order or self.unknown)


async def verify(url: str, chats: list[Chat]) -> Verdict:
    """Every chat's history read back from the server (retried like the widget would)."""
    verdict, tally = Verdict(), Tally()
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        for chat in chats:
            path = f"/api/conversations/{chat.id}/messages"
            response = await until_acknowledged(http, tally, "GET", path, headers=chat.headers)
            if response is None:
                raise RuntimeError(f"could not read {path}: {tally.refused}")
            verdict.check(chat, response.json()["messages"])
    return verdict
