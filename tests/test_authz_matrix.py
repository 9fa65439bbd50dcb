"""Who may call what: every route of the app, called by six callers on a real API process with
real sign-ins, against a table of what each caller must get.

The callers: nobody, customer A and customer B (each with their own conversation's token), and
an agent, a manager and an admin (signed in to the console: session cookie and CSRF header).
Customer routes and streams are called on A's conversation, so B's answers show that one
customer's token opens no other conversation. A route without a row fails the test, as does a
row without its route: adding a route means saying who may call it.

Rasa is not running (a customer's first message goes to the queue); SMS is configured against
a Twilio address where nothing listens, so that webhooks check signatures and nothing is sent.
"""

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi.routing import APIWebSocketRoute, iter_route_contexts
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from api.app import create_app
from channels.twilio import signature
from escalation import Role, SqlAgents
from helpdesk.settings import Settings
from knowledge import KnowledgeBase
from tests.databases import database_env, open_database_at, row_counts
from tests.factories import article, write_jsonl
from tests.servers import free_port, start_api, stop

PASSWORD = "matrix-password"
CALLERS = ("anonymous", "customer_a", "customer_b", "agent", "manager", "admin")
STAFF = {"agent": "anna", "manager": "mia", "admin": "ada"}
TWILIO_TOKEN = "matrix-twilio-token"
OK, SIGN_IN, FORBIDDEN = "allowed", "sign in first (401, or to the sign-in page)", "403"

# Who gets what, in the order of CALLERS.
PUBLIC = (OK,) * 6
CUSTOMER_A = (SIGN_IN, OK, FORBIDDEN, SIGN_IN, SIGN_IN, SIGN_IN)
AGENTS = (SIGN_IN, SIGN_IN, SIGN_IN, OK, OK, OK)
MANAGERS = (SIGN_IN, SIGN_IN, SIGN_IN, FORBIDDEN, OK, OK)
ADMINS = (SIGN_IN, SIGN_IN, SIGN_IN, FORBIDDEN, FORBIDDEN, OK)
UNSIGNED = (FORBIDDEN,) * 6  # no caller signs as Twilio does
# A WebSocket refused before it is accepted is answered 403, whatever the reason.
CUSTOMER_STREAM = (FORBIDDEN, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN)
AGENT_STREAM = (FORBIDDEN, FORBIDDEN, FORBIDDEN, OK, OK, OK)


@dataclass(frozen=True)
class Row:
    """One route: who gets what, the statuses that mean "allowed" (the service may still
    refuse for the state things are in: 409), and how to fill in the request for a caller."""

    who: tuple[str, ...]
    allowed: frozenset[int]
    request: Callable[["World", str], dict[str, Any]]


def _row(who: tuple[str, ...], *allowed: int, request=None) -> Row:
    return Row(who, frozenset(allowed or {200}), request or (lambda world, caller: {}))


