"""Scale-out: API workers sharing one SQLite file and one Redis, and Rasa servers sharing
conversations through Redis. Real processes throughout: API workers, redis-server, Rasa."""

import asyncio
import json
import os
import signal
import subprocess
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from escalation import RedisLiveEvents, SqlAgents
from escalation.live import FellBehind
from helpdesk.settings import Settings
from helpdesk.supervisor import BOT, MODEL, RASA
from privacy import bot_trackers
from tests.clients import PASSWORD, Console, Customer
from tests.databases import database_env, open_database_at
from tests.servers import BIN, Service, free_port, start_api, stop, wait_until_up

SHARED_REDIS = "redis://127.0.0.1:6379/0"


def unique_prefix() -> str:
    """Each test run's own channel and keys in a Redis that others may use too."""
    return "test" + uuid.uuid4().hex[:12]


class RedisServer:
    """A redis-server of the test's own, which it can kill and start again on the same port."""

    def __init__(self, folder: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.folder = folder
        self.process: subprocess.Popen | None = None

    def start(self) -> "RedisServer":
        command = ["redis-server", "--port", str(self.port), "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, cwd=self.folder, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while subprocess.run(["redis-cli", "-p", str(self.port), "ping"],
                             capture_output=True, text=True).stdout.strip() != "PONG":  # fmt: skip
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.1)
        return self

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


@pytest.fixture
def own_redis(tmp_path):
    redis = RedisServer(tmp_path).start()
    yield redis
    if redis.process.poll() is None:
        redis.kill()


def add_agent(db: Path) -> None:
    SqlAgents(open_database_at(db)).add("anna", PASSWORD, display_name="Anna", capacity=20)


def api_env(db: Path, redis_url: str) -> dict[str, str]:
    return os.environ | {
        **database_env(db),
        "HELPDESK_REDIS_URL": redis_url,
        "HELPDESK_REDIS_PREFIX": unique_prefix(),
        "HELPDESK_COOKIE_SECURE": "false",  # plain http on loopback in tests
        "HELPDESK_RASA_PORT": str(free_port()),  # no bot: every conversation is handed over
    }


@pytest.fixture
def two_apis(tmp_path):
    """Two API processes on two ports, one database, one Redis; their URLs. Started with the
    ``redis_url`` the test gives (``two_apis(url)``)."""
    processes = []

    def start(redis_url: str) -> list[str]:
        add_agent(tmp_path / "helpdesk.db")
        env = api_env(tmp_path / "helpdesk.db", redis_url)
        ports = [free_port(), free_port()]
        for name, port in zip("ab", ports, strict=True):
            processes.append(start_api(port, env, tmp_path / f"api-{name}.log"))
        return [f"http://127.0.0.1:{port}" for port in ports]

    yield start
    for process in processes:
        stop(process)


def chat_stream(url: str, customer: Customer) -> ClientConnection:
    ws = url.replace("http", "ws", 1)
    return connect(f"{ws}/api/conversations/{customer.id}/stream?token={customer.token}")


def console_stream(url: str, console: Console) -> ClientConnection:
    cookie = f"helpdesk_session={console.http.cookies['helpdesk_session']}"
    ws = url.replace("http", "ws", 1)
    return connect(f"{ws}/api/agent/stream", additional_headers={"Cookie": cookie})


def message_event(stream: ClientConnection, text: str, timeout: float = 10) -> dict:
    """The stream's next ``message`` event with this text, other events skipped."""
    deadline = time.monotonic() + timeout
    while True:
        event = json.loads(stream.recv(timeout=max(0.01, deadline - time.monotonic())))
        if event["type"] == "message" and event["message"]["text"] == text:
            return event


def close_code(stream: ClientConnection, timeout: float = 15) -> int:
    """How the server closed the stream (events before that are skipped)."""
    deadline = time.monotonic() + timeout
    try:
        while True:
            stream.recv(timeout=max(0.01, deadline - time.monotonic()))
    except ConnectionClosed as closed:
        return closed.rcvd.code


