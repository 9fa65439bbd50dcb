"""Import is atomic and idempotent, and embeds only what changed."""

import pytest

from knowledge import ImportProblems
from tests.factories import article, write_jsonl


def _base(tmp_path, records):
    return write_jsonl(tmp_path / "kb.jsonl", records)


def test_reimport_writes_nothing_new_and_embeds_nothing(new_kb, tmp_path):
    records = [
        article("a", phrasings=["how to return an item", "send it back"]),
        article("b", phrasings=["where is my parcel", "delivery status"]),
    ]
    first = new_kb.import_paths([_base(tmp_path, records)], progress=False)
    assert (first.read, first.changed, first.embedded) == (2, 2, 6)
    again = new_kb.import_paths([_base(tmp_path, records)], progress=False)
    assert (again.read, again.changed, again.embedded) == (2, 0, 0)


def test_a_changed_article_is_rewritten_and_only_its_new_text_embedded(new_kb, tmp_path):
    records = [
        article("a", phrasings=["how to return an item"]),
        article("b", phrasings=["parcel"]),
    ]
    new_kb.import_paths([_base(tmp_path, records)], progress=False)
    records[0]["phrasings"].append("can I give it back")
    records[0]["answer"] = "New answer."
    report = new_kb.import_paths([_base(tmp_path, records)], progress=False)
    assert (report.changed, report.embedded) == (1, 1)
    stored = new_kb.article("a")
    assert stored["answer"] == "New answer."
    assert stored["phrasings"] == ["how to return an item", "can I give it back"]
    assert new_kb.search("can I give it back").hits[0].id == "a"


def test_a_bad_record_anywhere_writes_nothing(new_kb, tmp_path):
    good = article("a", phrasings=["how to return an item"])
    new_kb.import_paths([_base(tmp_path, [good])], progress=False)
    revision = new_kb.store.revision
    changed = good | {"answer": "Changed."}
    bad = tmp_path / "more.jsonl"
    bad.write_text('{"id": "z", "lang": "en", "question": "", "answer": "A"}\n')
    with pytest.raises(ImportProblems):
        new_kb.import_paths([_base(tmp_path, [changed]), bad], progress=False)
    assert new_kb.article("a")["answer"] == "Answer a."
    assert new_kb.article("z") is None
    assert new_kb.store.revision == revision


def test_a_failure_while_writing_rolls_everything_back(new_kb, tmp_path, monkeypatch):
    new_kb.import_paths([_base(tmp_path, [article("a")])], progress=False)

    def broken_training(rows):
        raise RuntimeError("disk full")

    monkeypatch.setattr("knowledge.importer.train_search_model", broken_training)
    with pytest.raises(RuntimeError):
        new_kb.import_paths(
            [_base(tmp_path, [article("a", answer="Changed."), article("b")])], progress=False
        )
    assert new_kb.article("a")["answer"] == "Answer a."
    assert new_kb.article("b") is None
    assert new_kb.count() == 1


def test_progress_bar_shows_a_rate(new_kb, tmp_path, capsys):
    new_kb.import_paths([_base(tmp_path, [article("a", phrasings=["x y z"])])], progress=True)
    assert "phrasing/s" in capsys.readouterr().err


def test_unpublished_articles_are_stored_but_never_found(new_kb, tmp_path):
    records = [
        article("hidden", question="How do I reset my password?", published=False),
        article("shown", question="What are your opening hours?"),
    ]
    new_kb.import_paths([_base(tmp_path, records)], progress=False)
    assert new_kb.article("hidden")["published"] is False
    assert all(h.id != "hidden" for h in new_kb.search("reset my password").hits)
