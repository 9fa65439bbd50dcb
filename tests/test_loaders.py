"""Reading articles from JSON Lines, CSV and Markdown, and reporting bad records precisely."""

import pytest

from knowledge import ImportProblems
from knowledge.loaders import load_articles
from tests.factories import article, write_jsonl


def test_jsonl_accepts_the_documented_shape(tmp_path):
    path = write_jsonl(
        tmp_path / "kb.jsonl",
        [
            {
                "id": "a1",
                "lang": "en",
                "question": "Where?",
                "answer": "Here.",
                "phrasings": ["where", "location"],
            }
        ],
    )
    [loaded] = load_articles([path])
    assert loaded.id == "a1" and loaded.group == "a1" and loaded.published
    assert loaded.texts == ["Where?", "where", "location"]


def test_every_bad_record_is_named_by_file_and_line(tmp_path):
    path = tmp_path / "kb.jsonl"
    path.write_text(
        '{"id": "ok", "lang": "en", "question": "Q?", "answer": "A."}\n'
        "{not json\n"
        '{"id": "x", "lang": "de", "question": "Q?", "answer": "A."}\n'
        '{"id": "ok", "lang": "en", "question": "Q?", "answer": "A."}\n'
        '{"id": "y", "lang": "en", "question": "Q?", "answer": "A.", "phrasing": ["typo"]}\n'
    )
    with pytest.raises(ImportProblems) as raised:
        load_articles([path])
    problems = raised.value.problems
    assert [p.split(": ")[0] for p in problems] == [f"{path}:{n}" for n in (2, 3, 4, 5)]
    assert "not valid JSON" in problems[0]
    assert "lang" in problems[1]
    assert "duplicate id 'ok'" in problems[2]
    assert "phrasing" in problems[3] and "not permitted" in problems[3]


def test_missing_answer_and_blank_phrasing_are_errors(tmp_path):
    path = write_jsonl(
        tmp_path / "kb.jsonl",
        [{"id": "a", "lang": "en", "question": "Q?"}, article("b", phrasings=["ok", "  "])],
    )
    with pytest.raises(ImportProblems) as raised:
        load_articles([path])
    assert raised.value.problems[0].startswith(f"{path}:1: answer")
    assert raised.value.problems[1].startswith(f"{path}:2: phrasings")


def test_csv_splits_lists_and_reports_the_line(tmp_path):
    path = tmp_path / "kb.csv"
    path.write_text(
        "id,lang,question,answer,phrasings,tags,group\n"
        'ret-en,en,How do I return?,"Use **Returns**.",send back|refund item,returns,ret\n'
        "ret-ru,ru,Как вернуть?,Через «Возвраты».,вернуть товар|возврат,returns,ret\n"
        "bad,xx,Q,A,,,\n"
    )
    with pytest.raises(ImportProblems) as raised:
        load_articles([path])
    assert raised.value.problems == [f"{path}:4: lang: Input should be 'ru' or 'en'"]
    path.write_text(path.read_text().rsplit("bad,", 1)[0])
    english, russian = load_articles([path])
    assert english.phrasings == ["send back", "refund item"] and english.tags == ["returns"]
    assert english.group == russian.group == "ret"


def test_markdown_folder_with_front_matter(tmp_path):
    (tmp_path / "faq").mkdir()
    (tmp_path / "faq" / "hours.md").write_text(
        "---\nid: hours-en\nlang: en\nquestion: When are you open?\nphrasings:\n  - opening hours\n"
        "tags: [hours]\nupdated_at: 2026-01-02T10:00:00Z\n---\nMon–Fri **9–20**.\n"
    )
    (tmp_path / "faq" / "broken.md").write_text("---\nid: [unclosed\n---\nbody\n")
    with pytest.raises(ImportProblems) as raised:
        load_articles([tmp_path / "faq"])
    assert raised.value.problems[0].startswith(f"{tmp_path / 'faq' / 'broken.md'}:1: front matter")
    (tmp_path / "faq" / "broken.md").unlink()
    [hours] = load_articles([tmp_path / "faq"])
    assert hours.answer == "Mon–Fri **9–20**." and hours.phrasings == ["opening hours"]
    assert hours.updated_at.year == 2026


def test_missing_path_and_empty_input(tmp_path):
    with pytest.raises(ImportProblems, match="no such file"):
        load_articles([tmp_path / "absent.jsonl"])
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(ImportProblems, match="no articles found"):
        load_articles([tmp_path / "empty.jsonl"])
