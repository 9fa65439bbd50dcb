"""Customer messages pushed to the agent's console: throughput, push latency, losses.

    python -m benchmarks.agent_push [--messages 3000] [--concurrency 16] [--conversations 50]
    python -m benchmarks.agent_push --rate 500      # open loop: 500 messages/s offered

A real API process (uvicorn, started by ``tests.servers.start_api`` without access log, default
settings and embedding model) on loopback with its own SQLite file; no Rasa (a message to a
conversation an agent holds never reaches the bot). One agent holds every conversation and has
the console's live stream open (``WS /api/agent/stream``, signed in with the session cookie).
Customers send ``POST /api/conversations/{id}/messages``, ``--concurrency`` at a time (closed
loop) or at ``--rate`` a second whatever the answers (open loop). Each text carries a marker;
a message's push latency is the time from the start of its POST (open loop: from when it was
due) to its ``message`` event on the agent's WebSocket, one clock in one process. Messages/s:
pushed messages over the time from the first send to the last push. Lost: acknowledged (200)
but never pushed. Afterwards every conversation's history is read back: each acknowledged
message must be stored exactly once.

The anchor, in blocks interleaved with the pushed ones so that both see the same machine: the
same customers, connections and concurrency doing the cheapest authenticated read,
``GET /api/conversations/{id}/messages?after=<past the end>`` (token check, one indexed
SQLite read, no write, no push).

The customers' HTTP client is a bare HTTP/1.1 client on asyncio streams: it shares the 2 cores
with the server, and httpx spends more CPU per request than the server does on the anchor
(``--client httpx`` to see it), so with httpx the figures measure the client.
"""

import argparse
import asyncio
import json
import os
import re
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

from escalation import Role, SqlAgents, SqlConversationStore, SqliteDatabase, State, now
from tests.servers import free_port, start_api, stop

USERNAME, PASSWORD = "bench", "bench-password-1"
GOAL_RATE, GOAL_P99_MS = 500, 100
KEEP_ALIVE_S = 4  # uvicorn closes a keep-alive connection idle for 5 s
DRAIN_S = 10  # how long after its last send a block waits for the pushes still missing
MARKER = re.compile(r"\[bench ([\w-]+)\]")
TEXTS = (  # the customers write in both languages the product serves
    "My order has not arrived yet, could you check where it is please? [bench {}]",
    "Здравствуйте, заказ до сих пор не пришёл, подскажите, где он? [bench {}]",
)


class Connection:
    """One bare HTTP/1.1 keep-alive connection. The load generator shares the machine with the
    server, so it must cost as little CPU as it can (httpx costs more per request than the
    server's cheapest route: ``--client httpx`` shows it)."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.used = 0.0

    async def request(self, method: str, path: str, headers: dict, body: bytes | None = None):
        """``(status, body)``; the connection is reopened after any error."""
        if self.writer is not None and time.perf_counter() - self.used > KEEP_ALIVE_S:
            self.close()  # the server may be closing it right now, as browsers and httpx know
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.used = time.perf_counter()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        try:
            self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b""))
            head = await self.reader.readuntil(b"\r\n\r\n")
            fields = dict(line.split(b":", 1) for line in head.split(b"\r\n")[1:] if b":" in line)
            fields = {name.strip().lower(): value.strip() for name, value in fields.items()}
            if b"content-length" not in fields:
                raise ConnectionError(f"no Content-Length: {head[:200]!r}")
            content = await self.reader.readexactly(int(fields[b"content-length"]))
            if fields.get(b"connection", b"").lower() == b"close":
                self.close()
            self.used = time.perf_counter()
            return int(head.split(b" ", 2)[1]), content
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class HttpxConnection:
    """The same interface over a shared ``httpx.AsyncClient`` (``--client httpx``)."""

    def __init__(self, http: httpx.AsyncClient):
        self.http = http

    async def request(self, method: str, path: str, headers: dict, body: bytes | None = None):
        if body is not None:
            headers = {**headers, "Content-Type": "application/json"}
        response = await self.http.request(method, path, headers=headers, content=body)
        return response.status_code, response.content

    def close(self) -> None:
        pass


def percentile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100)[int(q) - 1]


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Block:
    """One block of requests: when each started and, for pushes, when each reached the agent."""

    started: dict[str, float] = field(default_factory=dict)
    answered: dict[str, float] = field(default_factory=dict)  # HTTP response received
    failed: dict[str, str] = field(default_factory=dict)  # non-200 or transport error
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0


@dataclass
class Run:
    conversations: list[tuple[str, dict]]  # (id, bearer header)
    pushed: dict[str, list[float]] = field(default_factory=dict)  # marker -> receive times
    strays: int = 0  # customer message events whose text had no marker of ours
    push_blocks: list[Block] = field(default_factory=list)
    anchor_blocks: list[Block] = field(default_factory=list)
    warm_up: list[Block] = field(default_factory=list)
    connections: int = 0  # the most requests in flight at once


def prepare(db_path: Path, conversations: int) -> list[tuple[str, dict]]:
    """One agent holding ``conversations`` conversations, written with the library itself."""
    database = SqliteDatabase(db_path)
    store = SqlConversationStore(database)
    agent = SqlAgents(database).add(USERNAME, PASSWORD, Role.AGENT, capacity=10_000)
    prepared = []
    for _ in range(conversations):
        conversation, token = store.create_conversation("web", "en")
        queued_at = now()
        store.transition(
            conversation.id,
            State.QUEUED,
            {"handoff": {"reason": "request_human", "language": "en"}},
            {"queued_at": queued_at, "queue_key": queued_at.timestamp(), "language": "en"},
        )
        store.claim(conversation.id, agent.id, {"agent_id": agent.id, "by": "bench"})
        prepared.append((conversation.id, {"Authorization": f"Bearer {token}"}))
    database.db.conn.close()
    return prepared


async def receive(ws, run: Run, ready: asyncio.Event) -> None:
    """The agent's console: note when each customer message arrives."""
    async for raw in ws:
        arrived = time.perf_counter()
        event = json.loads(raw)
        if event["type"] == "queue":
            ready.set()
        elif event["type"] == "message" and event["message"]["sender"] == "customer":
            found = MARKER.search(event["message"]["text"])
            if found:
                run.pushed.setdefault(found[1], []).append(arrived)
            else:
                run.strays += 1


