"""Search on the demo knowledge base: the right article, in the customer's language, or none."""

import pytest

from knowledge import QueryError
from tests.factories import article, write_jsonl


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("где мой заказ", "ru", "order-status-ru"),
        ("where is my order", "en", "order-status-en"),
        ("сколько стоит замена разбитого экрана на телефоне", "ru", "screen-replacement-ru"),
        ("my phone fell into the bathtub, what do I do", "en", "water-damage-en"),
        ("how long does a repair usualy take", "en", "repair-time-en"),
    ],
)
def test_answers_in_the_customers_language(demo_kb, text, lang, expected):
    result = demo_kb.search(text)
    assert result.lang == lang
    assert result.hits[0].id == expected
    assert result.decision == "answer"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("gde moy zakaz", "order-status-ru"), ("skolko stoit dostavka", "delivery-cost-ru")],
)
def test_russian_typed_in_latin_letters_is_searched_as_russian(demo_kb, text, expected):
    result = demo_kb.search(text)
    assert result.lang == "ru"
    assert result.hits[0].id == expected
    assert result.decision in {"answer", "clarify"}


def test_a_russian_question_finds_an_english_only_article_and_back(new_kb, tmp_path):
    records = [
        article(
            "refund-time",
            question="When will I get my refund?",
            phrasings=["refund status", "money back"],
        ),
        article(
            "opening-hours",
            question="What are your opening hours?",
            phrasings=["when are you open"],
        ),
        article(
            "delivery-cost-ru",
            "ru",
            question="Сколько стоит доставка?",
            phrasings=["цена доставки"],
        ),
    ]
    new_kb.import_paths([write_jsonl(tmp_path / "kb.jsonl", records)], progress=False)
    russian = new_kb.search("когда вернут деньги?")
    assert (russian.lang, russian.hits[0].id) == ("ru", "refund-time")
    english = new_kb.search("how much is shipping")
    assert (english.lang, english.hits[0].id) == ("en", "delivery-cost-ru")


@pytest.mark.parametrize(
    "text",
    ["what's the weather in Paris tomorrow", "расскажи анекдот про программиста", "asdkjh qwpoe"],
)
def test_unrelated_questions_fall_back_instead_of_guessing(demo_kb, text):
    assert demo_kb.search(text).decision == "fallback"


def test_scores_are_ranked_confidences(demo_kb):
    hits = demo_kb.search("как оплатить заказ").hits
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert len({h.id for h in hits}) == len(hits)


def test_empty_and_overlong_queries_are_rejected(demo_kb, settings):
    with pytest.raises(QueryError, match="empty"):
        demo_kb.search("   ")
    with pytest.raises(QueryError, match="limit is 2000"):
        demo_kb.search("a" * (settings.max_query_chars + 1))


def test_unknown_language_is_still_searched(demo_kb):
    result = demo_kb.search("我的订单在哪里")  # "where is my order" in Chinese
    assert result.lang == "unknown"
    assert result.hits[0].id.startswith("order-status")


def test_batch_keeps_order_and_reports_bad_lines(demo_kb):
    results = demo_kb.search_many(["where is my order", "", "когда вернут деньги"])
    assert [r.text for r in results] == ["where is my order", "", "когда вернут деньги"]
    assert results[1].decision == "fallback" and results[1].error
    assert results[0].hits[0].id == "order-status-en"