A = "{a}"  # customer A's conversation
HELD = "{held}"  # the conversation this caller works on (one per staff member)
ARTICLE = "returns"
TEXT = {"json": {"text": "hello"}}
ROWS: dict[tuple[str, str], Row] = {
    # FastAPI's own pages and the static files
    ("GET", "/openapi.json"): _row(PUBLIC),
    ("GET", "/docs"): _row(PUBLIC),
    ("GET", "/docs/oauth2-redirect"): _row(PUBLIC),
    ("GET", "/redoc"): _row(PUBLIC),
    ("GET", "/static"): _row(PUBLIC),  # requested as /static/console.css
    ("GET", "/health"): _row(PUBLIC),
    # pages
    ("GET", "/"): _row(PUBLIC),
    ("GET", "/help/{article_id}"): _row(PUBLIC),
    ("GET", "/console"): _row(PUBLIC),  # it asks to sign in
    ("GET", "/console/manager"): _row(MANAGERS),
    ("GET", "/console/dashboard"): _row(MANAGERS),
    ("GET", "/console/gaps"): _row(MANAGERS),
    # the widget and the knowledge base
    ("GET", "/widget.js"): _row(PUBLIC),
    ("GET", "/api/widget/config"): _row(PUBLIC),
    ("GET", "/api/kb/search"): _row(PUBLIC, request=lambda w, c: {"params": {"q": "refund"}}),
    ("GET", "/api/kb/articles/{article_id}"): _row(PUBLIC),
    # the customer chat, on A's conversation
    ("POST", "/api/conversations"): _row(PUBLIC, 201, request=lambda w, c: {"json": {}}),
    ("POST", f"/api/conversations/{A}/messages"): _row(CUSTOMER_A, request=lambda w, c: TEXT),
    ("GET", f"/api/conversations/{A}"): _row(CUSTOMER_A),
    ("GET", f"/api/conversations/{A}/messages"): _row(CUSTOMER_A),
    ("WS", f"/api/conversations/{A}/stream"): _row(CUSTOMER_STREAM),
    ("POST", f"/api/conversations/{A}/sms"): _row(
        CUSTOMER_A, 202, request=lambda w, c: {"json": {"phone": "+79991234567"}}
    ),
    ("POST", f"/api/conversations/{A}/sms/verify"): _row(
        CUSTOMER_A, 200, 422, request=lambda w, c: {"json": {"code": "000000"}}
    ),  # 422: not the code texted (one chance in a million that it is)
    ("POST", f"/api/conversations/{A}/leave"): _row(CUSTOMER_A),  # A waits in the queue
    ("POST", f"/api/conversations/{A}/feedback"): _row(
        CUSTOMER_A, 201, request=lambda w, c: {"json": {"csat": 4}}
    ),  # A left: the conversation is over, and may be rated once
    # Twilio's webhooks, unsigned (signed ones: test_twilio_webhooks_need_twilios_signature)
    ("POST", "/webhooks/twilio/sms"): _row(UNSIGNED, request=lambda w, c: w.sms_form()),
    ("POST", "/webhooks/twilio/status"): _row(UNSIGNED, request=lambda w, c: w.status_form()),
    # signing in
    ("POST", "/api/auth/login"): _row(
        PUBLIC, request=lambda w, c: {"json": {"username": "probe", "password": PASSWORD}}
    ),
    ("GET", "/api/auth/me"): _row(AGENTS),
    ("POST", "/api/auth/tokens"): _row(AGENTS, 201),
    # the agent console, each staff member on a conversation of their own
    ("PUT", "/api/agent/presence"): _row(
        AGENTS, request=lambda w, c: {"json": {"presence": "away"}}
    ),
    ("GET", "/api/agent/queue"): _row(AGENTS),
    ("GET", f"/api/agent/conversations/{HELD}"): _row(AGENTS),
    ("POST", f"/api/agent/conversations/{HELD}/claim"): _row(AGENTS),
    ("POST", f"/api/agent/conversations/{HELD}/messages"): _row(
        AGENTS, 201, request=lambda w, c: TEXT
    ),
    ("POST", f"/api/agent/conversations/{HELD}/notes"): _row(
        AGENTS, 201, request=lambda w, c: TEXT
    ),
    ("POST", f"/api/agent/conversations/{HELD}/vouchers"): _row(
        AGENTS, 201, request=lambda w, c: {"json": {"type": "discount", "amount": 100}}
    ),
    ("POST", f"/api/agent/conversations/{HELD}/release"): _row(
        AGENTS, request=lambda w, c: {"json": {}}
    ),
    ("POST", f"/api/agent/conversations/{HELD}/transfer"): _row(
        AGENTS, 409, request=lambda w, c: {"json": {"team": "billing"}}
    ),  # 409: released, so no longer theirs to transfer
    ("POST", f"/api/agent/conversations/{HELD}/resolve"): _row(
        AGENTS, 409, request=lambda w, c: {"json": {"code": "solved"}}
    ),  # 409: likewise
    ("GET", "/api/agent/voucher-types"): _row(AGENTS),
    ("GET", "/api/agent/canned"): _row(AGENTS),
    ("WS", "/api/agent/stream"): _row(AGENT_STREAM),
    # managers
    ("GET", "/api/manager/canned"): _row(MANAGERS),
    ("POST", "/api/manager/canned"): _row(MANAGERS, 201, request=lambda w, c: w.canned_body()),
    ("PUT", "/api/manager/canned/{canned_id}"): _row(
        MANAGERS, request=lambda w, c: w.canned_body()
    ),
    ("DELETE", "/api/manager/canned/{canned_id}"): _row(MANAGERS, 204),
    ("GET", "/api/manager/audit"): _row(MANAGERS),
    ("PUT", "/api/manager/customers/{customer_id}"): _row(
        MANAGERS, request=lambda w, c: {"json": {"vip": True}}
    ),
    ("GET", "/api/manager/kpis"): _row(MANAGERS),
    ("GET", "/api/manager/kpis.csv"): _row(MANAGERS),
    ("GET", "/api/manager/gaps"): _row(MANAGERS),
    ("GET", "/api/manager/agents"): _row(MANAGERS),
    ("GET", "/api/manager/articles"): _row(MANAGERS),
    ("GET", "/api/manager/articles/{article_id}"): _row(MANAGERS),
    ("POST", "/api/manager/articles"): _row(
        MANAGERS, 201, request=lambda w, c: {"json": w.article_body(f"New from {c}?")}
    ),
    ("PUT", "/api/manager/articles/{article_id}"): _row(
        MANAGERS, request=lambda w, c: {"json": w.article_body("How do I return a purchase?")}
    ),
    # admins: customers' personal data
    ("GET", "/api/admin/customers"): _row(ADMINS, request=lambda w, c: {"params": {"q": w.a}}),
    ("GET", "/api/admin/customers/{customer_id}/export"): _row(ADMINS),
    ("DELETE", "/api/admin/customers/{customer_id}"): _row(
        ADMINS, request=lambda w, c: {"json": {"reason": "ticket 42"}}
    ),  # an erasable customer of its own (see World.path)
    ("POST", "/api/admin/retention/run"): _row(
        ADMINS, request=lambda w, c: {"params": {"dry_run": "true"}}
    ),
    # last: signing out ends the session the rows above used
    ("POST", "/api/auth/logout"): _row(AGENTS),
}