class Pool:
    """Idle connections, opened as needed (one per request in flight)."""

    def __init__(self, make):
        self.make, self.idle, self.all = make, [], []

    def take(self):
        if not self.idle:
            self.all.append(self.make())
            self.idle.append(self.all[-1])
        return self.idle.pop()

    def give(self, connection) -> None:
        self.idle.append(connection)

    def close(self) -> None:
        for connection in self.all:
            connection.close()


async def load(
    pool: Pool, run: Run, block: Block, prefix: str, count: int, push: bool, server_pid: int,
    concurrency: int, rate: float | None,
) -> None:  # fmt: skip
    """``count`` requests spread round-robin over the conversations: ``concurrency`` in flight
    (closed loop), or started at ``rate`` a second whatever the answers (open loop; latency is
    then counted from when a request was due, so a stalled server cannot hide its backlog)."""

    async def one(i: int, due: float, connection) -> None:
        conversation_id, headers = run.conversations[i % len(run.conversations)]
        marker = f"{prefix}-{i}"
        path = f"/api/conversations/{conversation_id}/messages"
        if push:
            body = {"text": TEXTS[i % 2].format(marker), "client_message_id": marker}
            request = ("POST", path, headers, json.dumps(body).encode())
        else:
            request = ("GET", f"{path}?after=1000000000", headers)
        block.started[marker] = due or time.perf_counter()
        try:
            status, _ = await connection.request(*request)
        except (OSError, EOFError, ValueError, httpx.HTTPError) as error:
            block.failed[marker] = type(error).__name__
            return
        block.answered[marker] = time.perf_counter()
        if status != 200:
            block.failed[marker] = str(status)

    jobs = iter(range(count))

    async def worker() -> None:
        connection = pool.take()
        for i in jobs:
            await one(i, 0.0, connection)
        pool.give(connection)

    async def scheduled(i: int, due: float) -> None:
        connection = pool.take()
        await one(i, due, connection)
        pool.give(connection)

    server, client = cpu_s(server_pid), time.process_time()
    if rate is None:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    else:
        started, tasks = time.perf_counter(), []
        for i in range(count):
            due = started + i / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            tasks.append(asyncio.create_task(scheduled(i, due)))
        await asyncio.gather(*tasks)
    if push:  # wait for the pushes still on their way
        acknowledged = [m for m in block.answered if m not in block.failed]
        deadline = time.perf_counter() + DRAIN_S
        while time.perf_counter() < deadline and any(m not in run.pushed for m in acknowledged):
            await asyncio.sleep(0.01)
    block.server_cpu_s = cpu_s(server_pid) - server
    block.client_cpu_s = time.process_time() - client


async def stored(http: httpx.AsyncClient, run: Run) -> dict[str, int]:
    """How many times each marker is in the conversations' histories."""
    counts: dict[str, int] = {}
    for conversation_id, headers in run.conversations:
        response = await http.get(f"/api/conversations/{conversation_id}/messages", headers=headers)
        response.raise_for_status()
        for message in response.json()["messages"]:
            found = MARKER.search(message["text"])
            if message["sender"] == "customer" and found:
                counts[found[1]] = counts.get(found[1], 0) + 1
    return counts


