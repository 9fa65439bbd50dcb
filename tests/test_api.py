"""The knowledge-base HTTP API, served by a real server on loopback."""

import os
import subprocess

import httpx
import pytest

from tests.databases import database_env
from tests.factories import article, write_jsonl
from tests.servers import BIN, free_port, start_api, stop


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    folder = tmp_path_factory.mktemp("api")
    db = folder / "kb.db"
    records = [
        article(
            "hours-en",
            group="hours",
            question="What are your opening hours?",
            answer="Mon-Fri **9-20**.",
            phrasings=["when are you open", "opening times"],
        ),
        article(
            "hours-ru",
            "ru",
            group="hours",
            question="Когда вы работаете?",
            answer="Пн-Пт **9-20**.",
            phrasings=["часы работы", "во сколько открываетесь"],
        ),
    ]
    source = write_jsonl(folder / "kb.jsonl", records)
    command = [BIN / "helpdesk", "kb", "import", source, "--db", db]
    subprocess.run(command, check=True, capture_output=True)
    port = free_port()
    server = start_api(port, os.environ | database_env(db), folder / "api.log")
    base = f"http://127.0.0.1:{port}"
    yield httpx.Client(base_url=base, timeout=10)
    stop(server)


def test_search_returns_the_cli_shape(api):
    response = api.get("/api/kb/search", params={"q": "во сколько вы открываетесь"})
    assert response.status_code == 200
    body = response.json()
    assert body["lang"] == "ru" and body["decision"] in {"answer", "clarify"}
    assert body["hits"][0]["id"] == "hours-ru"


def test_search_rejects_empty_and_overlong_queries(api):
    assert api.get("/api/kb/search", params={"q": " "}).status_code == 422
    assert api.get("/api/kb/search").status_code == 422
    long = api.get("/api/kb/search", params={"q": "a" * 2001})
    assert long.status_code == 422 and "2000" in long.json()["detail"]


def test_article_by_id(api):
    body = api.get("/api/kb/articles/hours-en").json()
    assert body["answer"] == "Mon-Fri **9-20**." and body["group"] == "hours"
    assert body["phrasings"] == ["when are you open", "opening times"]
    assert api.get("/api/kb/articles/nope").status_code == 404
