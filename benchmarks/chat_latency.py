"""Bot reply latency through the chat API against the bare Rasa REST round trip, memory of each
process, and time from start to ready (figures in docs/benchmarks.md).

    python -m benchmarks.chat_latency [--messages 100] [--concurrent 20]

The same message ("hello": NLU, the language slot filled by a custom action, a reply) goes to
Rasa's REST webhook directly (the anchor) and through ``POST /api/conversations/{id}/messages``
(stored, sent to Rasa, replies stored), interleaved so that both see the same machine.
"""

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from tests.servers import Service

MESSAGE = "hello"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


async def via_api(http: httpx.AsyncClient, conversation: tuple[str, dict]) -> float:
    conversation_id, headers = conversation
    started = time.perf_counter()
    response = await http.post(
        f"/api/conversations/{conversation_id}/messages", json={"text": MESSAGE}, headers=headers
    )
    response.raise_for_status()
    assert response.json()["messages"], "no reply"
    return (time.perf_counter() - started) * 1000


async def via_rasa(rasa: httpx.AsyncClient, sender: str) -> float:
    started = time.perf_counter()
    response = await rasa.post(
        "/webhooks/rest/webhook", json={"sender": sender, "message": MESSAGE}
    )
    response.raise_for_status()
    assert response.json(), "no reply"
    return (time.perf_counter() - started) * 1000


async def new_conversation(http: httpx.AsyncClient) -> tuple[str, dict]:
    created = (
        await http.post("/api/conversations", json={"channel": "web", "locale": "en"})
    ).json()
    return created["conversation_id"], {"Authorization": f"Bearer {created['customer_token']}"}


async def measure(service: Service, messages: int, concurrent: int) -> dict:
    async with (
        httpx.AsyncClient(base_url=service.url, timeout=30) as http,
        httpx.AsyncClient(base_url=service.rasa_url, timeout=30) as rasa,
    ):
        for _ in range(5):  # warm up both paths
            await via_api(http, await new_conversation(http))
            await via_rasa(rasa, str(uuid.uuid4()))
        sequential = {"api": [], "rasa": []}
        for _ in range(messages):
            sequential["api"].append(await via_api(http, await new_conversation(http)))
            sequential["rasa"].append(await via_rasa(rasa, str(uuid.uuid4())))
        conversations = [await new_conversation(http) for _ in range(concurrent)]
        parallel = {"api": [], "rasa": []}
        errors = {"api": 0, "rasa": 0}
        for round_ in range(max(1, messages // concurrent)):
            for name, calls in (
                ("api", [via_api(http, c) for c in conversations]),
                ("rasa", [via_rasa(rasa, f"bench-{i}-{round_}") for i in range(concurrent)]),
            ):
                for result in await asyncio.gather(*calls, return_exceptions=True):
                    if isinstance(result, BaseException):
                        errors[name] += 1
                    else:
                        parallel[name].append(result)
    return {"sequential": sequential, "parallel": parallel, "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--concurrent", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        service = Service(Path(folder))
        started = time.perf_counter()
        service.start()
        ready = time.perf_counter() - started
        try:
            figures = asyncio.run(measure(service, args.messages, args.concurrent))
            pids = {"api": service.process.pid}
            for pid in children(service.process.pid):
                command = Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
                pids["action server" if " actions " in command else "rasa server"] = pid
            memory = {name: rss_mb(pid) for name, pid in pids.items()}
        finally:
            service.stop()
    print(f"ready after {ready:.1f} s (cached model)")
    for mode, label in (
        ("sequential", "sequential"),
        ("parallel", f"{args.concurrent} concurrent"),
    ):
        api, rasa = figures[mode]["api"], figures[mode]["rasa"]
        print(
            f"{label:>14}: API p50 {percentile(api, 50):.1f} ms p95 {percentile(api, 95):.1f} ms | "
            f"bare Rasa p50 {percentile(rasa, 50):.1f} ms p95 {percentile(rasa, 95):.1f} ms | "
            f"p50 ratio {percentile(api, 50) / percentile(rasa, 50):.2f} | n={len(api)}"
        )
    print(f"errors: {figures['errors']}")
    print(
        "RSS MB: "
        + ", ".join(f"{k} {v:.0f}" for k, v in memory.items())
        + f", total {sum(memory.values()):.0f}"
    )


if __name__ == "__main__":
    main()