@dataclass
class World:
    """The server and what the rows need: the callers' credentials, the conversations, the
    customers, canned responses and an article."""

    url: str
    db: Any
    tokens: dict[str, str] = field(default_factory=dict)  # customer caller -> token
    sessions: dict[str, httpx.Cookies] = field(default_factory=dict)  # staff caller -> cookies
    held: dict[str, str] = field(default_factory=dict)  # staff caller -> conversation
    canned: dict[str, int] = field(default_factory=dict)  # manager and admin -> canned id
    a: str = ""
    customer_a: str = ""
    erasable: str = ""

    def path(self, template: str, caller: str) -> str:
        erasing = template == "/api/admin/customers/{customer_id}"
        return template.format(
            a=self.a, held=self.held.get(caller, self.a), article_id=ARTICLE,
            canned_id=self.canned.get(caller, 0),
            customer_id=self.erasable if erasing else self.customer_a,
        )  # fmt: skip

    def credentials(self, caller: str) -> dict[str, Any]:
        if caller in self.tokens:
            return {"headers": {"Authorization": f"Bearer {self.tokens[caller]}"}}
        if caller in self.sessions:
            cookies = self.sessions[caller]
            return {"cookies": cookies, "headers": {"X-CSRF-Token": cookies["helpdesk_csrf"]}}
        return {}

    def sms_form(self) -> dict[str, Any]:
        return {"data": {"MessageSid": "SM" + "a" * 32, "From": "+79990001122", "Body": "hi"}}

    def status_form(self) -> dict[str, Any]:
        return {"data": {"MessageSid": "SM" + "b" * 32, "MessageStatus": "delivered"}}

    @staticmethod
    def canned_body() -> dict[str, Any]:
        return {"json": {"title": "Hello", "language": "en", "text": "Hello, {name}!"}}

    @staticmethod
    def article_body(question: str) -> dict[str, Any]:
        return {"lang": "en", "question": question, "answer": "Within 14 days, in any shop."}


def _staff_session(url: str, username: str) -> httpx.Cookies:
    http = httpx.Client(base_url=url, timeout=20)
    login = http.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return http.cookies


def _customer(url: str, say: str | None = "I need a person") -> tuple[str, str]:
    created = httpx.post(f"{url}/api/conversations", json={"locale": "en"}, timeout=20).json()
    conversation, token = created["conversation_id"], created["customer_token"]
    if say:  # no bot here: the first message puts the conversation in the queue
        headers = {"Authorization": f"Bearer {token}"}
        sent = httpx.post(
            f"{url}/api/conversations/{conversation}/messages",
            json={"text": say}, headers=headers, timeout=20,
        )  # fmt: skip
        assert sent.json()["conversation"]["state"] == "queued"
    return conversation, token


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("authz")
    db = folder / "helpdesk.db"
    agents = SqlAgents(open_database_at(db))
    for caller, username in STAFF.items():
        role = {"agent": Role.AGENT, "manager": Role.MANAGER, "admin": Role.ADMIN}[caller]
        agents.add(username, PASSWORD, role, display_name=username.title())
    agents.add("probe", PASSWORD)
    question = "How do I return a purchase?"
    articles = write_jsonl(folder / "kb.jsonl", [article(ARTICLE, question=question)])
    KnowledgeBase.open(db, Settings(db=db)).import_paths([articles], progress=False)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = os.environ | {
        **database_env(db),
        "HELPDESK_COOKIE_SECURE": "false",
        "HELPDESK_RASA_PORT": str(free_port()),
        "HELPDESK_AUTO_ASSIGN": "false",
        "HELPDESK_RETENTION_DAYS": "365",
        "HELPDESK_PUBLIC_URL": url,
        "HELPDESK_TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "HELPDESK_TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "HELPDESK_TWILIO_FROM_NUMBER": "+15005550006",
        "HELPDESK_TWILIO_API_BASE": f"http://127.0.0.1:{free_port()}",
    }
    process = start_api(port, env, folder / "api.log")
    try:
        yield _populated(World(url, db))
    finally:
        stop(process)


