"""Customers' personal data (docs/privacy.md) on real SQLite files through the real stores and
desk: the export holds everything about one customer and nothing of another; erasure and
retention leave none of the removed words in the database's bytes; the KPIs keep what they
should. Then the CLI in-process, and the admin API on a real service with Rasa, whose trackers
are emptied too."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from analytics.kpis import compute
from channels.sms_store import SqlSmsStore
from escalation import (
    Agent,
    Desk,
    LiveEvents,
    NotFound,
    Role,
    Sender,
    SqlAgents,
    SqlCasework,
    SqlConversationStore,
    State,
)
from escalation.database import Database
from helpdesk import cli
from helpdesk.settings import Settings
from privacy import (
    EXPORT_VERSION,
    ActiveConversations,
    Actor,
    Privacy,
    RasaApiTrackers,
    RetentionOff,
)
from tests.clients import Customer
from tests.databases import database_env, open_database_at, stored_bytes
from tests.servers import Service, free_port

ZOE_PHONE, OLEG_PHONE = "+79990001122", "+79995556677"
ZOE_NAME = "Zinaida Quokkova"
# Words only Zoe said or had said about her, one per place they are kept.
ZOE_WORDS = {
    "web message": "umbrella-7f3a9 never came",
    "sms message": "sms-text-zoe-44c1 still waiting",
    "bot's record of her question": "query-zoe-b18e where is it",
    "feedback comment": "comment-zoe-91b2 slow",
    "internal note": "note-zoe-6d0f she is upset",
    "text to her phone": "reply-by-sms-zoe-2a7c on its way",
}
OLEG_WORDS = ["other-text-oleg-55d3", "other-reply-oleg-8e1a", "other-comment-oleg-0c9b"]
PASSWORD = "correct horse battery"
ADMIN = Actor(None, "test")
TIMESTAMPS = {  # every column that holds a moment, per table: what ``age`` moves back
    "conversations": [
        "created_at", "updated_at", "queued_at", "first_response_due", "first_response_at",
        "resolution_due", "resolved_at", "first_assigned_at",
    ],
    "messages": ["created_at"],
    "events": ["created_at"],
    "feedback": ["created_at"],
    "notes": ["created_at"],
    "sms_deliveries": ["created_at", "updated_at", "next_attempt_at"],
}  # fmt: skip


class HelpDesk:
    """A help desk on a real SQLite file, worked through the real stores and desk."""

    def __init__(self, path: Path, settings: Settings):
        self.path = path
        self.database = open_database_at(path)
        self.store = SqlConversationStore(self.database)
        self.sms = SqlSmsStore(self.database)
        self.agents = SqlAgents(self.database)
        self.desk = Desk(
            self.store, self.agents, SqlCasework(self.database), LiveEvents(), settings
        )
        self.anna = self.agents.add("anna", PASSWORD, display_name="Anna")
        self.bob = self.agents.add("bob", PASSWORD, display_name="Bob")
        self.privacy = Privacy(
            self.database, settings, RasaApiTrackers([f"http://127.0.0.1:{free_port()}"])
        )

    def web_case(self, words: str, agent: Agent, reply: str, comment: str, note: str | None = None):
        """A web customer's question, handed to a person who answers and resolves it; rated."""
        conversation, _ = self.store.create_conversation("web", "en")
        self.store.add_message(conversation.id, Sender.CUSTOMER, words)
        handoff = {"reason": "customer_asked", "language": "en", "customer_words": [words],
                   "intents": [{"text": words, "intent": "request_human"}]}  # fmt: skip
        self.desk.enqueue(self.store.get(conversation.id), handoff, "queued")
        self.desk.claim(agent, conversation.id)
        self.desk.reply(agent, conversation.id, reply, None)
        if note:
            self.desk.note(agent, conversation.id, note)
        self.desk.resolve(agent, conversation.id, "solved")
        self.store.add_feedback(conversation.id, 5, 4, comment)
        return self.store.get(conversation.id)

    def sms_case(self, customer_id: str, phone: str, words: str, reply: str):
        """A conversation by SMS that the bot resolved; its reply texted, rated by text."""
        conversation, _ = self.store.create_conversation("sms", "en", customer_id)
        self.store.add_message(
            conversation.id, Sender.CUSTOMER, words, client_message_id=f"SM{phone[1:]}",
            channel="sms",
        )  # fmt: skip
        sent, _ = self.store.add_message(conversation.id, Sender.BOT, reply, channel="sms")
        self.sms.add(phone, [reply], message_id=sent.id, conversation_id=conversation.id)
        self.store.transition(
            conversation.id, State.RESOLVED, {"by": "bot", "how": "confirmed"},
            {"resolved_at": datetime.now(UTC), "resolution_code": "bot"},
        )  # fmt: skip
        self.store.add_rating(conversation.id, "csat", 4)
        return self.store.get(conversation.id)

    def age(self, conversation_id: str, days: int) -> None:
        age(self.database, conversation_id, days)

    def raw(self) -> bytes:
        return stored_bytes(self.path)


