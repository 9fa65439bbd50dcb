"""Load and faults: many customers chatting at once through the whole service, with parts of it
killed on the way; what was acknowledged must all be there afterwards (figures in
docs/benchmarks.md).

    python -m benchmarks.load [--conversations 50] [--messages 10000] [--faults] [--workers N]
        [--redis-url redis://127.0.0.1:6379/0] [--database-url postgresql://...]

``helpdesk serve`` starts as ``make run`` starts it (API, Rasa server, action server, SMS
stand-in) on free ports with a database of its own (``--database-url`` and ``--redis-url`` are
passed on as ``HELPDESK_DATABASE_URL`` and ``HELPDESK_REDIS_URL``). ``--conversations``
customers chat at once, each a chat after another with no pause for typing, until ``--messages``
customer messages are acknowledged (see ``benchmarks.chat_load`` for what they write and how
they retry); one agent works the waiting conversations. Afterwards every conversation's history
is read back: lost, duplicated and out-of-order messages must be 0.

The anchor is the bare Rasa REST webhook at the same concurrency with the same texts, before and
after the load: Rasa answering one message at a time is what bounds a chat service with a bot,
so throughput and latency are given as ratios to it. A ratio above 1 is possible: messages in
conversations waiting for a person do not reach the bot.

``--faults``: while the load runs, at moments spread over it, the Rasa server and an API process
are killed with SIGKILL, and Redis and PostgreSQL restarted when they are used
(``benchmarks.faults``); the load is held back after each fault until the part is back, so every
fault has customers writing through it. For each: how long the part took to come back, the
errors customers got (which they retried), and what they were told meanwhile.
"""

import argparse
import asyncio
import random
import statistics
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from tqdm import tqdm

from benchmarks.chat_load import Agent, Budget, Tally, Verdict, customer, kb_questions, verify
from benchmarks.faults import Fault, Injector
from tests.servers import BIN, Service

AGENT = ("load-agent", "load test agent password")
AGENT_CAPACITY = 20


def stack(folder: Path, workers: int, redis_url: str = "", database_url: str = "") -> Service:
    """``helpdesk serve`` as ``make run`` starts it (not started yet), with an agent account."""
    settings = {"HELPDESK_API_WORKERS": str(workers), "HELPDESK_COOKIE_SECURE": "false"}
    if redis_url:  # its own keys in a Redis that others may use too
        settings |= {"HELPDESK_REDIS_URL": redis_url,
                     "HELPDESK_REDIS_PREFIX": f"load{uuid.uuid4().hex[:12]}"}  # fmt: skip
    if database_url:
        settings["HELPDESK_DATABASE_URL"] = database_url
    service = Service(folder, **settings)
    username, password = AGENT
    add = [BIN / "helpdesk", "users", "add", username, "--name", "Anna", "--password", password,
           "--capacity", str(AGENT_CAPACITY)]  # fmt: skip
    subprocess.run(add, env=service.env, check=True, capture_output=True)
    return service


@dataclass
class Run:
    tally: Tally
    verdict: Verdict
    started: float
    ended: float  # the last acknowledgement
    faults: list[Fault] = field(default_factory=list)
    agent: Counter[str] = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        return len(self.tally.latencies) / (self.ended - self.started)


def fault_points(messages: int, kinds: list[str]) -> list[tuple[int, asyncio.Event]]:
    """For each fault: after how many messages it is injected (evenly spread), and an event for
    when the part is back."""
    step = messages / (len(kinds) + 1)
    return [(round(step * (i + 1)), asyncio.Event()) for i in range(len(kinds))]


async def inject(injector: Injector, kinds: list[str], budget: Budget, run: Run, say) -> None:
    try:
        for kind, (at, back) in zip(kinds, budget.faults, strict=True):
            while budget.taken < at:
                await asyncio.sleep(0.1)
            fault = await asyncio.to_thread(injector.inject, kind)
            run.faults.append(fault)
            say(f"fault: {kind} at {fault.started - run.started:.1f} s, back after "
                f"{fault.recovery_s:.1f} s")  # fmt: skip
            back.set()
    finally:  # a part that did not come back fails the run; the customers do not wait for it
        for _, back in budget.faults:
            back.set()


async def run_load(
    service: Service,
    conversations: int,
    messages: int,
    workers: int = 1,
    faults: list[str] | None = None,
    seed: int = 1,
    progress: bool = True,
) -> Run:
    """The customers and the agent on the running service, with these faults (``Injector``'s
    kinds) in turn; then the check."""
    injector = Injector(service, workers)
    kinds = faults or []
    budget = Budget(messages, fault_points(messages, kinds))
    run = Run(Tally(), Verdict(), time.monotonic(), 0.0)
    agent = Agent(service.url, *AGENT, AGENT_CAPACITY)
    await agent.sign_in()
    stop = asyncio.Event()
    bar = tqdm(total=messages, unit="msg", disable=not progress, mininterval=2)
    limits = httpx.Limits(max_connections=conversations, max_keepalive_connections=conversations)
    async with httpx.AsyncClient(base_url=service.url, timeout=60, limits=limits) as http:
        working = asyncio.create_task(agent.work(stop))
        injecting = asyncio.create_task(inject(injector, kinds, budget, run, bar.write))
        await asyncio.gather(*(
            customer(http, run.tally, budget, random.Random(seed * 1000 + i), bar.update)
            for i in range(conversations)
        ))  # fmt: skip
        run.ended = run.tally.acknowledged_at[-1] if run.tally.acknowledged_at else time.monotonic()
        await injecting  # all injected: the budget's gates held the customers back until then
        stop.set()
        await working
    bar.close()
    run.agent = agent.outcomes
    run.verdict = await verify(service.url, run.tally.chats)
    return run


