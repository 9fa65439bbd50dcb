"""KPI queries on a busy desk's database: how long the manager dashboard waits for its figures.

    python -m benchmarks.kpi_speed [--conversations 100000] [--messages 1000000] [--runs 5]
    python -m benchmarks.kpi_speed --explain --index    # the query plans; then with the index

A temporary database with the real schema (``SqliteDatabase``) gets 90 days of synthetic
history, written with ``executemany`` in one transaction: 60 % of the conversations stay with
the bot (most resolved by it), 40 % are handed over (mostly resolved by one of 20 agents; some
abandoned, reopened, spam, or still waiting); web and SMS, Russian and English; about 30 % of
the customers come back within days, so the follow-up windows have work to do; 3-6 events per
conversation (created, the bot's outcomes, state changes, feedback), feedback for about 30 %.
Then ``analytics.kpis.compute`` runs for the whole 90 days, overall and with each breakdown,
``--runs`` times each (warm cache: a dashboard asks again and again). The anchor, timed in the
same run: ``select count(*) from messages``, a scan of the smallest index of the largest table.
``--index`` then adds the index the customers' next contact would use, ``SUGGESTED_INDEX``
(the schema has conversations(customer_id) only), and measures again.
"""

import argparse
import json
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tqdm import tqdm

from analytics.kpis import BREAKDOWNS, compute, queries
from escalation import SqliteDatabase
from helpdesk.settings import Settings

DAYS = 90
GOAL_S = 1.0
ANCHOR = "select count(*) from messages"
SUGGESTED_INDEX = "conversations(customer_id, created_at)"  # customers' next contact
AGENTS = [f"agent-{n:02d}" for n in range(20)]
SENDERS = ("customer", "bot", "customer", "agent", "system")


def iso(moment: datetime) -> str:
    return moment.isoformat()