def age(database: Database, conversation_id: str, days: int) -> None:
    """Everything of the conversation happened ``days`` earlier."""
    with database.write() as conn:
        for table, columns in TIMESTAMPS.items():
            key = "id" if table == "conversations" else "conversation_id"
            row = "conversation_id" if table == "feedback" else "id"
            for column in columns:
                for row_id, value in conn.execute(
                    f"select {row}, {column} from {table} where {key} = ? and {column} is not null",
                    [conversation_id],
                ).fetchall():
                    moved = datetime.fromisoformat(value) - timedelta(days=days)
                    conn.execute(
                        f"update {table} set {column} = ? where {row} = ?",
                        [moved.isoformat(), row_id],
                    )


@pytest.fixture
def desk(tmp_path) -> HelpDesk:
    """Zoe: first a texter (an SMS case, a keyword answer, an opt-out), then on the web (her
    words, the bot's record of her question, a note, a comment), where she proves the same
    phone with a code: the texter is merged into her. Oleg: a web case with Bob and one by SMS."""
    d = HelpDesk(tmp_path / "helpdesk.db", Settings(retention_days=30))
    texter = d.store.customer_by_phone(ZOE_PHONE, create=True)
    d.sms_case(texter, ZOE_PHONE, ZOE_WORDS["sms message"], ZOE_WORDS["text to her phone"])
    d.sms.add(ZOE_PHONE, ["You have unsubscribed"], reply_to="SMkeyword1")
    d.sms.opt_out(ZOE_PHONE)
    web = d.web_case(ZOE_WORDS["web message"], d.anna, "We are on it, Zinaida",
                     ZOE_WORDS["feedback comment"], ZOE_WORDS["internal note"])  # fmt: skip
    outcome = {"query": ZOE_WORDS["bot's record of her question"], "decision": "answer",
               "article_id": "a1", "reaction": "did_not_help"}  # fmt: skip
    d.store.annotate(web.id, {}, "bot_outcome", outcome)
    d.store.update_customer(web.customer_id, {"name": ZOE_NAME})
    d.sms.new_code(web.id, ZOE_PHONE, "0" * 64, 600)
    d.store.link_phone(web.customer_id, ZOE_PHONE)
    d.zoe, d.texter = web.customer_id, texter
    oleg = d.web_case(OLEG_WORDS[0], d.bob, OLEG_WORDS[1], OLEG_WORDS[2])
    d.store.link_phone(oleg.customer_id, OLEG_PHONE)
    d.sms_case(oleg.customer_id, OLEG_PHONE, "oleg by sms", "oleg's answer by sms")
    d.oleg = oleg.customer_id
    return d


def kpis(d: HelpDesk, **filters: str) -> dict:
    today = datetime.now(UTC).date()
    settings = Settings(timezone="UTC")
    return compute(d.database, today - timedelta(days=100), today + timedelta(days=1), settings,
                   filters=filters)["overall"]  # fmt: skip


