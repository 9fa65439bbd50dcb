"""Rate limits on a real API process, with budgets of a few requests per few seconds: each kind
is refused once its budget is spent (429, Retry-After, a sentence saying why) and admits
requests again once the window has moved on.

The server believes X-Forwarded-For from 127.0.0.1 (``trusted_proxies``), so each test acts
as clients of its own addresses (TEST-NET 203.0.113.0/24); uvicorn's own proxy-header handling
is off, as under ``helpdesk serve``. Two more processes, sharing Redis, show that API workers
spend one budget and that an untrusted peer's X-Forwarded-For is ignored."""

import os
import re
import time
import uuid

import httpx
import limits
import pytest
import redis
from playwright.sync_api import expect, sync_playwright
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from escalation import SqlAgents
from tests.databases import database_env, open_database_at
from tests.servers import free_port, start_api, stop

PASSWORD = "rate-limit-password"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update"]  # fmt: skip
BUDGETS = {
    "HELPDESK_RATE_LIMIT_CONVERSATIONS": "3/2seconds;5/minute",
    "HELPDESK_RATE_LIMIT_MESSAGES": "2/2seconds",
    "HELPDESK_RATE_LIMIT_MESSAGES_IP": "4/2seconds",
    "HELPDESK_RATE_LIMIT_READS": "3/2seconds",
    "HELPDESK_RATE_LIMIT_STREAMS": "2/2seconds",
    "HELPDESK_RATE_LIMIT_KB": "3/2seconds",
    "HELPDESK_RATE_LIMIT_FEEDBACK": "2/2seconds",
    # a password check takes a good part of a second on a busy test machine
    "HELPDESK_RATE_LIMIT_LOGIN": "4/6seconds",
    "HELPDESK_RATE_LIMIT_LOGIN_FAILURES": "2/6seconds",
    "HELPDESK_RATE_LIMIT_WEBHOOKS": "3/2seconds",
}
REDIS_URL = "redis://127.0.0.1:6379/0"


def api_env(db, **settings: str) -> dict:
    return (
        os.environ
        | BUDGETS
        | {
            **database_env(db),
            "HELPDESK_COOKIE_SECURE": "false",
            "HELPDESK_RASA_PORT": str(free_port()),  # no bot: customers' messages go to the queue
            **settings,
        }
    )


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rate-limits")
    agents = SqlAgents(open_database_at(folder / "helpdesk.db"))
    for name in ("anna", "bob"):
        agents.add(name, PASSWORD)
    env = api_env(
        folder / "helpdesk.db",
        HELPDESK_TRUSTED_PROXIES='["127.0.0.1"]',
        # SMS configured, so that the webhooks check signatures; nothing is ever sent
        HELPDESK_TWILIO_ACCOUNT_SID="AC" + "0" * 32,
        HELPDESK_TWILIO_AUTH_TOKEN="twilio-token",
        HELPDESK_TWILIO_FROM_NUMBER="+15005550006",
        HELPDESK_TWILIO_API_BASE=f"http://127.0.0.1:{free_port()}",
    )
    port = free_port()
    process = start_api(port, env, folder / "api.log", "--no-proxy-headers")
    yield f"http://127.0.0.1:{port}"
    stop(process)


def client(url: str, address: str) -> httpx.Client:
    """A client at ``address``, as the trusted proxy in front of the API names it."""
    return httpx.Client(base_url=url, timeout=20, headers={"X-Forwarded-For": address})


def refused(response: httpx.Response, budget: str) -> int:
    """Assert a 429 that says which budget was spent; its Retry-After in seconds."""
    assert response.status_code == 429, response.text
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= limits.parse(budget).get_expiry()
    assert response.json() == {
        "detail": f"too many requests: at most {budget}; try again in {retry_after} s",
        "retry_after": retry_after,
    }
    return retry_after


def after(retry_after: int) -> None:
    time.sleep(retry_after + 0.1)


def conversation(http: httpx.Client) -> dict[str, str]:
    created = http.post("/api/conversations", json={"locale": "en"})
    assert created.status_code == 201, created.text
    body = created.json()
    return {"id": body["conversation_id"], "Authorization": f"Bearer {body['customer_token']}"}


def say(http: httpx.Client, chat: dict[str, str], text: str = "hello") -> httpx.Response:
    headers = {"Authorization": chat["Authorization"]}
    return http.post(
        f"/api/conversations/{chat['id']}/messages", json={"text": text}, headers=headers
    )


def test_new_conversations_per_address(url):
    first, second = client(url, "203.0.113.1"), client(url, "203.0.113.2")
    for _ in range(3):
        conversation(first)
    retry_after = refused(first.post("/api/conversations", json={}), "3 per 2 second")
    conversation(second)  # another address has a budget of its own
    after(retry_after)
    conversation(first)
    conversation(first)  # the fifth: the refused request was not counted
    refused(first.post("/api/conversations", json={}), "5 per 1 minute")