def _populated(world: World) -> World:
    url = world.url
    world.a, world.tokens["customer_a"] = _customer(url)
    _, world.tokens["customer_b"] = _customer(url)
    world.erasable, _ = _customer(url, say=None)  # not waiting for anyone: it may be erased
    for caller, username in STAFF.items():
        world.sessions[caller] = _staff_session(url, username)
        world.held[caller], _ = _customer(url)
    manager = world.credentials("manager")
    customers = {}
    for conversation in (world.a, world.erasable):
        detail = httpx.get(f"{url}/api/agent/conversations/{conversation}", **manager)
        customers[conversation] = detail.json()["customer"]["id"]
    world.customer_a, world.erasable = customers[world.a], customers[world.erasable]
    for caller in ("manager", "admin"):
        made = httpx.post(f"{url}/api/manager/canned", **manager, **World.canned_body())
        world.canned[caller] = made.json()["id"]
    return world


def _routes(db) -> set[tuple[str, str]]:
    """Every route of the app as ``create_app`` builds it: (method, or WS, and its path, with
    the conversation written as the rows write it). A mount answers GET."""
    routes = set()
    for route in iter_route_contexts(create_app(Settings(db=db)).routes):
        if isinstance(route.original_route, APIWebSocketRoute):
            methods = {"WS"}
        else:
            methods = (route.methods or {"GET"}) - {"HEAD"}
        path = route.path.replace("{conversation_id}", A)
        routes |= {(method, path) for method in methods}
    return routes


def test_every_route_has_a_row_and_every_row_a_route(tmp_path):
    routes = _routes(tmp_path / "helpdesk.db")
    known = {(method, path.replace(HELD, A)) for method, path in ROWS}
    assert routes - known == set(), "routes nobody said who may call"
    assert known - routes == set(), "rows for routes that are gone"


def _status(world: World, method: str, template: str, caller: str) -> tuple[int, str]:
    """The status a caller gets, and where a redirect points."""
    path = world.path(template, caller)
    if path == "/static":
        path = "/static/console.css"
    request = ROWS[(method, template)].request(world, caller)
    answer = httpx.request(
        method, world.url + path, timeout=30, **world.credentials(caller), **request
    )
    assert answer.status_code < 500, answer.text
    return answer.status_code, answer.headers.get("location", "")


def _stream_status(world: World, template: str, caller: str) -> int:
    """101 if the WebSocket opens (and the console's sends its first snapshot), else the
    handshake's status."""
    path = world.path(template, caller)
    query = f"?token={world.tokens[caller]}" if caller in world.tokens else ""
    headers = {}
    if caller in world.sessions:
        cookies = world.sessions[caller]
        headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    stream = f"{world.url.replace('http', 'ws', 1)}{path}{query}"
    try:
        with connect(stream, additional_headers=headers) as ws:
            if template == "/api/agent/stream":
                assert json.loads(ws.recv(timeout=10))["type"] == "queue"
            return 101
    except InvalidStatus as refused:
        return refused.response.status_code


@pytest.mark.parametrize(("method", "template"), list(ROWS), ids=[f"{m} {p}" for m, p in ROWS])
def test_who_may_call_what(world, method, template):
    row = ROWS[(method, template)]
    for caller, expected in zip(CALLERS, row.who, strict=True):
        if method == "WS":
            status = _stream_status(world, template, caller)
            assert (status == 101) == (expected == OK), (caller, status)
            assert status in (101, 403), (caller, status)
            continue
        status, location = _status(world, method, template, caller)
        if expected == OK:
            assert status in row.allowed, (caller, status)
        elif expected == SIGN_IN and template.startswith("/console"):
            assert (status, location) == (307, "/console"), caller
        elif expected == SIGN_IN:
            assert status == 401, (caller, status)
        else:
            assert status == 403, (caller, status)


def _row_counts(db) -> dict[str, int]:
    return row_counts(open_database_at(db))


def test_twilio_webhooks_need_twilios_signature_and_store_nothing_without_it(world):
    url = f"{world.url}/webhooks/twilio/sms"
    form = {"MessageSid": "SM" + "c" * 32, "From": "+79990003344", "Body": "where is my order"}
    before = _row_counts(world.db)
    wrong = [signature("another-token", url, form), signature(TWILIO_TOKEN, url + "/x", form)]
    for forged in (None, "", *wrong):
        headers = {} if forged is None else {"X-Twilio-Signature": forged}
        answer = httpx.post(url, data=form, headers=headers)
        assert answer.status_code == 403, forged
    assert _row_counts(world.db) == before
    signed = {"X-Twilio-Signature": signature(TWILIO_TOKEN, url, form)}
    assert httpx.post(url, data=form, headers=signed).status_code == 200
    assert _row_counts(world.db) != before  # the same text, signed, is taken in