# -- export ------------------------------------------------------------------------------------
def test_the_export_holds_everything_about_the_customer_and_nothing_of_another(desk):
    document = desk.privacy.export(desk.zoe, ADMIN)
    text = json.dumps(document, ensure_ascii=False)
    assert document["version"] == EXPORT_VERSION and document["customer"]["id"] == desk.zoe
    assert document["customer"]["metadata"]["name"] == ZOE_NAME
    assert document["phones"] == [ZOE_PHONE] and document["customer"]["phone"] == ZOE_PHONE
    for where, words in ZOE_WORDS.items():
        assert words in text, where
    by_sms, web = document["conversations"]  # oldest first
    [merged] = document["merged_customers"]
    assert merged["id"] == desk.texter and merged["metadata"] == {"merged_into": desk.zoe}
    assert {m["channel"] for m in web["messages"] + by_sms["messages"]} == {"web", "sms"}
    assert web["feedback"]["comment"] == ZOE_WORDS["feedback comment"]
    assert by_sms["feedback"]["csat"] == 4
    assert [t["body"] for t in by_sms["sms_texts"]] == [ZOE_WORDS["text to her phone"]]
    assert [c["phone"] for c in web["sms_codes"]] == [ZOE_PHONE]
    assert [t["body"] for t in document["sms"]["texts"]] == ["You have unsubscribed"]
    assert [o["phone"] for o in document["sms"]["opt_outs"]] == [ZOE_PHONE]
    assert "token_hash" not in text and "code_hash" not in text  # secrets stay
    for other in [*OLEG_WORDS, OLEG_PHONE, desk.oleg]:
        assert other not in text
    [entry] = [e for e in desk.agents.audit_log() if e["action"] == "customer_export"]
    assert entry["target"] == desk.zoe and ZOE_PHONE not in json.dumps(entry)


def test_a_customer_is_found_by_id_conversation_or_phone_as_typed(desk):
    conversation = desk.store.of_customer(desk.zoe)[0].id
    for key in (desk.zoe, conversation, "8 999 000-11-22", ZOE_PHONE):
        assert desk.privacy.find(key, ADMIN)["id"] == desk.zoe
    with pytest.raises(NotFound):
        desk.privacy.find("+79990000000", ADMIN)


# -- erasure -----------------------------------------------------------------------------------
def test_erasure_leaves_nothing_of_the_customer_in_the_database_files(desk):
    oleg_before = desk.privacy.export(desk.oleg, ADMIN)
    oleg_kpis = kpis(desk, agent=desk.bob.id)
    contacts = kpis(desk)["contacts"]
    assert ZOE_PHONE.encode() in desk.raw()

    result = desk.privacy.erase(desk.zoe, "ticket 4711", ADMIN)

    assert result["conversations"] == 2 and result["customers"] == 2 and result["checkpointed"]
    assert result["sms_texts"] == 2  # the reply to her phone, and the keyword answer
    raw = desk.raw()
    for where, words in ZOE_WORDS.items():
        assert words.encode() not in raw, where
    assert ZOE_PHONE.encode() not in raw and ZOE_NAME.encode() not in raw
    assert desk.zoe.encode() in raw  # as the audit entry's target: a random id, nothing else
    for gone in (ZOE_PHONE, desk.zoe, desk.texter):
        with pytest.raises(NotFound):
            desk.privacy.find(gone, ADMIN)
    assert not desk.sms.opted_out(ZOE_PHONE)
    oleg_after = desk.privacy.export(desk.oleg, ADMIN)
    assert {**oleg_after, "exported_at": None} == {**oleg_before, "exported_at": None}
    assert kpis(desk, agent=desk.bob.id) == oleg_kpis
    assert kpis(desk)["contacts"] == contacts - 2
    [entry] = [e for e in desk.agents.audit_log() if e["action"] == "customer_erasure"]
    assert entry["data"]["reason"] == "ticket 4711" and entry["data"]["conversations"] == 2


def test_erasure_waits_while_a_person_has_the_customer_unless_forced(desk):
    waiting, _ = desk.store.create_conversation("web", "en", desk.zoe)
    desk.store.add_message(waiting.id, Sender.CUSTOMER, "anyone there?")
    desk.desk.enqueue(waiting, {"reason": "customer_asked", "language": "en"}, "queued")
    with pytest.raises(ActiveConversations) as refused:
        desk.privacy.erase(desk.zoe, "ticket 4712", ADMIN)
    assert refused.value.conversations == [waiting.id]
    assert len(desk.store.of_customer(desk.zoe)) == 3  # nothing was erased
    result = desk.privacy.erase(desk.zoe, "ticket 4712", ADMIN, force=True)
    assert result["conversations"] == 3
    assert desk.agents.audit_log()[0]["data"]["forced"] is True