class History:
    """Rows for every table, generated conversation by conversation in order of creation."""

    def __init__(self, rng: random.Random, end: datetime):
        self.rng, self.end = rng, end
        self.customers: list[tuple] = []
        self.conversations: list[dict] = []
        self.events: list[tuple] = []
        self.feedback: list[tuple] = []
        self.spans: list[tuple[str, datetime, datetime, int]] = []  # for messages

    def conversation(self, created: datetime) -> None:
        rng = self.rng
        if self.customers and rng.random() < 0.3:  # a recent customer comes back
            customer = self.customers[
                rng.randrange(max(0, len(self.customers) - 2000), len(self.customers))
            ][0]
        else:
            customer = str(uuid.uuid4())
            self.customers.append((customer, iso(created), "{}"))
        row = {
            "id": str(uuid.uuid4()), "customer_id": customer, "created_at": iso(created),
            "channel": "web" if rng.random() < 0.7 else "sms",
            "locale": "ru" if rng.random() < 0.6 else "en", "state": "bot", "reopens": 0,
            "updated_at": iso(created),
        }  # fmt: skip
        self._event(row["id"], "created", {"channel": row["channel"]}, created)
        if rng.random() < 0.6:
            last = self._bot_only(row, created)
        else:
            last = self._handed_over(row, created)
        if row.get("resolution_code") in ("bot", "solved", "not_solved") and rng.random() < 0.4:
            self._rated(row, last)
        self.conversations.append(row)
        messages = rng.randint(4, 8) if row.get("queued_at") is None else rng.randint(12, 19)
        self.spans.append((row["id"], created, max(last, created), messages))

    def _bot_only(self, row: dict, created: datetime) -> datetime:
        rng, at = self.rng, created
        helped = False
        for _ in range(rng.choice((1, 1, 2))):
            at += timedelta(seconds=rng.uniform(20, 120))
            decision = "fallback" if rng.random() < 0.1 else "answer"
            reaction = None
            if decision == "answer":
                reaction = rng.choices(["helped", "did_not_help", None], [0.6, 0.25, 0.15])[0]
            helped = helped or reaction == "helped"
            outcome = {"query": "?", "decision": decision, "article_id": "a", "reaction": reaction}
            self._event(row["id"], "bot_outcome", outcome, at)
        if helped or rng.random() < 0.5:  # confirmed, or quiet after an answer
            at += timedelta(minutes=rng.uniform(0.5, 30))
            self._state(row, "resolved", at, resolved_at=iso(at), resolution_code="bot")
        return at

    def _handed_over(self, row: dict, created: datetime) -> datetime:
        rng = self.rng
        queued = created + timedelta(seconds=rng.uniform(30, 300))
        at = queued
        language = row["locale"] if rng.random() < 0.95 else "en"
        self._state(
            row, "queued", queued, queued_at=iso(queued), language=language,
            first_response_due=iso(queued + timedelta(minutes=5)),
            resolution_due=iso(queued + timedelta(hours=4)),
        )  # fmt: skip
        if queued > self.end - timedelta(hours=2) and rng.random() < 0.5:
            return at  # still waiting
        if rng.random() < 0.06:  # the customer left
            at += timedelta(seconds=rng.expovariate(1 / 240))
            self._state(row, "resolved", at, resolved_at=iso(at), resolution_code="abandoned")
            return at
        agent = rng.choice(AGENTS)
        at += timedelta(seconds=rng.expovariate(1 / 90))
        self._state(row, "assigned", at, assignee_id=agent, first_assigned_at=iso(at))
        at += timedelta(seconds=rng.expovariate(1 / 60))
        row["first_response_at"] = iso(at)
        code = rng.choices(["solved", "not_solved", "duplicate", "spam"], [75, 13, 10, 2])[0]
        at += timedelta(seconds=rng.expovariate(1 / 1200))
        self._state(row, "resolved", at, resolved_at=iso(at), resolution_code=code)
        if code != "spam" and rng.random() < 0.08:  # reopened, and resolved again
            at += timedelta(minutes=rng.uniform(1, 50))
            self._state(row, "assigned", at, reopens=1, resolved_at=None, resolution_code=None)
            at += timedelta(seconds=rng.expovariate(1 / 900))
            self._state(row, "resolved", at, resolved_at=iso(at), resolution_code=code)
        return at

    def _rated(self, row: dict, after: datetime) -> None:
        at = after + timedelta(seconds=self.rng.uniform(5, 600))
        csat = self.rng.choices([1, 2, 3, 4, 5], [8, 6, 12, 30, 44])[0]
        ces = self.rng.choices([1, 2, 3, 4, 5, None], [5, 7, 15, 30, 38, 5])[0]
        self.feedback.append(
            (row["id"], csat, ces, None, row.get("assignee_id"), row["channel"], iso(at))
        )
        self._event(row["id"], "feedback", {"csat": csat, "ces": ces}, at)

    def _state(self, row: dict, to: str, at: datetime, **columns) -> None:
        self._event(row["id"], "state", {"from": row["state"], "to": to}, at)
        row.update(columns, state=to)

    def _event(self, conversation: str, type: str, data: dict, at: datetime) -> None:
        self.events.append((conversation, type, json.dumps(data), iso(at)))

    def messages(self, total: int):
        """``total`` messages over the conversations, in proportion to their kind."""
        counts = [span[3] for span in self.spans]
        for _ in range(total - sum(counts)):  # top up (or trim) to exactly ``total``
            counts[self.rng.randrange(len(counts))] += 1
        while sum(counts) > total:
            index = self.rng.randrange(len(counts))
            counts[index] -= counts[index] > 1
        for (conversation, start, end, _), count in zip(self.spans, counts, strict=True):
            step = (end - start) / count
            for seq in range(1, count + 1):
                sender = SENDERS[seq % len(SENDERS)]
                yield (conversation, seq, sender, "Здравствуйте, где мой заказ? " * 2, "web",
                       "[]", "{}", None, iso(start + step * (seq - 1)))  # fmt: skip


CONVERSATION_COLUMNS = (
    "id", "customer_id", "channel", "locale", "state", "created_at", "language", "assignee_id",
    "queued_at", "first_response_due", "first_response_at", "resolution_due", "resolved_at",
    "resolution_code", "first_assigned_at", "reopens", "updated_at",
)  # fmt: skip


