"""The `helpdesk kb` and `helpdesk users` commands, run as a customer would run them."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.databases import database_env, open_database_at, stored_bytes
from tests.factories import article, write_jsonl

HELPDESK = str(Path(sys.executable).parent / "helpdesk")


def helpdesk(*args: str, db: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [HELPDESK, *args, "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ | database_env(db),
    )


@pytest.fixture(scope="module")
def imported(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    records = [
        article(
            "refund",
            question="When do I get my refund?",
            phrasings=["refund status", "where is my money back", "how long does a refund take"],
        ),
        article(
            "hours",
            question="What are your opening hours?",
            phrasings=["when are you open", "opening times", "are you open on sunday"],
        ),
    ]
    db = folder / "kb.db"
    result = helpdesk("kb", "import", str(write_jsonl(folder / "kb.jsonl", records)), db=db)
    assert result.returncode == 0, result.stderr
    assert "2 articles read, 2 new or changed" in result.stdout
    assert "phrasing/s" in result.stderr  # the progress bar with its rate
    return db


def test_batch_search_prints_one_line_per_input_in_order(imported, tmp_path):
    batch = write_jsonl(
        tmp_path / "q.jsonl", [{"text": "когда вернут деньги"}, {"text": "are you open sunday"}]
    )
    result = helpdesk("kb", "search", "--batch", str(batch), "--json", db=imported)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["text"] for line in lines] == ["когда вернут деньги", "are you open sunday"]
    assert [line["lang"] for line in lines] == ["ru", "en"]
    assert [line["hits"][0]["id"] for line in lines] == ["refund", "hours"]
    for line in lines:
        assert line["decision"] in {"answer", "clarify", "fallback"}
        assert {"id", "score"} <= set(line["hits"][0])


def test_empty_query_exits_2_with_a_clear_message(imported):
    result = helpdesk("kb", "search", "  ", db=imported)
    assert result.returncode == 2
    assert "empty" in result.stderr


def test_bad_import_exits_nonzero_names_the_line_and_writes_nothing(imported, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(article("new-one")) + "\n" + '{"id": "x", "lang": "en"}\n')
    result = helpdesk("kb", "import", str(bad), db=imported)
    assert result.returncode == 1
    assert f"{bad}:2: question: Field required" in result.stderr
    assert "nothing was imported" in result.stderr
    search = helpdesk("kb", "search", "Question new-one?", "--json", db=imported)
    assert "new-one" not in [hit["id"] for hit in json.loads(search.stdout)["hits"]]


def test_eval_prints_figures_per_language(imported, tmp_path):
    cases = write_jsonl(
        tmp_path / "eval.jsonl",
        [
            {"text": "where is my refund", "expected": "refund"},
            {"text": "во сколько вы открываетесь", "expected": "hours"},
            {"text": "what is the capital of France", "expected": None},
        ],
    )
    result = helpdesk("kb", "eval", str(cases), "--json", db=imported)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert set(figures) == {"all", "en", "ru"}
    assert figures["all"]["queries"] == 3 and figures["all"]["top1"] == 1.0
    assert figures["en"]["out_of_scope"] == 1


def test_users_add_list_disable(tmp_path):
    db = tmp_path / "helpdesk.db"
    added = subprocess.run(
        [HELPDESK, "users", "add", "anna", "--role", "manager", "--name", "Anna K",
         "--languages", "ru", "--tags", "warranty,repair", "--db", str(db)],
        input="s3cret-pass\ns3cret-pass\n", capture_output=True, text=True, timeout=60,
        env=os.environ | database_env(db),
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    again = helpdesk("users", "add", "anna", "--password", "s3cret-pass", db=db)
    assert again.returncode == 1 and "already" in again.stderr
    short = helpdesk("users", "add", "bob", "--password", "short", db=db)
    assert short.returncode == 2 and "8 characters" in short.stderr
    listed = [
        json.loads(line)
        for line in helpdesk("users", "list", "--json", db=db).stdout.split("\n")
        if line
    ]
    assert [(u["username"], u["role"], u["display_name"]) for u in listed] == [
        ("anna", "manager", "Anna K")
    ]
    assert listed[0]["languages"] == ["ru"] and listed[0]["tags"] == ["warranty", "repair"]
    from escalation import SqlAgents

    agents = SqlAgents(open_database_at(db))
    assert agents.authenticate("anna", "s3cret-pass") is not None
    assert b"s3cret-pass" not in stored_bytes(db)  # only the hash is stored
    assert helpdesk("users", "disable", "anna", db=db).returncode == 0
    assert agents.authenticate("anna", "s3cret-pass") is None
    assert helpdesk("users", "disable", "nobody", db=db).returncode == 1