# -- retention ---------------------------------------------------------------------------------
def test_retention_anonymises_old_resolved_conversations_and_the_kpis_keep_their_values(desk):
    for conversation in desk.store.of_customer(desk.zoe):
        desk.age(conversation.id, 60)
    stale, _ = desk.store.create_conversation("web", "en")  # old, but still waiting: untouched
    desk.store.add_message(stale.id, Sender.CUSTOMER, "open-but-old-3e9d")
    desk.desk.enqueue(stale, {"reason": "customer_asked", "language": "en"}, "queued")
    desk.age(stale.id, 60)
    before = kpis(desk)

    result = desk.privacy.retention(ADMIN)

    assert (result["conversations"], result["customers"], result["sms_texts"]) == (2, 2, 1)
    assert kpis(desk) == before
    raw = desk.raw()
    for where, words in ZOE_WORDS.items():
        assert words.encode() not in raw, where
    assert ZOE_NAME.encode() not in raw
    assert b"open-but-old-3e9d" in raw and OLEG_WORDS[0].encode() in raw
    # Her number stays in one place only: the opt-out, which she gave and which must hold.
    assert desk.sms.opted_out(ZOE_PHONE) and desk.store.customer(desk.zoe)["phone"] is None
    web, by_sms = desk.store.of_customer(desk.zoe)  # newest first
    with pytest.raises(NotFound):  # the merged texter: nothing left to keep
        desk.store.customer(desk.texter)
    for conversation in (web, by_sms):  # the messages stay, with their times: words out
        assert {m.text for m in desk.store.messages(conversation.id)} == {""}
    assert desk.store.feedback(web.id) == {"csat": 5, "ces": 4, "comment": None}
    [outcome] = desk.store.events(web.id, "bot_outcome")
    assert outcome.data == {"decision": "answer", "article_id": "a1", "reaction": "did_not_help"}
    [queued] = [e for e in desk.store.events(web.id, "state") if e.data["to"] == "queued"]
    assert queued.data["handoff"] == {"reason": "customer_asked", "language": "en"}
    again = desk.privacy.retention(ADMIN)
    assert (again["conversations"], again["customers"], again["sms_texts"]) == (0, 0, 0)
    assert kpis(desk) == before
    entries = [e for e in desk.agents.audit_log() if e["action"] == "retention"]
    assert [e["data"]["conversations"] for e in entries] == [0, 2]
    assert entries[1]["actor"] == "system" and entries[1]["data"]["mode"] == "anonymise"


def test_retention_by_deletion_removes_old_conversations_and_their_customer(desk):
    desk.privacy.settings = Settings(retention_days=30, retention_mode="delete")
    for conversation in desk.store.of_customer(desk.zoe):
        desk.age(conversation.id, 60)
    with desk.database.write() as conn:  # the keyword answer, sent long ago too
        conn.execute("update sms_deliveries set created_at = '2020-01-01T00:00:00+00:00' "
                     "where reply_to = 'SMkeyword1'")  # fmt: skip
    oleg = kpis(desk, agent=desk.bob.id)
    preview = desk.privacy.retention(ADMIN, dry_run=True)
    assert (preview["conversations"], preview["sms_texts"]) == (2, 1)

    result = desk.privacy.retention(ADMIN)

    assert (result["conversations"], result["customers"], result["sms_texts"]) == (2, 2, 2)
    with pytest.raises(NotFound):
        desk.store.customer(desk.zoe)
    assert kpis(desk)["contacts"] == 2 and kpis(desk, agent=desk.bob.id) == oleg
    assert desk.privacy.retention(ADMIN)["conversations"] == 0


def test_retention_counts_from_the_last_activity_not_the_start(desk):
    assert desk.privacy.retention(ADMIN)["conversations"] == 0  # all of today
    web, by_sms = desk.store.of_customer(desk.zoe)
    for conversation in (web, by_sms):
        desk.age(conversation.id, 60)
    desk.store.add_message(web.id, Sender.SYSTEM, "late-word-0a4c")  # said today
    assert desk.privacy.retention(ADMIN)["conversations"] == 1
    assert desk.store.messages(by_sms.id)[0].text == ""
    assert desk.store.messages(web.id)[0].text == ZOE_WORDS["web message"]


