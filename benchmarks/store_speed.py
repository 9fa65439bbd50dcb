"""How fast the conversation store takes customer messages, on SQLite and on PostgreSQL, from one
process and from several at once (figures in docs/benchmarks.md, "Conversation store").

    python -m benchmarks.store_speed [--messages 2000] [--processes 4]
        [--postgres postgresql://postgres@127.0.0.1:5432/test]

Each message is ``add_message`` with a ``client_message_id``, as the chat API stores it: the
conversation read, the duplicate check, the next number, the insert, one transaction. Every
process writes into conversations of its own (a customer per process), so writers meet only at
the database. On PostgreSQL the schema is a new one, dropped afterwards. The anchor is SQLite
from one process, measured in the same run: the other figures are given as its multiple.
"""

import argparse
import multiprocessing
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

from escalation import Sender, SqlConversationStore
from escalation.database import open_database
from helpdesk.settings import Settings


def _write(settings: Settings, messages: int, started: multiprocessing.Event) -> None:
    store = SqlConversationStore(open_database(settings))
    conversation, _ = store.create_conversation("web", "en")
    started.wait()
    for n in range(messages):
        store.add_message(
            conversation.id, Sender.CUSTOMER, f"message {n}", client_message_id=str(n)
        )


def rate(settings: Settings, messages: int, processes: int) -> float:
    """Messages stored per second, ``messages`` in all, written by ``processes`` at once."""
    open_database(settings).close()  # the schema made before the clock starts
    context = multiprocessing.get_context("spawn")
    started = context.Event()
    workers = [
        context.Process(target=_write, args=(settings, messages // processes, started))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    time.sleep(3)  # every process has opened the database and made its conversation
    began = time.perf_counter()
    started.set()
    for worker in workers:
        worker.join()
        assert worker.exitcode == 0
    return messages / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(args.postgres, autocommit=True) as conn:
        conn.execute(f"create schema {schema}")
    try:
        with tempfile.TemporaryDirectory() as folder:
            engines = {
                "sqlite": lambda n: Settings(db=Path(folder) / f"store-{n}.db"),
                "postgresql": lambda n: Settings(
                    db=Path(folder) / "kb.db",
                    database_url=f"{args.postgres}?options=-csearch_path%3D{schema}",
                ),
            }
            figures = {}
            for name, settings in engines.items():
                for processes in (1, args.processes):
                    figures[name, processes] = rate(settings(processes), args.messages, processes)
    finally:
        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute(f"drop schema {schema} cascade")
    anchor = figures["sqlite", 1]
    print(f"{args.messages} messages, add_message with a client_message_id each")
    print(f"{'engine':<12}{'processes':>10}{'messages/s':>12}{'x anchor':>10}")
    for (name, processes), value in figures.items():
        print(f"{name:<12}{processes:>10}{value:>12.0f}{value / anchor:>10.2f}")


if __name__ == "__main__":
    main()