def generate(path: Path, conversations: int, messages: int, end: datetime, seed: int) -> None:
    rng = random.Random(seed)
    history = History(rng, end)
    start = end - timedelta(days=DAYS)
    moments = sorted(
        start + timedelta(seconds=rng.uniform(0, DAYS * 86400)) for _ in range(conversations)
    )
    for created in tqdm(moments, desc="conversations", unit="conv", mininterval=1):
        history.conversation(created)
    database = SqliteDatabase(path)
    with database.write() as conn:
        conn.execute("pragma cache_size = -400000")  # 400 MB while the indexes are built
        conn.executemany(
            "insert into agents (id, username, display_name, role, password_hash) "
            "values (?, ?, ?, 'agent', 'x')",
            [(agent, agent, f"Agent {agent[-2:]}") for agent in AGENTS],
        )
        conn.executemany(
            "insert into customers (id, created_at, metadata) values (?, ?, ?)", history.customers
        )
        marks = ", ".join("?" for _ in CONVERSATION_COLUMNS)
        conn.executemany(
            f"insert into conversations ({', '.join(CONVERSATION_COLUMNS)}, metadata) "
            f"values ({marks}, '{{}}')",
            [[row.get(name) for name in CONVERSATION_COLUMNS] for row in history.conversations],
        )
        conn.executemany(
            "insert into events (conversation_id, type, data, created_at) values (?, ?, ?, ?)",
            tqdm(history.events, desc="events", unit="ev", mininterval=1),
        )
        conn.executemany(
            "insert into feedback (conversation_id, csat, ces, comment, agent_id, channel, "
            "created_at) values (?, ?, ?, ?, ?, ?, ?)",
            history.feedback,
        )
        conn.executemany(
            "insert into messages (conversation_id, seq, sender, text, channel, quick_replies, "
            "metadata, client_message_id, created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            tqdm(history.messages(messages), total=messages, desc="messages", unit="msg",
                 mininterval=1),
        )  # fmt: skip
    with database.write() as conn:
        conn.execute("analyze")  # as a long-running database would have, for the planner
    database.db.conn.close()


def measure(database: SqliteDatabase, window: tuple[date, date], now: datetime, runs: int):
    """Seconds per run: of the anchor, and of ``compute`` overall and with each breakdown;
    in rounds, so that each sees the machine as the others did."""
    settings = Settings()
    calls = {ANCHOR: lambda: _count_messages(database)}
    for by in (None, *BREAKDOWNS):
        calls[f"compute(by={by})"] = lambda by=by: compute(
            database, *window, settings, by=by, now=now
        )
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in tqdm(range(runs), desc="rounds", unit="round"):
        for name, call in calls.items():
            began = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - began)
    return times


def _count_messages(database: SqliteDatabase) -> None:
    with database.read() as conn:
        conn.execute(ANCHOR).fetchone()


def table(times: dict[str, list[float]]) -> str:
    anchor = statistics.median(times[ANCHOR])
    lines = [
        "| query | min | median | max | median / anchor | goal: median <= 1 s |",
        "|---|---|---|---|---|---|",
    ]
    for name, values in times.items():
        median = statistics.median(values)
        verdict = "-" if name == ANCHOR else ("met" if median <= GOAL_S else "**not met**")
        lines.append(
            f"| `{name}` | {min(values) * 1000:.1f} ms | {median * 1000:.1f} ms | "
            f"{max(values) * 1000:.1f} ms | {median / anchor:.0f} | {verdict} |"
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
    parser.add_argument(
        "--index", action="store_true", help=f"then again with the index {SUGGESTED_INDEX}"
    )
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
        if args.index:
            with database.write() as conn:
                conn.execute(f"create index suggested on {SUGGESTED_INDEX}")
                conn.execute("analyze")
            times = measure(database, window, now, args.runs)
            print(f"\nwith the index {SUGGESTED_INDEX}:\n\n{table(times)}")
            if args.explain:
                explain(database, *window, settings)


if __name__ == "__main__":
    main()
