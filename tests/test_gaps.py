"""Knowledge-base gaps on a real SQLite file with the real multilingual model: failed
questions grouped by meaning across Russian and English, with what was wrongly offered."""

from datetime import UTC, datetime, timedelta

import pytest

from analytics.gaps import knowledge_gaps
from escalation import SqlConversationStore, State
from escalation.database import Database
from tests.databases import open_database_at

# The contract of the stores: every test here runs on SQLite and on PostgreSQL.
pytestmark = pytest.mark.usefixtures("each_engine")


LOYALTY = [
    "do you have a loyalty card for pensioners?",
    "есть ли у вас скидочная карта для пенсионеров?",
    "discount card for seniors?",
]
CRYPTO = ["can I pay with bitcoin?", "можно ли оплатить заказ криптовалютой?"]


def history(tmp_path) -> tuple[Database, list[str]]:
    database = open_database_at(tmp_path / "helpdesk.db")
    store = SqlConversationStore(database)
    ids = []

    def conversation() -> str:
        created, _ = store.create_conversation("web", "en")
        ids.append(created.id)
        return created.id

    for text in LOYALTY + CRYPTO:  # the base had no answer
        outcome = {"query": text, "decision": "fallback", "article_id": None, "reaction": None}
        store.annotate(conversation(), {}, "bot_outcome", outcome)
    for text in ("where is my order??", "где мой заказ"):  # answered, but it did not help
        outcome = {"query": text, "decision": "answer", "article_id": "order-status-en",
                   "reaction": "did_not_help"}  # fmt: skip
        store.annotate(conversation(), {}, "bot_outcome", outcome)
    helped = {"query": "how to cancel", "decision": "answer", "article_id": "order-cancel-en",
              "reaction": "helped"}  # fmt: skip
    store.annotate(conversation(), {}, "bot_outcome", helped)  # not a gap
    asked_at_once = conversation()  # straight to a person: their question is a gap too
    handoff = {"reason": "customer_asked", "articles": [], "intents": [
        {"text": "позовите оператора", "intent": "request_human"},
        {"text": "оплата биткоином есть?", "intent": "ask_question"}]}  # fmt: skip
    store.transition(asked_at_once, State.QUEUED, {"handoff": handoff})
    return database, ids


def test_failed_questions_are_grouped_by_meaning_across_languages(tmp_path, demo_kb):
    database, _ = history(tmp_path)
    start, end = datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(hours=1)
    gaps = knowledge_gaps(database, demo_kb, start, end)
    groups = [set(gap.examples) for gap in gaps]
    assert set(LOYALTY) in groups
    assert {*CRYPTO, "оплата биткоином есть?"} in groups
    [order] = [gap for gap in gaps if "где мой заказ" in gap.examples]
    assert order.offered == [{"article_id": "order-status-en", "times": 2}]
    assert order.kinds == {"did_not_help": 2}
    assert all("how to cancel" not in gap.examples for gap in gaps)
    assert all("позовите оператора" not in gap.examples for gap in gaps)
    assert [gap.count for gap in gaps] == [3, 3, 2]  # largest first
    [loyalty] = [gap for gap in gaps if set(gap.examples) == set(LOYALTY)]
    draft = loyalty.to_json()["draft"]
    assert draft["question"] in LOYALTY and len(draft["phrasings"]) == 2


def test_nothing_failed_nothing_to_report(tmp_path, demo_kb):
    database, _ = history(tmp_path)
    past = datetime.now(UTC) - timedelta(days=30)
    assert knowledge_gaps(database, demo_kb, past, past + timedelta(days=1)) == []