@dataclass
class Anchor:
    rate: float  # messages/s
    latencies: list[float]


async def anchor(rasa_url: str, concurrency: int, messages: int, seed: int = 1) -> Anchor:
    """The bare Rasa REST webhook: ``concurrency`` senders, the customers' questions."""
    texts = [t for texts in kb_questions().values() for t in texts]
    rng, latencies = random.Random(seed), []
    async with httpx.AsyncClient(base_url=rasa_url, timeout=60) as rasa:

        async def sender() -> None:
            name = f"anchor-{uuid.uuid4()}"
            for _ in range(messages // concurrency):
                started = time.monotonic()
                body = {"sender": name, "message": rng.choice(texts)}
                response = await rasa.post("/webhooks/rest/webhook", json=body)
                response.raise_for_status()
                latencies.append(time.monotonic() - started)

        started = time.monotonic()
        await asyncio.gather(*(sender() for _ in range(concurrency)))
    return Anchor(len(latencies) / (time.monotonic() - started), latencies)


def percentiles(values: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": cuts[49], "p90": cuts[89], "p99": cuts[98], "max": max(values)}


def fault_report(fault: Fault, until: float, tally: Tally) -> dict:
    """What customers met from the fault until the next one (or the end): failed attempts by
    kind and how long after the fault the last came, and the longest wait for an
    acknowledgement; and what they were told (system messages) until the part was back."""
    failures = [(t, kind) for t, kind in tally.failures if fault.started <= t < until]
    waits = [
        latency
        for at, latency in zip(tally.acknowledged_at, tally.latencies, strict=True)
        if fault.started <= at < until
    ]
    told = Counter(
        text for at, replies in tally.answers for sender, text in replies
        if sender == "system" and fault.started <= at <= fault.recovered
    )  # fmt: skip
    return {
        "kind": fault.kind,
        "back_after_s": fault.recovery_s,
        "failures": Counter(kind for _, kind in failures),
        "errors_until_s": failures[-1][0] - fault.started if failures else 0.0,
        "longest_wait_s": max(waits, default=0.0),
        "unanswered": sum(fault.started <= at < until for at in tally.unanswered),
        "told": told,
    }


def report(run: Run, before: Anchor, after: Anchor) -> None:
    tally, verdict = run.tally, run.verdict
    anchor_rate = (before.rate + after.rate) / 2
    print(
        f"\nacknowledged {len(tally.latencies)} messages in {run.ended - run.started:.1f} s: "
        f"{run.rate:.1f} messages/s in {len(tally.chats)} conversations"
    )
    ours = percentiles(tally.latencies)
    bare = percentiles(before.latencies + after.latencies)
    print("latency of acknowledged sends (ms), and bare Rasa at the same concurrency:")
    for name in ours:
        ratio = ours[name] / bare[name]
        print(f"  {name:>4}: {ours[name] * 1000:8.1f}  {bare[name] * 1000:8.1f}  ratio {ratio:.2f}")
    print(
        f"anchor: bare Rasa {before.rate:.1f} messages/s before the load, {after.rate:.1f} "
        f"after; throughput ratio {run.rate / anchor_rate:.2f}"
    )
    print(
        f"failed attempts (retried): {dict(Counter(k for _, k in tally.failures))}; given up: "
        f"{tally.given_up}; refused: {len(tally.refused)} {tally.refused[:3]}; acknowledged "
        f"with the bot's turn but no reply: {len(tally.unanswered)}"
    )
    print(
        f"replies with the acknowledgements: {dict(tally.replies)}; stored afterwards: "
        f"{dict(verdict.stored)}; agent: {dict(run.agent)}"
    )
    told = Counter(
        text for _, replies in tally.answers for sender, text in replies if sender == "system"
    )
    print(f"system messages with the acknowledgements: {dict(told.most_common(4))}")
    print(
        f"check of {verdict.acknowledged} acknowledged: lost {verdict.lost}, duplicated "
        f"{verdict.duplicated}, out of order {verdict.out_of_order}, unknown {verdict.unknown}"
        f" (not acknowledged but stored: {verdict.unacknowledged_stored})"
    )
    for i, fault in enumerate(run.faults):
        until = run.faults[i + 1].started if i + 1 < len(run.faults) else run.ended + 1
        seen = fault_report(fault, until, tally)
        print(
            f"fault {seen['kind']}: back after {seen['back_after_s']:.1f} s; errors until "
            f"{seen['errors_until_s']:.1f} s after it {dict(seen['failures'])}; longest wait "
            f"{seen['longest_wait_s']:.1f} s; unanswered {seen['unanswered']}; told "
            f"{dict(seen['told'].most_common(3))}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=50, help="customers at once")
    parser.add_argument("--messages", type=int, default=10_000, help="customer messages in all")
    parser.add_argument("--faults", action="store_true", help="kill and restart parts meanwhile")
    parser.add_argument("--workers", type=int, default=1, help="API workers (2+: needs Redis)")
    parser.add_argument("--redis-url", default="", help="HELPDESK_REDIS_URL")
    parser.add_argument("--database-url", default="", help="HELPDESK_DATABASE_URL")
    parser.add_argument("--anchor-messages", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        service = stack(Path(folder), args.workers, args.redis_url, args.database_url).start()
        try:
            before = asyncio.run(anchor(service.rasa_url, args.conversations, args.anchor_messages))
            faults = Injector(service, args.workers).kinds() if args.faults else []
            run = asyncio.run(
                run_load(service, args.conversations, args.messages, args.workers, faults)
            )
            after = asyncio.run(anchor(service.rasa_url, args.conversations, args.anchor_messages))
        finally:
            service.stop()
    report(run, before, after)
    if not run.verdict.sound:
        raise SystemExit("messages were lost, duplicated or reordered")


if __name__ == "__main__":
    main()
