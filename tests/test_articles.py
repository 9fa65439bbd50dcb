"""Articles saved one at a time (the console's editor): the importer's checks and embedding,
searchable at once in either language, here and in another process's knowledge base."""

import pytest

from knowledge import ArticleExists, ArticleNotFound, InvalidArticle, KnowledgeBase

PARKING = {
    "lang": "en",
    "question": "Is there parking near your service centres?",
    "answer": "Yes: every service centre has free parking for customers.",
    "phrasings": ["where can I park my car", "free parking"],
}
PETS = {
    "lang": "ru",
    "question": "Можно ли прийти в магазин с собакой?",
    "answer": "Да, с питомцами в наши магазины можно.",
    "phrasings": ["пускаете с животными", "можно с питомцем"],
}


def test_a_new_english_article_answers_a_russian_paraphrase_at_once(demo_copy):
    saved = demo_copy.create_article(PARKING)
    assert saved["id"] == "is-there-parking-near-your-service-centres-en"
    result = demo_copy.search("где можно припарковать машину рядом с вами?")
    assert (result.lang, result.hits[0].id) == ("ru", saved["id"])


def test_a_new_russian_article_answers_an_english_paraphrase_at_once(demo_copy):
    saved = demo_copy.create_article(PETS)
    assert saved["id"] == "mozhno-li-prijti-v-magazin-s-sobakoj-ru"  # Latin letters for links
    result = demo_copy.search("Can I bring my dog to your shop?")
    assert (result.lang, result.hits[0].id) == ("en", saved["id"])


def test_another_process_searching_the_same_file_sees_the_article_without_a_restart(
    demo_copy, settings
):
    elsewhere = KnowledgeBase.open(demo_copy.path, settings)  # as the API's own would be
    before = elsewhere.search("where can I park my car")  # its search is built from the file
    assert "parking" not in [hit.id for hit in before.hits]
    demo_copy.create_article(PARKING | {"id": "parking"})
    assert elsewhere.search("where can I park my car").hits[0].id == "parking"


def test_an_edit_replaces_the_old_phrasings_and_their_vectors(demo_copy):
    demo_copy.create_article(PARKING | {"id": "visit"})
    old_question = "есть ли парковка у сервисного центра"
    assert demo_copy.search(old_question).hits[0].id == "visit"
    edited = demo_copy.update_article("visit", PETS)
    assert (edited["lang"], edited["question"]) == ("ru", PETS["question"])
    assert edited["phrasings"] == PETS["phrasings"]
    texts = demo_copy.store.phrasing_rows(demo_copy.encoder.dimension).texts
    assert PARKING["question"] not in texts and "free parking" not in texts
    assert demo_copy.search("Can I bring my dog to your shop?").hits[0].id == "visit"
    assert demo_copy.search(old_question).hits[0].id != "visit"


def test_invalid_articles_say_what_to_fix_by_field_and_write_nothing(demo_copy):
    revision, count = demo_copy.store.revision, demo_copy.count()
    record = {
        "id": "two words",
        "lang": "de",
        "question": " ",
        "answer": "x" * 20_001,
        "phrasings": ["fine", "  "],
        "colour": "red",
    }
    with pytest.raises(InvalidArticle) as raised:
        demo_copy.create_article(record)
    problems = {p.field: p for p in raised.value.problems}
    assert set(problems) == {"id", "lang", "question", "answer", "phrasings", "colour"}
    assert problems["id"].kind == "spaces"
    assert problems["lang"].message == "Input should be 'ru' or 'en'"
    assert problems["question"].kind == "string_too_short"
    assert (problems["answer"].kind, problems["answer"].limit) == ("string_too_long", 20_000)
    assert problems["phrasings"].kind == "blank_item"
    assert problems["colour"].kind == "extra_forbidden"
    with pytest.raises(InvalidArticle, match="sms_answer"):
        demo_copy.update_article("order-status-en", PARKING | {"sms_answer": "x" * 1601})
    assert (demo_copy.store.revision, demo_copy.count()) == (revision, count)


def test_ids_are_unique_and_edits_need_an_existing_article(demo_copy):
    with pytest.raises(ArticleExists):
        demo_copy.create_article(PARKING | {"id": "order-status-en"})
    assert demo_copy.article("order-status-en")["question"].startswith("Where is my order")
    with pytest.raises(ArticleNotFound):
        demo_copy.update_article("no-such-article", PARKING)
    first = demo_copy.create_article(PARKING)
    second = demo_copy.create_article(PARKING | {"answer": "Another answer."})
    assert second["id"] == f"{first['id']}-2"


def test_the_list_filters_in_any_case_and_script_and_pages_latest_first(demo_copy):
    demo_copy.create_article(PETS)
    everything = demo_copy.articles()
    assert everything.total == demo_copy.count() and len(everything.articles) == 50
    assert everything.articles[0]["question"] == PETS["question"]
    by_phrasing = demo_copy.articles("ПИТОМЦЕМ")  # a phrasing, in another case
    assert [a["id"] for a in by_phrasing.articles] == ["mozhno-li-prijti-v-magazin-s-sobakoj-ru"]
    warranty = demo_copy.articles("warranty")
    second_page = demo_copy.articles("warranty", offset=2, limit=2)
    assert warranty.total == second_page.total >= 4
    assert second_page.articles == warranty.articles[2:4]
    assert demo_copy.articles("nothing like this anywhere").total == 0