def live_everywhere(urls: list[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not all(httpx.get(f"{url}/health").json()["live_events"] for url in urls):
        assert time.monotonic() < deadline, "the workers did not subscribe to Redis again"
        time.sleep(0.2)


def queued_and_claimed(customer_url: str, agent_url: str) -> tuple[Customer, Console]:
    customer = Customer(customer_url)
    assert customer.say("my order never arrived")["conversation"]["state"] == "queued"
    anna = Console(agent_url, "anna")
    assert anna.post(f"/api/agent/conversations/{customer.id}/claim").status_code == 200
    return customer, anna


def test_a_customer_on_one_worker_and_an_agent_on_the_other_hear_each_other(two_apis):
    a, b = two_apis(SHARED_REDIS)
    customer, anna = queued_and_claimed(a, b)
    with chat_stream(a, customer) as chat, console_stream(b, anna) as console:
        assert json.loads(console.recv(timeout=5))["type"] == "queue"  # following its chats
        reply = anna.post(f"/api/agent/conversations/{customer.id}/messages", {"text": "On it"})
        assert reply.status_code == 201
        assert message_event(chat, "On it")["message"]["sender"] == "agent"
        customer.say("thanks, from worker A")
        pushed = message_event(console, "thanks, from worker A")
        assert pushed["conversation_id"] == customer.id


def test_a_redis_restart_sends_listeners_to_the_history_and_loses_nothing(two_apis, own_redis):
    redis = own_redis
    a, b = two_apis(redis.url)
    customer, anna = queued_and_claimed(a, b)
    path = f"/api/agent/conversations/{customer.id}/messages"
    with chat_stream(a, customer) as chat:
        anna.post(path, {"text": "before the restart"})
        message_event(chat, "before the restart")
        redis.kill()
        assert close_code(chat) == 1013  # fell behind: reconnect and read the history
    started = time.monotonic()
    assert anna.post(path, {"text": "while Redis was down"}).status_code == 201
    customer.say("me too, while it was down")
    assert time.monotonic() - started < 3  # publishing does not wait for Redis
    with chat_stream(a, customer) as opened_meanwhile:
        redis.start()
        live_everywhere([a, b])
        assert close_code(opened_meanwhile) == 1013  # it may have missed events: reconnect
    with chat_stream(a, customer) as chat:
        anna.post(path, {"text": "after the restart"})
        assert message_event(chat, "after the restart")["message"]["sender"] == "agent"
    texts = [m["text"] for m in customer.history()]
    expected = ["before the restart", "while Redis was down", "me too, while it was down",
                "after the restart"]  # fmt: skip
    assert [t for t in texts if t in expected] == expected


def test_a_gap_in_a_workers_numbered_events_sends_listeners_to_the_history():
    """Another worker's event 3 never arrived (its publish failed): whoever listens may have
    missed it, so every listener is told to reconnect, after what did arrive."""

    async def scenario() -> None:
        hub = RedisLiveEvents(SHARED_REDIS, unique_prefix())
        other_worker = Redis.from_url(SHARED_REDIS)
        async with hub.running(), hub.listen("queue") as listener:
            for number in (1, 2, 4):
                event = json.dumps(["other-worker", number, "queue", {"n": number}])
                await other_worker.publish(hub.channel, event)
            assert [(await listener.next())["n"] for _ in range(2)] == [1, 2]
            with pytest.raises(FellBehind):
                await asyncio.wait_for(listener.next(), 5)
        await other_worker.aclose()

    asyncio.run(scenario())


def test_several_workers_without_redis_are_refused_with_the_reason(tmp_path):
    env = os.environ | {**database_env(tmp_path / "helpdesk.db"), "HELPDESK_REDIS_URL": ""}
    serve = [BIN / "helpdesk", "serve", "--workers", "2"]
    refused = subprocess.run(serve, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2
    assert "need Redis" in refused.stderr and "HELPDESK_REDIS_URL" in refused.stderr


# -- helpdesk serve: two API workers on one port, and two Rasa servers sharing Redis ----------


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """``helpdesk serve --workers 2`` with Redis; the API takes turns between its own Rasa
    server and a second one that the ``second_rasa`` fixture starts."""
    folder = tmp_path_factory.mktemp("scale-out")
    settings = {"HELPDESK_REDIS_URL": SHARED_REDIS, "HELPDESK_REDIS_PREFIX": unique_prefix(),
                "HELPDESK_API_WORKERS": "2", "HELPDESK_COOKIE_SECURE": "false"}  # fmt: skip
    running = Service(folder, **settings)
    running.second_rasa_url = f"http://127.0.0.1:{free_port()}"
    running.env["HELPDESK_RASA_URLS"] = json.dumps([running.rasa_url, running.second_rasa_url])
    add_agent(running.db)
    yield running.start()
    running.stop()


@pytest.fixture(scope="module")
def second_rasa(service):
    """Another ``rasa run`` on the endpoints file that ``serve`` wrote: the same Redis stores."""
    port = service.second_rasa_url.rsplit(":", 1)[1]
    env = os.environ | {
        "RASA_TELEMETRY_ENABLED": "false",
        "HELPDESK_ACTIONS_URL": f"http://127.0.0.1:{service.ports['actions']}/webhook",
    }
    command = [
        RASA, "run", "--enable-api", f"--auth-token={service.rasa_token}", "--model", MODEL,
        "--port", port,
        "--endpoints", service.db.parent / "rasa-endpoints.yml", "--credentials", "credentials.yml",
    ]  # fmt: skip
    with (service.db.parent / "rasa-2.log").open("w") as log:
        process = subprocess.Popen(command, cwd=BOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    wait_until_up(f"{service.second_rasa_url}/status?token={service.rasa_token}", process, 240)
    yield process
    stop(process)


def serving_worker(client: ClientConnection, workers: set[int]) -> int:
    """The worker process holding the server side of this connection (from /proc)."""
    client_port, server_port = client.socket.getsockname()[1], client.socket.getpeername()[1]
    inode = next(
        fields[9]
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
        if (fields := line.split())[1].endswith(f":{server_port:04X}")
        and fields[2].endswith(f":{client_port:04X}")
    )
    return next(
        pid
        for pid in workers
        for fd in os.listdir(f"/proc/{pid}/fd")
        if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]"
    )


def worker_pids(service: Service) -> set[int]:
    """The processes answering on the API's port, each asked on a new connection."""
    pids = set()
    for _ in range(200):
        pids.add(httpx.get(f"{service.url}/health").json()["worker"])
        if len(pids) == 2:
            break
    return pids


def test_serve_with_two_workers_delivers_every_event_to_every_stream(service):
    workers = worker_pids(service)
    assert len(workers) == 2
    for pid in workers:  # the supervisor's own worker processes
        status = Path(f"/proc/{pid}/status").read_text()
        assert f"PPid:\t{service.process.pid}\n" in status
    customers = [Customer(service.url, "ru") for _ in range(3)]
    for customer in customers:
        assert customer.say("позовите оператора")["conversation"]["state"] == "queued"
    anna = Console(service.url, "anna")
    for customer in customers:
        assert anna.post(f"/api/agent/conversations/{customer.id}/claim").status_code == 200

    def on_both(streams: list[ClientConnection]) -> bool:
        return {serving_worker(stream, workers) for stream in streams} == workers

    with ExitStack() as streams:
        chats: dict[ClientConnection, int] = {}  # each customer's streams, and consoles, opened
        consoles: list[ClientConnection] = []  # until both workers hold some of each
        while not (on_both(list(chats)) and on_both(consoles)):
            assert len(consoles) < 40, "every stream went to the same worker"
            number = len(chats) % len(customers)
            chats[streams.enter_context(chat_stream(service.url, customers[number]))] = number
            consoles.append(streams.enter_context(console_stream(service.url, anna)))
            assert json.loads(consoles[-1].recv(timeout=10))["type"] == "queue"
        for number, customer in enumerate(customers):  # each on a new connection: either worker
            path = f"/api/agent/conversations/{customer.id}/messages"
            assert Console(service.url, "anna").post(path, {"text": f"reply {number}"}).is_success
            fresh = httpx.Client(base_url=service.url, headers=customer.headers)
            sent = fresh.post(f"/api/conversations/{customer.id}/messages",
                              json={"text": f"customer {number} again"})  # fmt: skip
            assert sent.status_code == 200
        for stream, number in chats.items():
            message_event(stream, f"reply {number}")
        for stream in consoles:
            for number in range(len(customers)):
                message_event(stream, f"customer {number} again")


def test_rasa_servers_share_conversations_through_redis(service, second_rasa):
    second = service.second_rasa_url
    customer = Customer(service.url, "ru")  # the API takes turns between the two servers
    sorry = customer.press(customer.say("где мой заказ?"), "Нет")
    assert "подробнее" in "\n".join(m["text"] for m in sorry["messages"])
    offer = customer.press(customer.say("как вернуть товар?"), "Нет")
    assert "сотрудник" in "\n".join(m["text"] for m in offer["messages"])
    trackers = [service.tracker(customer.id, url).json() for url in (service.rasa_url, second)]
    assert trackers[0]["events"] == trackers[1]["events"]
    said = [e["text"] for e in trackers[1]["events"] if e["event"] == "user"]
    assert said == ["где мой заказ?", "/deny", "как вернуть товар?", "/deny"]
    assert trackers[1]["slots"]["failures"] == 2
    assert trackers[1]["slots"]["awaiting"] == "handoff_offer"
    # The next turn straight to the second server: it knows what its "yes" answers.
    yes = next(q for q in offer["messages"][-1]["quick_replies"] if q["title"].startswith("Да"))
    body = {"sender": customer.id, "message": yes["payload"],
            "metadata": {"channel": "web", "language": "ru"}}  # fmt: skip
    replies = httpx.post(f"{second}/webhooks/rest/webhook", json=body, timeout=30).json()
    assert any((r.get("custom") or {}).get("handoff") for r in replies)
    # A server that refuses connections is skipped: every message still reaches the bot.
    stop(second_rasa)
    other = Customer(service.url, "en")
    for question in ("how long does a repair take?", "where is my order?"):
        answer = other.say(question)
        assert answer["conversation"]["state"] == "bot"
        assert answer["messages"][-1]["quick_replies"]  # "did this help?"


def test_erasure_empties_the_trackers_that_rasa_keeps_in_redis(service, second_rasa):
    """Rasa 3.6's Redis store merges a tracker it is given into the one it holds: its HTTP
    API cannot empty one there, so erasure deletes the key (privacy/trackers.py)."""
    customer = Customer(service.url, "en")
    customer.say("where is my order kiwi-3f1d?")
    assert "kiwi-3f1d" in service.tracker(customer.id).text
    settings = Settings(redis_url=SHARED_REDIS, redis_prefix=service.env["HELPDESK_REDIS_PREFIX"])
    assert bot_trackers(settings).forget([customer.id]) == {
        "forgotten": 1, "unreachable": False
    }  # fmt: skip
    seen = []
    for url in (service.rasa_url, service.second_rasa_url):  # one may be stopped by now
        try:
            seen.append(service.tracker(customer.id, url).text)
        except httpx.ConnectError:
            continue
    assert seen and not any("kiwi-3f1d" in tracker for tracker in seen)