async def rounds(pool: Pool, run: Run, args: argparse.Namespace, server_pid: int) -> None:
    """A warm-up of each kind, then push and anchor blocks in turn."""
    for kind, blocks in (("push", run.warm_up), ("anchor", run.warm_up)):
        blocks.append(Block())
        await load(pool, run, blocks[-1], f"w{kind}", args.warm_up, kind == "push",
                   server_pid, args.concurrency, args.rate)  # fmt: skip
    per_round = -(-args.messages // args.rounds)
    for round_ in range(args.rounds):
        count = min(per_round, args.messages - round_ * per_round)
        for kind, blocks in (("push", run.push_blocks), ("anchor", run.anchor_blocks)):
            blocks.append(Block())
            await load(pool, run, blocks[-1], f"{kind[0]}{round_}", count, kind == "push",
                       server_pid, args.concurrency, args.rate)  # fmt: skip


async def measure(url: str, run: Run, args: argparse.Namespace, server_pid: int) -> dict:
    most = None if args.rate else args.concurrency  # open loop: as many as fall due
    limits = httpx.Limits(max_connections=most, max_keepalive_connections=most)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as http:
        credentials = {"username": USERNAME, "password": PASSWORD}
        login = await http.post("/api/auth/login", json=credentials)
        login.raise_for_status()
        cookie = {"Cookie": f"helpdesk_session={login.cookies['helpdesk_session']}"}
        ws_url = url.replace("http://", "ws://") + "/api/agent/stream"
        async with connect(ws_url, additional_headers=cookie) as ws:  # no Origin: a script
            ready = asyncio.Event()
            receiver = asyncio.create_task(receive(ws, run, ready))
            host, port = url.removeprefix("http://").split(":")
            if args.client == "httpx":
                pool = Pool(lambda: HttpxConnection(http))
            else:
                pool = Pool(lambda: Connection(host, int(port)))
            try:
                await asyncio.wait_for(ready.wait(), 10)  # staff topics followed from here on
                await rounds(pool, run, args, server_pid)
            finally:
                receiver.cancel()
                pool.close()
                run.connections = len(pool.all)
        return await stored(http, run)


def summarise(run: Run, storage: dict[str, int], args: argparse.Namespace) -> dict:
    latencies, elapsed, delivered = [], 0.0, 0
    for block in run.push_blocks:
        received = {m: run.pushed[m][0] for m in block.started if m in run.pushed}
        latencies += [(received[m] - block.started[m]) * 1000 for m in received]
        ends = [*received.values(), *block.answered.values()] or [min(block.started.values())]
        elapsed += max(ends) - min(block.started.values())
        delivered += len(received)
    anchor, anchor_elapsed = [], 0.0
    for block in run.anchor_blocks:
        anchor += [(block.answered[m] - block.started[m]) * 1000 for m in block.answered]
        anchor_elapsed += max(block.answered.values()) - min(block.started.values())
    pushes = run.push_blocks + run.warm_up[:1]
    acknowledged = {m for b in pushes for m in b.answered if m not in b.failed}
    answers = [(b.answered[m] - b.started[m]) * 1000 for b in run.push_blocks for m in b.answered]
    sent = sum(len(b.started) for b in run.push_blocks)
    anchor_sent = sum(len(b.started) for b in run.anchor_blocks)
    return {
        "sent": sent,
        "rate": delivered / elapsed if elapsed else 0.0,
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99),
        "max": max(latencies, default=float("nan")),
        "ack_p50": percentile(answers, 50),
        "ack_p99": percentile(answers, 99),
        "lost": sorted(m for m in acknowledged if m not in run.pushed),
        "pushed_twice": sum(1 for m in acknowledged if len(run.pushed.get(m, [])) > 1),
        "failed": {m: e for b in pushes for m, e in b.failed.items()},
        "anchor_failed": sum(len(b.failed) for b in run.anchor_blocks + run.warm_up[1:]),
        "missing": sum(1 for m in acknowledged if storage.get(m, 0) == 0),
        "duplicated": sum(1 for m in acknowledged if storage.get(m, 0) > 1),
        "acknowledged": len(acknowledged),
        "anchor_rate": anchor_sent / anchor_elapsed,
        "anchor_p50": percentile(anchor, 50),
        "anchor_p99": percentile(anchor, 99),
        "server_cpu_ms": 1000 * sum(b.server_cpu_s for b in run.push_blocks) / sent,
        "client_cpu_ms": 1000 * sum(b.client_cpu_s for b in run.push_blocks) / sent,
        "anchor_server_cpu_ms": 1000 * sum(b.server_cpu_s for b in run.anchor_blocks) / anchor_sent,
        "anchor_client_cpu_ms": 1000 * sum(b.client_cpu_s for b in run.anchor_blocks) / anchor_sent,
    }  # fmt: skip