def test_customer_messages_per_conversation_counted_only_with_its_token(url):
    http = client(url, "203.0.113.10")
    chat, other = conversation(http), conversation(http)
    stranger = client(url, "203.0.113.11")
    forged = {**chat, "Authorization": "Bearer not-the-token"}
    assert [say(stranger, forged).status_code for _ in range(2)] == [403, 403]
    assert [say(http, chat).status_code for _ in range(2)] == [200, 200]
    retry_after = refused(say(http, chat), "2 per 2 second")
    assert say(http, other).status_code == 200  # each conversation has its own budget
    after(retry_after)
    assert say(http, chat).status_code == 200


def test_customer_messages_per_address(url):
    maker = client(url, "203.0.113.20")
    chats = [conversation(maker) for _ in range(3)]
    http = client(url, "203.0.113.21")
    assert [say(http, chat).status_code for chat in chats[:2] for _ in range(2)] == [200] * 4
    retry_after = refused(say(http, chats[2]), "4 per 2 second")
    assert say(client(url, "203.0.113.22"), chats[2]).status_code == 200
    after(retry_after)
    assert say(http, chats[2]).status_code == 200


def test_reads_of_conversations_and_messages_share_a_budget_per_address(url):
    http = client(url, "203.0.113.25")
    chat = conversation(http)
    headers = {"Authorization": chat["Authorization"]}
    assert http.get(f"/api/conversations/{chat['id']}", headers=headers).status_code == 200
    assert http.get(f"/api/conversations/{chat['id']}/messages", headers=headers).is_success
    assert http.get("/api/conversations/no-such-id/messages", headers=headers).status_code == 403
    retry_after = refused(http.get(f"/api/conversations/{chat['id']}", headers=headers),
                          "3 per 2 second")  # fmt: skip
    other = client(url, "203.0.113.26")
    assert other.get(f"/api/conversations/{chat['id']}", headers=headers).status_code == 200
    after(retry_after)
    assert http.get(f"/api/conversations/{chat['id']}/messages", headers=headers).is_success


def refused_handshake(stream: str, address: str, budget: str) -> int:
    """Assert the WebSocket handshake is answered as ``refused`` expects; its Retry-After."""
    with pytest.raises(InvalidStatus) as denial:
        connect(stream, additional_headers={"X-Forwarded-For": address})
    answer = denial.value.response
    return refused(httpx.Response(answer.status_code, headers=list(answer.headers.raw_items()),
                                  content=bytes(answer.body)), budget)  # fmt: skip


def test_chat_connections_per_address_counted_before_the_token_check(url):
    chat = conversation(client(url, "203.0.113.27"))
    stream = f"{url.replace('http://', 'ws://')}/api/conversations/{chat['id']}/stream"
    opened = f"{stream}?token={chat['Authorization'].removeprefix('Bearer ')}"
    address = {"X-Forwarded-For": "203.0.113.28"}
    with pytest.raises(InvalidStatus) as wrong:
        connect(f"{stream}?token=not-the-token", additional_headers=address)
    assert wrong.value.response.status_code == 403
    with connect(opened, additional_headers=address) as live:
        live.send('{"type": "typing", "typing": true}')  # an open one costs nothing more
        retry_after = refused_handshake(opened, "203.0.113.28", "2 per 2 second")
        with connect(opened, additional_headers={"X-Forwarded-For": "203.0.113.29"}):
            pass  # another address has a budget of its own
        after(retry_after)
        with connect(opened, additional_headers=address):
            pass


def test_knowledge_base_searches_and_articles_share_a_budget_per_address(url):
    http = client(url, "203.0.113.30")
    assert http.get("/api/kb/search", params={"q": "repair"}).status_code == 200
    assert http.get("/api/kb/articles/no-such-article").status_code == 404
    assert http.get("/api/kb/search", params={"q": "delivery"}).status_code == 200
    retry_after = refused(http.get("/api/kb/search", params={"q": "refund"}), "3 per 2 second")
    after(retry_after)
    assert http.get("/api/kb/search", params={"q": "refund"}).status_code == 200


def test_feedback_per_address(url):
    http = client(url, "203.0.113.40")
    chat = conversation(http)
    path, headers = (
        f"/api/conversations/{chat['id']}/feedback",
        {"Authorization": chat["Authorization"]},
    )
    # not resolved yet: refused by the service (409), but counted all the same
    assert [http.post(path, json={"csat": 5}, headers=headers).status_code for _ in range(2)] == [
        409,
        409,
    ]
    retry_after = refused(http.post(path, json={"csat": 5}, headers=headers), "2 per 2 second")
    after(retry_after)
    assert http.post(path, json={"csat": 5}, headers=headers).status_code == 409


