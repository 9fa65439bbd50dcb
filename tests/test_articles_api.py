"""Managers edit the knowledge base over HTTP, on a real API process with a copy of the demo
base: roles, create, read, update, list, clear 422s, 404 and 409, the audit log, and the bot's
own search path (``/api/kb/search``, which the action server calls) finding the new article."""

import os

import httpx
import pytest

from escalation import Role, SqlAgents
from tests.databases import database_env, open_database_at
from tests.factories import copy_database
from tests.servers import free_port, start_api, stop

PASSWORD = "correct horse battery"
PARKING = {
    "lang": "en",
    "question": "Is there parking near your service centres?",
    "answer": "Yes: every service centre has free parking for customers.",
    "phrasings": ["where can I park my car", "free parking"],
    "tags": ["locations"],
}


@pytest.fixture(scope="module")
def server(tmp_path_factory, demo_kb):
    folder = tmp_path_factory.mktemp("articles-api")
    db = copy_database(demo_kb.path, folder / "helpdesk.db")
    agents = SqlAgents(open_database_at(db))
    agents.add("anna", PASSWORD, display_name="Anna")
    agents.add("mia", PASSWORD, Role.MANAGER, display_name="Mia")
    port = free_port()
    env = os.environ | {
        **database_env(db),
        "HELPDESK_COOKIE_SECURE": "false",  # plain http on loopback in tests
        "HELPDESK_RASA_PORT": str(free_port()),  # nothing listens: no bot needed here
    }
    process = start_api(port, env, folder / "api.log")
    yield f"http://127.0.0.1:{port}"
    stop(process)


class Console:
    """A signed-in browser session: cookie, and the CSRF header on every change."""

    def __init__(self, url: str, username: str):
        self.http = httpx.Client(base_url=url, timeout=60)
        response = self.http.post(
            "/api/auth/login", json={"username": username, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        self.agent = response.json()["agent"]

    def send(self, method: str, path: str, body: dict) -> httpx.Response:
        headers = {"X-CSRF-Token": self.http.cookies["helpdesk_csrf"]}
        return self.http.request(method, path, json=body, headers=headers)


@pytest.fixture(scope="module")
def mia(server) -> Console:
    return Console(server, "mia")


def problems(response: httpx.Response) -> dict[str, dict]:
    assert response.status_code == 422, response.text
    return {".".join(map(str, p["loc"][1:])): p for p in response.json()["detail"]}


def test_agents_and_strangers_cannot_read_or_change_articles(server):
    anna = Console(server, "anna")
    assert anna.http.get("/api/manager/articles").status_code == 403
    assert anna.http.get("/api/manager/articles/order-status-en").status_code == 403
    assert anna.send("POST", "/api/manager/articles", PARKING).status_code == 403
    assert anna.send("PUT", "/api/manager/articles/order-status-en", PARKING).status_code == 403
    assert httpx.get(f"{server}/api/manager/articles").status_code == 401
    no_csrf = Console(server, "mia").http.post("/api/manager/articles", json=PARKING)
    assert no_csrf.status_code == 403


def test_a_manager_creates_an_article_that_search_finds_in_russian_at_once(server, mia):
    created = mia.send("POST", "/api/manager/articles", PARKING)
    assert created.status_code == 201, created.text
    article = created.json()
    assert article["id"] == "is-there-parking-near-your-service-centres-en"
    assert article["phrasings"] == PARKING["phrasings"] and article["published"] is True
    assert mia.http.get(f"/api/manager/articles/{article['id']}").json() == article
    found = httpx.get(f"{server}/api/kb/search", params={"q": "где припарковать машину?"}).json()
    assert found["hits"][0]["id"] == article["id"]
    [entry] = [e for e in mia.http.get("/api/manager/audit").json() if e["target"] == article["id"]]
    assert (entry["actor"], entry["action"]) == ("mia", "article_created")
    assert entry["data"] == {"lang": "en", "question": PARKING["question"]}


def test_an_edit_replaces_the_article_and_is_audited(server, mia):
    mia.send("POST", "/api/manager/articles", PARKING | {"id": "pets-en"})
    pets = {
        "lang": "en",
        "question": "Can I bring my dog into your shops?",
        "answer": "Yes, pets are welcome.",
        "phrasings": ["are pets allowed", "dogs in the store"],
    }
    edited = mia.send("PUT", "/api/manager/articles/pets-en", pets)
    assert edited.status_code == 200, edited.text
    assert edited.json()["question"] == pets["question"] and edited.json()["tags"] == []
    found = httpx.get(f"{server}/api/kb/search", params={"q": "можно прийти с собакой?"}).json()
    assert found["hits"][0]["id"] == "pets-en"
    entry = mia.http.get("/api/manager/audit").json()[0]
    assert (entry["action"], entry["target"]) == ("article_edited", "pets-en")
    assert entry["data"]["changed"] == ["answer", "phrasings", "question", "tags"]


def test_the_list_filters_and_pages(server, mia):
    mia.send("POST", "/api/manager/articles", PARKING | {"id": "parking-listed"})
    listed = mia.http.get("/api/manager/articles", params={"q": "PARK MY CAR", "limit": 1}).json()
    assert listed["total"] >= 1 and listed["limit"] == 1
    assert listed["articles"][0]["id"] == "parking-listed"  # the latest changed first
    assert set(listed["articles"][0]) == {
        "id", "lang", "group", "question", "tags", "published", "updated_at"
    }  # fmt: skip
    everything = mia.http.get("/api/manager/articles", params={"offset": 100, "limit": 200})
    assert everything.json()["total"] >= 128 and len(everything.json()["articles"]) >= 28
    assert mia.http.get("/api/manager/articles", params={"limit": 0}).status_code == 422


def test_invalid_input_gets_a_422_naming_each_field(server, mia):
    record = PARKING | {
        "lang": "de",
        "question": "",
        "phrasings": ["fine", " "],
        "sms_answer": "x" * 1601,
        "colour": "red",
    }
    found = problems(mia.send("POST", "/api/manager/articles", record))
    assert set(found) == {"lang", "question", "phrasings", "sms_answer", "colour"}
    assert found["lang"]["msg"] == "Input should be 'ru' or 'en'"
    assert found["phrasings"]["type"] == "blank_item"
    assert (found["sms_answer"]["type"], found["sms_answer"]["limit"]) == ("string_too_long", 1600)
    too_long = problems(
        mia.send(
            "PUT", "/api/manager/articles/order-status-en", PARKING | {"phrasings": ["x" * 1001]}
        )
    )
    assert too_long["phrasings.0"]["limit"] == 1000
    renamed = mia.send("PUT", "/api/manager/articles/order-status-en", PARKING | {"id": "other"})
    assert problems(renamed)["id"]["type"] == "id_changed"
    assert problems(mia.send("POST", "/api/manager/articles", ["not", "an", "object"]))
    unchanged = mia.http.get("/api/manager/articles/order-status-en").json()
    assert unchanged["question"].startswith("Where is my order")


def test_unknown_articles_are_404_and_a_taken_id_is_409(server, mia):
    assert mia.http.get("/api/manager/articles/no-such-article").status_code == 404
    assert mia.send("PUT", "/api/manager/articles/no-such-article", PARKING).status_code == 404
    taken = mia.send("POST", "/api/manager/articles", PARKING | {"id": "order-status-en"})
    assert taken.status_code == 409 and "order-status-en" in taken.json()["detail"]