def report(f: dict, run: Run, args: argparse.Namespace, ready_s: float) -> None:
    met = lambda ok: "met" if ok else "NOT MET"  # noqa: E731
    shape = (
        f"open loop at {args.rate:g} requests/s (up to {run.connections} in flight)"
        if args.rate
        else f"closed loop, {args.concurrency} requests in flight"
    )
    print(
        f"API ready after {ready_s:.1f} s; {args.conversations} conversations held by one agent, "
        f"{shape}, {args.rounds} interleaved rounds, "
        f"warm-up {args.warm_up} + {args.warm_up}, {args.client} client"
    )
    rows = [
        ("messages sent (measured)", f"{f['sent']}"),
        ("messages/s pushed to the agent", f"{f['rate']:.0f}"),
        ("push latency p50 / p95 / p99 / max", f"{f['p50']:.1f} / {f['p95']:.1f} / "
         f"{f['p99']:.1f} / {f['max']:.1f} ms"),
        ("POST answered p50 / p99", f"{f['ack_p50']:.1f} / {f['ack_p99']:.1f} ms"),
        ("lost (acknowledged, never pushed)", f"{len(f['lost'])} of {f['acknowledged']}"
         " (warm-up included)"),
        ("pushed more than once", f"{f['pushed_twice']}"),
        ("not acknowledged (non-200 / errors)", f"{len(f['failed'])}"),
        ("stored: missing / duplicated", f"{f['missing']} / {f['duplicated']}"),
        ("anchor requests/s (GET ?after=end)", f"{f['anchor_rate']:.0f}"),
        ("anchor p50 / p99", f"{f['anchor_p50']:.1f} / {f['anchor_p99']:.1f} ms"),
        ("throughput ratio push / anchor", f"{f['rate'] / f['anchor_rate']:.2f}"),
        ("p99 ratio push / anchor", f"{f['p99'] / f['anchor_p99']:.2f}"),
        ("CPU ms per request, server / client",
         f"push {f['server_cpu_ms']:.2f} / {f['client_cpu_ms']:.2f}, "
         f"anchor {f['anchor_server_cpu_ms']:.2f} / {f['anchor_client_cpu_ms']:.2f}"),
    ]  # fmt: skip
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    if f["failed"]:
        kinds = statistics.multimode(f["failed"].values())
        print(f"  failures, most common: {kinds}")
    if run.strays or f["anchor_failed"]:
        print(f"  unmarked customer events: {run.strays}; anchor failures: {f['anchor_failed']}")
    lost_ok = not f["lost"] and not f["failed"] and not f["missing"] and not f["duplicated"]
    if args.rate and args.rate < GOAL_RATE:
        print(f"  (open loop offering only {args.rate:g}/s: the rate goal cannot be met here)")
    print(
        f"goals: >= {GOAL_RATE} messages/s: {met(f['rate'] >= GOAL_RATE)} ({f['rate']:.0f}); "
        f"p99 <= {GOAL_P99_MS} ms: {met(f['p99'] <= GOAL_P99_MS)} ({f['p99']:.1f} ms); "
        f"0 lost: {met(lost_ok)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000, help="measured, in all")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3, help="push/anchor blocks, interleaved")
    parser.add_argument(
        "--rate",
        type=float,
        help="open loop: requests started a second (default: closed loop, --concurrency in flight)",
    )
    parser.add_argument(
        "--client",
        choices=["raw", "httpx"],
        default="raw",
        help="the customers' HTTP client: bare asyncio streams, or httpx",
    )
    parser.add_argument("--warm-up", type=int, default=200, help="of each kind, not measured")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "helpdesk.db"
        run = Run(prepare(db, args.conversations))
        port = free_port()
        env = os.environ | {
            "HELPDESK_DB": str(db),
            "HELPDESK_COOKIE_SECURE": "false",
            "HELPDESK_RASA_PORT": str(free_port()),  # nothing listens: the bot is never asked
        }
        log = Path(folder) / "api.log"
        started = time.perf_counter()
        server = start_api(port, env, log, "--no-access-log")  # as `helpdesk serve` runs it
        ready_s = time.perf_counter() - started
        try:
            storage = asyncio.run(measure(f"http://127.0.0.1:{port}", run, args, server.pid))
        except Exception:
            print(log.read_text(errors="replace")[-3000:])
            raise
        finally:
            stop(server)
    report(summarise(run, storage, args), run, args, ready_s)


if __name__ == "__main__":
    main()