def test_sign_in_attempts_per_address(url):
    http = client(url, "203.0.113.50")
    names = ["nobody-1", "nobody-2", "nobody-3", "nobody-4", "anna"]
    answers = [http.post("/api/auth/login", json={"username": n, "password": "x"}) for n in names]
    assert [a.status_code for a in answers[:4]] == [401] * 4
    retry_after = refused(answers[4], "4 per 6 second")
    after(retry_after)
    right = http.post("/api/auth/login", json={"username": "anna", "password": PASSWORD})
    assert right.status_code == 200


def test_wrong_passwords_per_username_from_any_address(url):
    def sign_in(address: str, password: str, username: str = "bob") -> httpx.Response:
        body = {"username": username, "password": password}
        return client(url, address).post("/api/auth/login", json=body)

    assert sign_in("203.0.113.60", "guess-1").status_code == 401
    assert sign_in("203.0.113.61", "guess-2", "BOB").status_code == 401  # the same name
    retry_after = refused(sign_in("203.0.113.62", PASSWORD), "2 per 6 second")  # even right
    after(retry_after)
    assert [sign_in(f"203.0.113.{63 + i}", PASSWORD).status_code for i in range(3)] == [200] * 3


def test_twilio_webhooks_per_address_before_the_signature_check(url):
    http = client(url, "203.0.113.70")
    form = {"MessageSid": "SM" + "0" * 32, "From": "+79991234567", "Body": "hi"}
    answers = [http.post("/webhooks/twilio/sms", data=form) for _ in range(3)]
    assert [a.status_code for a in answers] == [403] * 3  # unsigned
    retry_after = refused(http.post("/webhooks/twilio/status", data=form), "3 per 2 second")
    after(retry_after)
    assert http.post("/webhooks/twilio/sms", data=form).status_code == 403


def test_a_refusal_crosses_origins_with_its_retry_after(url):
    """The widget runs on other sites: it must be able to read the 429 and its Retry-After."""
    http = client(url, "203.0.113.80")
    origin = {"Origin": "https://shop.example"}
    for _ in range(3):
        http.get("/api/kb/search", params={"q": "x"}, headers=origin)
    answer = http.get("/api/kb/search", params={"q": "x"}, headers=origin)
    assert answer.status_code == 429
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "retry-after" in answer.headers["access-control-expose-headers"].lower()


@pytest.fixture(scope="module")
def workers(tmp_path_factory):
    """Two API processes sharing one database and one Redis, as `api_workers` runs them, under
    a key prefix of their own, removed afterwards. Neither trusts any proxy."""
    folder = tmp_path_factory.mktemp("rate-limits-redis")
    prefix = f"ratetest{uuid.uuid4().hex}"
    env = api_env(
        folder / "helpdesk.db", HELPDESK_REDIS_URL=REDIS_URL, HELPDESK_REDIS_PREFIX=prefix
    ) | {"HELPDESK_RATE_LIMIT_KB": "4/minute"}
    processes = []
    try:
        for i in range(2):
            port = free_port()
            log = folder / f"api-{i}.log"
            processes.append((port, start_api(port, env, log, "--no-proxy-headers")))
        yield {"urls": [f"http://127.0.0.1:{port}" for port, _ in processes], "prefix": prefix}
    finally:
        for _, process in processes:
            stop(process)
        store = redis.Redis.from_url(REDIS_URL)
        for key in store.scan_iter(f"*{prefix}*"):
            store.delete(key)


def search(url: str, **headers: str) -> int:
    answer = httpx.get(f"{url}/api/kb/search", params={"q": "repair"}, headers=headers, timeout=20)
    return answer.status_code


def test_api_workers_sharing_redis_spend_one_budget(workers):
    one, two = workers["urls"]
    assert [search(url) for url in (one, two, one, two)] == [200] * 4
    assert [search(one), search(two)] == [429, 429]
    counts = redis.Redis.from_url(REDIS_URL).keys(f"*{workers['prefix']}:rate/kb/*")
    assert counts, "the counts are kept in Redis"


def test_an_untrusted_peer_cannot_name_itself_another_client(workers):
    """Without trusted_proxies, X-Forwarded-For is the client's own claim: fresh addresses in it
    buy no fresh budgets, so five searches cannot all pass a budget of four."""
    forged = [
        search(workers["urls"][0], **{"X-Forwarded-For": f"198.51.100.{i}"}) for i in range(5)
    ]
    assert 429 in forged


def test_the_console_says_in_its_language_when_to_try_signing_in_again(url):
    """Wrong passwords for one username, in the console: the third try is refused and the
    agent is told how long to wait, in Russian here."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_context(locale="ru-RU").new_page()
        page.goto(f"{url}/console")
        page.get_by_test_id("login-username").fill("anna")
        for attempt, said in enumerate(("Неверное", "Неверное", "Слишком много попыток")):
            page.get_by_test_id("login-password").fill(f"guess-{attempt}")
            page.get_by_test_id("login-submit").click()
            expect(page.get_by_test_id("login-error")).to_contain_text(said)
        expect(page.get_by_test_id("login-error")).to_have_text(
            re.compile(r"Повторите через [1-6] с\.")
        )
        browser.close()