def test_retention_is_off_until_a_period_is_set(desk):
    desk.privacy.settings = Settings()
    with pytest.raises(RetentionOff):
        desk.privacy.retention(ADMIN)


# -- the CLI -----------------------------------------------------------------------------------
@pytest.fixture
def runner(monkeypatch, tmp_path) -> CliRunner:
    for name, value in database_env(tmp_path / "helpdesk.db").items():  # the desk's database
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HELPDESK_RETENTION_DAYS", "30")
    monkeypatch.setenv("HELPDESK_RASA_PORT", str(free_port()))  # no bot: nothing to empty
    monkeypatch.setenv("HELPDESK_REDIS_URL", "")  # its trackers in that bot, not in Redis
    cli.get_settings.cache_clear()
    yield CliRunner()
    cli.get_settings.cache_clear()


def test_the_cli_exports_previews_retention_and_erases(desk, runner, tmp_path):
    out = tmp_path / "zoe.json"
    exported = runner.invoke(cli.app, ["privacy", "export", "+7 999 000 11 22", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    assert json.loads(out.read_text())["customer"]["id"] == desk.zoe
    assert out.stat().st_mode & 0o077 == 0  # the owner's alone

    for conversation in desk.store.of_customer(desk.oleg):
        desk.age(conversation.id, 60)
    preview = runner.invoke(cli.app, ["privacy", "retention", "--dry-run"])
    assert preview.exit_code == 0 and "2 conversation(s)" in preview.output
    assert OLEG_WORDS[0].encode() in desk.raw()

    unsure = runner.invoke(cli.app, ["privacy", "erase", desk.zoe, "--reason", "ticket 9"],
                           input="n\n")  # fmt: skip
    assert unsure.exit_code == 1 and desk.store.customer(desk.zoe)
    erased = runner.invoke(cli.app, ["privacy", "erase", desk.zoe, "--reason", "ticket 9", "--yes"])
    assert erased.exit_code == 0, erased.output
    assert "Erased 2 conversation(s)" in erased.output and "Rasa did not answer" in erased.output
    [entry] = [e for e in desk.agents.audit_log() if e["action"] == "customer_erasure"]
    assert entry["actor"] == "system" and entry["data"]["via"] == "cli" and entry["data"]["user"]
    missing = runner.invoke(cli.app, ["privacy", "export", desk.zoe])
    assert missing.exit_code == 1 and "no customer" in missing.output


# -- the admin API, with Rasa --------------------------------------------------------------------
@pytest.fixture(scope="module")
def service(tmp_path_factory):
    folder = tmp_path_factory.mktemp("privacy-service")
    agents = SqlAgents(open_database_at(folder / "helpdesk.db"))
    agents.add("anna", PASSWORD)
    agents.add("mia", PASSWORD, Role.MANAGER)
    agents.add("ada", PASSWORD, Role.ADMIN)
    running = Service(folder, HELPDESK_COOKIE_SECURE="false", HELPDESK_RETENTION_DAYS="30")
    running.start()
    yield running
    running.stop()


class Console:
    """A signed-in browser session: its cookie, and the CSRF header on every change."""

    def __init__(self, url: str, username: str):
        self.http = httpx.Client(base_url=url, timeout=60)
        signed_in = self.http.post(
            "/api/auth/login", json={"username": username, "password": PASSWORD}
        )
        assert signed_in.status_code == 200, signed_in.text
        self.csrf = {"X-CSRF-Token": self.http.cookies["helpdesk_csrf"]}

    def get(self, path: str) -> httpx.Response:
        return self.http.get(path)

    def post(self, path: str) -> httpx.Response:
        return self.http.post(path, headers=self.csrf)

    def delete(self, path: str, body: dict) -> httpx.Response:
        return self.http.request("DELETE", path, json=body, headers=self.csrf)


def tracker_text(service: Service, conversation_id: str) -> str:
    """What Rasa remembers of the conversation, as its own API gives it."""
    response = service.tracker(conversation_id)
    assert response.status_code == 200, response.text
    unauthorised = httpx.get(f"{service.rasa_url}/conversations/{conversation_id}/tracker")
    assert unauthorised.status_code == 401  # what customers said is not open to anyone asking
    return response.text


def test_only_admins_reach_the_privacy_routes(service):
    customer = Customer(service.url)
    customer.say("hello")
    routes = [
        ("get", f"/api/admin/customers?q={customer.id}"),
        ("get", f"/api/admin/customers/{customer.id}/export"),  # a conversation's id: no customer
        ("post", "/api/admin/retention/run?dry_run=true"),
    ]
    for name in ("anna", "mia"):
        console = Console(service.url, name)
        for method, path in routes:
            assert getattr(console, method)(path).status_code == 403, (name, path)
        assert console.delete("/api/admin/customers/x", {"reason": "ticket 1"}).status_code == 403
    assert httpx.get(f"{service.url}/api/admin/customers?q=x").status_code == 401
    ada = Console(service.url, "ada")
    found = ada.get(routes[0][1])
    assert found.status_code == 200 and found.json()["conversations"][0]["id"] == customer.id
    assert ada.get(routes[1][1]).status_code == 404
    assert ada.post(routes[2][1]).json()["dry_run"] is True
    refused = ada.delete(f"/api/admin/customers/{found.json()['id']}", {"reason": " "})
    assert refused.status_code == 422  # a reason is required


def test_an_admin_exports_and_erases_a_customer_and_rasa_forgets_them(service):
    customer = Customer(service.url)
    customer.say("my parcel pelican-5c2e is lost")
    assert "pelican-5c2e" in tracker_text(service, customer.id)
    ada = Console(service.url, "ada")
    customer_id = ada.get(f"/api/admin/customers?q={customer.id}").json()["id"]
    exported = ada.get(f"/api/admin/customers/{customer_id}/export")
    assert exported.status_code == 200 and "pelican-5c2e" in exported.text
    assert exported.headers["content-disposition"] == (
        f'attachment; filename="customer-{customer_id}.json"'
    )
    erased = ada.delete(f"/api/admin/customers/{customer_id}", {"reason": "ticket 77"})
    assert erased.status_code == 200, erased.text
    assert erased.json()["bot_trackers"] == {"forgotten": 1, "unreachable": False}
    assert "pelican-5c2e" not in tracker_text(service, customer.id)
    assert b"pelican-5c2e" not in stored_bytes(service.db)
    assert customer.http.get(f"/api/conversations/{customer.id}", headers=customer.headers
                             ).status_code in (403, 404)  # fmt: skip
    audit = ada.get("/api/manager/audit").json()
    [entry] = [e for e in audit if e["action"] == "customer_erasure"]
    assert (entry["actor"], entry["target"], entry["data"]["reason"]) == ("ada", customer_id,
                                                                          "ticket 77")  # fmt: skip
    assert "pelican" not in json.dumps(audit)
    assert ada.delete(f"/api/admin/customers/{customer_id}", {"reason": "again"}).status_code == 404


def test_an_admin_runs_retention_and_rasa_forgets_old_conversations(service):
    customer = Customer(service.url)
    customer.say("the heron-77ab question")
    database = open_database_at(service.db)  # the service's file, seen from here
    store = SqlConversationStore(database)
    store.transition(customer.id, State.RESOLVED, {"by": "bot", "how": "quiet"},
                     {"resolved_at": datetime.now(UTC), "resolution_code": "bot"})  # fmt: skip
    age(database, customer.id, 45)
    ada = Console(service.url, "ada")
    result = ada.post("/api/admin/retention/run")
    assert result.status_code == 200, result.text
    assert result.json()["conversations"] >= 1 and result.json()["dry_run"] is False
    assert result.json()["bot_trackers"]["unreachable"] is False
    assert "heron-77ab" not in tracker_text(service, customer.id)
    assert [m.text for m in store.messages(customer.id) if m.sender == Sender.CUSTOMER] == [""]
    [entry] = [e for e in ada.get("/api/manager/audit").json() if e["action"] == "retention"]
    assert entry["actor"] == "ada" and entry["data"]["via"] == "api"
