"""KPI queries on a busy desk's database: how long the manager dashboard waits for its figures.

    python -m benchmarks.kpi_speed [--conversations 100000] [--messages 1000000] [--runs 5]
    python -m benchmarks.kpi_speed --explain    # and the query plans

A temporary database with the real schema gets the demo knowledge base and 90 days of the demo
history (``devtools.history``, what a first ``make run`` seeds, here 100 times larger):
conversations answered by the real search, handed to the demo team, rated, reopened,
abandoned, on the web and by SMS, in Russian and English; the people's conversations get
longer so that there are about ``--messages`` messages. Then ``analytics.kpis.compute`` runs
for the whole 90 days, overall, with each breakdown, and narrowed by a filter as the
dashboard asks; then the dashboard page's four reports at once, over 90 and 30 days;
``--runs`` times each (warm cache: a dashboard asks again and again). The anchor, timed in the
same run: ``select count(*) from messages``, a scan of the smallest index of the largest table.
Beside the wall-clock time, the CPU time the process spent (all of its threads): on a machine
busy with other work the wall-clock time grows more than the CPU time.
"""

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tqdm import tqdm

from analytics.kpis import BREAKDOWNS, compute, queries
from devtools.history import seed_history
from escalation import SqlAgents, SqliteDatabase
from helpdesk.demo import create_demo_accounts
from helpdesk.settings import Settings
from knowledge import KnowledgeBase

DAYS = 90
GOAL_S = 1.0
ANCHOR = "select count(*) from messages"
PAGE = ("day", "week", "channel", "agent")  # the dashboard page's breakdowns, asked at once


def generate(path: Path, conversations: int, messages: int, end: datetime, seed: int) -> None:
    """The demo base and the demo history, as ``make run`` has them, in ``path``."""
    settings = Settings()
    knowledge = KnowledgeBase.open(path, settings)
    knowledge.import_demo_if_empty()
    database = SqliteDatabase(path)
    database.db.execute("pragma cache_size = -400000")  # 400 MB while the indexes are built
    create_demo_accounts(SqlAgents(database), settings)
    seed_history(database, knowledge, settings, DAYS, conversations, seed, messages, end)
    with database.write() as conn:
        conn.execute("analyze")  # as a long-running database would have, for the planner
    database.db.conn.close()


def measure(database: SqliteDatabase, window: tuple[date, date], now: datetime, runs: int):
    """Seconds per run: of the anchor, and of ``compute`` overall, with each breakdown, and
    with filters as the dashboard narrows it (a channel's trend, an agent's weeks, a language
    of the people's work); overall over the last 30 days; and the dashboard page's four
    reports at once. In rounds, so that each sees the machine as the others did."""
    settings = Settings()
    anna = SqlAgents(database).by_username("agent").id
    asked = [(by, {}) for by in (None, *BREAKDOWNS)]
    asked += [("day", {"channel": "sms"}), ("week", {"agent": anna}),
              (None, {"handled_by": "human", "language": "en"})]  # fmt: skip
    calls = {ANCHOR: lambda: _count_messages(database)}
    for by, filters in asked:
        narrowed = "".join(f", {k}={'Anna' if v == anna else v}" for k, v in filters.items())
        calls[f"compute(by={by}{narrowed})"] = lambda by=by, filters=filters: compute(
            database, *window, settings, by=by, now=now, filters=filters
        )
    recent = (window[1] - timedelta(days=30), window[1])  # the dashboard's default
    calls["compute(by=None), last 30 days"] = lambda: compute(database, *recent, settings, now=now)
    for name, period in (("90 days", window), ("last 30 days", recent)):
        calls[f"dashboard page, {name}"] = lambda period=period: _page(
            database, period, settings, now
        )
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in calls}
    for _ in tqdm(range(runs), desc="rounds", unit="round"):
        for name, call in calls.items():
            began, cpu = time.perf_counter(), time.process_time()
            call()
            times[name].append((time.perf_counter() - began, time.process_time() - cpu))
    return times


def _page(
    database: SqliteDatabase, window: tuple[date, date], settings: Settings, now: datetime
) -> None:
    """What the dashboard page asks for at once (trend, weeks, channels, agents), each
    request on a thread of the server's pool."""
    with ThreadPoolExecutor(len(PAGE)) as pool:
        list(pool.map(lambda by: compute(database, *window, settings, by=by, now=now), PAGE))


def _count_messages(database: SqliteDatabase) -> None:
    with database.read() as conn:
        conn.execute(ANCHOR).fetchone()


def table(times: dict[str, list[tuple[float, float]]]) -> str:
    anchor = statistics.median(wall for wall, _ in times[ANCHOR])
    lines = [
        "| query | min | median | max | median / anchor | CPU, median | goal: median <= 1 s |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, runs in times.items():
        walls = [wall for wall, _ in runs]
        median = statistics.median(walls)
        cpu = statistics.median(cpu for _, cpu in runs)
        verdict = "-" if name == ANCHOR else ("met" if median <= GOAL_S else "**not met**")
        lines.append(
            f"| `{name}` | {min(walls) * 1000:.0f} ms | {median * 1000:.0f} ms | "
            f"{max(walls) * 1000:.0f} ms | {median / anchor:.0f} | {cpu * 1000:.0f} ms "
            f"| {verdict} |"
        )
    return "\n".join(lines)


def explain(database: SqliteDatabase, start: date, end: date, settings: Settings) -> None:
    """The plans of both KPI statements (by day), as SQLite runs them."""
    statements, params = queries(start, end, settings, by="day")
    with database.read() as conn:
        for name, sql in statements.items():
            plan = conn.execute(f"explain query plan {sql}", params).fetchall()
            print(f"\nquery plan, {name} (by day):")
            print("\n".join(f"  {row[3]}" for row in plan))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--explain", action="store_true", help="print the query plans")
    args = parser.parse_args()
    settings = Settings()
    now = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "kpi.db"
        began = time.perf_counter()
        generate(path, args.conversations, args.messages, now, args.seed)
        size = path.stat().st_size / 2**20
        print(f"generated in {time.perf_counter() - began:.0f} s: {size:,.0f} MB")
        database = SqliteDatabase(path)
        with database.read() as conn:
            counts = {
                table: conn.execute(f"select count(*) from {table}").fetchone()[0]
                for table in ("conversations", "messages", "events", "feedback", "customers")
            }
        print(", ".join(f"{n:,} {table}" for table, n in counts.items()))
        print(f"(the history's seed: {args.seed}; {args.conversations:,} conversations asked, "
              "those still going on at its end left out)")  # fmt: skip
        end = now.astimezone(ZoneInfo(settings.timezone)).date() + timedelta(days=1)
        window = (end - timedelta(days=DAYS + 1), end)  # local days: all of the history
        figures = compute(database, *window, settings, now=now)["overall"]
        print(
            f"{window[0]} to {window[1]}: {figures['contacts']:,} contacts, self-service "
            f"{figures['self_service_rate']['value']:.1%}, escalated "
            f"{figures['escalation_rate']['value']:.1%}, first-contact resolution "
            f"{figures['first_contact_resolution']['value']:.1%}"
        )
        times = measure(database, window, now, args.runs)
        print(f"\n{args.runs} rounds, warm cache\n\n{table(times)}")
        if args.explain:
            explain(database, *window, settings)


if __name__ == "__main__":
    main()
