"""The conversation store on a real SQLite file and a real PostgreSQL database: durable,
idempotent, never backwards."""

import multiprocessing
from concurrent.futures import ThreadPoolExecutor

import pytest

from escalation import (
    InvalidTransition,
    NotFound,
    Sender,
    SqlConversationStore,
    State,
)
from tests import databases
from tests.databases import open_database_at

# The contract of the stores: every test here runs on SQLite and on PostgreSQL.
pytestmark = pytest.mark.usefixtures("each_engine")


@pytest.fixture
def store(tmp_path) -> SqlConversationStore:
    return SqlConversationStore(open_database_at(tmp_path / "conversations.db"))


def test_a_new_conversation_is_with_the_bot_and_its_token_opens_only_it(store):
    conversation, token = store.create_conversation("web", "ru")
    other, other_token = store.create_conversation("web", "en")
    assert conversation.state == State.BOT and conversation.locale == "ru"
    assert store.token_matches(conversation.id, token)
    assert not store.token_matches(conversation.id, other_token)
    assert not store.token_matches(other.id, token)
    assert not store.token_matches("no-such-id", token)
    assert [e.type for e in store.events(conversation.id)] == ["created"]


def test_messages_are_numbered_per_conversation_and_read_after_a_seq(store):
    first, _ = store.create_conversation("web", "en")
    second, _ = store.create_conversation("web", "en")
    store.add_message(first.id, Sender.CUSTOMER, "hello")
    store.add_message(second.id, Sender.CUSTOMER, "hi")
    reply, _ = store.add_message(
        first.id,
        Sender.BOT,
        "Did this help?",
        quick_replies=[{"title": "Yes", "payload": "/affirm"}],
    )
    assert [m.seq for m in store.messages(first.id)] == [1, 2]
    assert store.last_message(first.id, Sender.CUSTOMER).text == "hello"
    assert store.last_message(first.id, Sender.AGENT) is None
    assert [m.seq for m in store.messages(second.id)] == [1]
    assert store.messages(first.id, after=1) == [reply]
    assert reply.to_json()["quick_replies"] == [{"title": "Yes", "payload": "/affirm"}]
    assert reply.channel == "web"


def test_a_repeated_client_message_id_returns_the_stored_message(store):
    conversation, _ = store.create_conversation("web", "en")
    message, created = store.add_message(
        conversation.id, Sender.CUSTOMER, "hi", client_message_id="c1"
    )
    again, created_again = store.add_message(
        conversation.id, Sender.CUSTOMER, "hi", client_message_id="c1"
    )
    assert created and not created_again
    assert again == message
    assert len(store.messages(conversation.id)) == 1


def test_state_moves_forward_and_is_recorded_with_its_data(store):
    conversation, _ = store.create_conversation("web", "en")
    record = {"reason": "customer_asked", "articles": [{"id": "a", "score": 0.4, "reaction": "no"}]}
    store.transition(conversation.id, State.QUEUED, {"handoff": record})
    store.transition(conversation.id, State.ASSIGNED)
    store.transition(conversation.id, State.RESOLVED)
    store.transition(conversation.id, State.CLOSED)
    changes = [e.data for e in store.events(conversation.id) if e.type == "state"]
    assert [(c["from"], c["to"]) for c in changes] == [
        ("bot", "queued"), ("queued", "assigned"), ("assigned", "resolved"), ("resolved", "closed")
    ]  # fmt: skip
    assert changes[0]["handoff"] == record


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ([State.QUEUED], State.BOT),
        ([State.QUEUED, State.ASSIGNED, State.RESOLVED, State.CLOSED], State.ASSIGNED),
        ([], State.ASSIGNED),
        ([], State.CLOSED),
    ],
)
def test_a_status_never_moves_backwards(store, path, refused):
    conversation, _ = store.create_conversation("sms", "ru")
    for state in path:
        store.transition(conversation.id, state)
    with pytest.raises(InvalidTransition):
        store.transition(conversation.id, refused)
    assert store.get(conversation.id).state == (path[-1] if path else State.BOT)


def test_unknown_conversation(store):
    with pytest.raises(NotFound):
        store.get("nope")
    with pytest.raises(NotFound):
        store.add_message("nope", Sender.CUSTOMER, "hi")
    with pytest.raises(NotFound):
        store.transition("nope", State.QUEUED)


def test_concurrent_writers_in_threads_lose_nothing(store):
    conversation, _ = store.create_conversation("web", "en")
    with ThreadPoolExecutor(8) as pool:
        list(
            pool.map(
                lambda i: store.add_message(conversation.id, Sender.CUSTOMER, f"m{i}"), range(200)
            )
        )
    stored = store.messages(conversation.id)
    assert [m.seq for m in stored] == list(range(1, 201))
    assert {m.text for m in stored} == {f"m{i}" for i in range(200)}


def _write_from_another_process(path, conversation_id, worker, engine):
    databases.ENGINE = engine  # a process of its own: the engine of the test that started it
    store = SqlConversationStore(open_database_at(path))
    for i in range(50):
        store.add_message(
            conversation_id, Sender.CUSTOMER, f"{worker}-{i}", client_message_id=f"{worker}-{i}"
        )
        # every message is sent twice, as a retrying client would
        store.add_message(
            conversation_id, Sender.CUSTOMER, f"{worker}-{i}", client_message_id=f"{worker}-{i}"
        )


def test_concurrent_processes_on_one_database_lose_and_duplicate_nothing(tmp_path, each_engine):
    path = tmp_path / "conversations.db"
    conversation, _ = SqlConversationStore(open_database_at(path)).create_conversation("web", "en")
    workers = [
        multiprocessing.get_context("spawn").Process(
            target=_write_from_another_process, args=(path, conversation.id, w, each_engine)
        )
        for w in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    stored = SqlConversationStore(open_database_at(path)).messages(conversation.id)
    assert [m.seq for m in stored] == list(range(1, 201))
    assert sorted(m.text for m in stored) == sorted(f"{w}-{i}" for w in range(4) for i in range(50))
