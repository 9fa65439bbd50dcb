"""The agent console in a real browser (Debian's Chromium, driven by Playwright) against the
whole service: Rasa, the action server, the API and the demo knowledge base."""

import json
import re
import time

import pytest
from playwright.sync_api import Browser, Page, WebSocketRoute, expect, sync_playwright

from escalation import Role, SqlAgents, SqlConversationStore
from tests.clients import Customer
from tests.databases import open_database_at
from tests.servers import Service

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update"]  # fmt: skip
PASSWORD = "console-password"
HOSTILE = '<img src=x onerror="window.__xss=1;alert(1)"><script>window.__xss=2;alert(2)</script>'


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    running = Service(tmp_path_factory.mktemp("console")).start()
    agents = SqlAgents(open_database_at(running.db))
    agents.add("anna", PASSWORD, display_name="Anna")
    agents.add("bob", PASSWORD, display_name="Bob")
    agents.add("mia", PASSWORD, Role.MANAGER, display_name="Mia")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


def sign_in(
    browser: Browser, service: Service, username: str, stream=None, locale: str = "en-US"
) -> Page:
    """A fresh browser profile signed in to the console; any alert() fails the test.
    ``stream``: a handler standing between the page and its live stream."""
    page = browser.new_context(locale=locale).new_page()
    if stream is not None:
        page.route_web_socket(re.compile(r".*/api/agent/stream"), stream)
    page.on("dialog", lambda dialog: pytest.fail(f"a dialog opened: {dialog.message}"))
    page.goto(f"{service.url}/console")
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("agent-name")).to_have_text(username.capitalize())
    return page


def handed_over(service: Service) -> Customer:
    """A customer who got an answer that did not help, then asked for a person."""
    customer = Customer(service.url, "en")
    answer = customer.say("How long does a repair take?")
    assert answer["messages"][0]["sender"] == "bot"
    customer.press(answer, "No")
    queued = customer.say("I want to talk to a real person")
    assert queued["conversation"]["state"] == "queued"
    return customer


def open_from_queue(page: Page, conversation_id: str) -> None:
    item = page.get_by_test_id("queue-waiting").locator(
        f'[data-conversation-id="{conversation_id}"]'
    )
    item.click()
    expect(page.get_by_test_id("handoff")).to_be_visible()


def frozen_after_first_snapshot(route: WebSocketRoute) -> None:
    """The console's stream, minus any news after the first queue snapshot: its view stays as
    it was, as when two agents press Claim at the same moment."""
    server = route.connect_to_server()
    snapshots = []

    def forward(message: str | bytes) -> None:
        event = json.loads(message)
        if event["type"] in ("conversation", "queue", "state"):
            snapshots.append(event)
            if len(snapshots) > 1:
                return
        route.send(message)

    server.on_message(forward)


def test_an_agent_claims_a_handed_over_conversation_and_the_customer_gets_the_reply(
    service, browser
):
    customer = handed_over(service)
    anna = sign_in(browser, service, "anna")
    bob = sign_in(browser, service, "bob")
    bob_stale = sign_in(browser, service, "bob", stream=frozen_after_first_snapshot)
    for page in (anna, bob, bob_stale):
        open_from_queue(page, customer.id)

    handoff = anna.get_by_test_id("handoff")
    expect(anna.get_by_test_id("handoff-reason")).to_have_text("Asked for a person")
    expect(anna.get_by_test_id("handoff-articles")).to_contain_text("How long does a repair take?")
    expect(handoff).to_contain_text("I want to talk to a real person")
    expect(anna.get_by_test_id("transcript")).to_contain_text("How long does a repair take?")

    anna.get_by_test_id("claim").click()
    expect(anna.get_by_test_id("holder")).to_contain_text("You")
    expect(bob.get_by_test_id("holder")).to_contain_text("Anna")  # seen live by everyone
    expect(bob.get_by_test_id("reply-send")).to_be_disabled()  # only the holder sends

    bob_stale.get_by_test_id("claim").click()  # its view did not know yet: the server says no
    expect(bob_stale.get_by_test_id("error")).to_contain_text("taken by Anna")

    anna.get_by_test_id("reply-text").fill("Hello, this is Anna. A repair takes 3 days.")
    anna.get_by_test_id("reply-send").click()
    expect(anna.get_by_test_id("transcript")).to_contain_text("A repair takes 3 days.")
    reply = _wait_for(lambda: [m for m in customer.history() if m["sender"] == "agent"])
    assert reply[0]["text"] == "Hello, this is Anna. A repair takes 3 days."
    assert reply[0]["author"] == "Anna"


def test_hostile_customer_text_shows_as_text_and_runs_nothing(service, browser):
    customer = handed_over(service)
    anna = sign_in(browser, service, "anna")
    open_from_queue(anna, customer.id)
    anna.get_by_test_id("claim").click()
    expect(anna.get_by_test_id("holder")).to_contain_text("You")
    sent = customer.say(HOSTILE)  # arrives live, while the agent is looking
    assert sent["messages"] == []  # a person holds the conversation: the bot stays silent
    transcript = anna.get_by_test_id("transcript")
    expect(transcript).to_contain_text('<img src=x onerror="window.__xss=1;alert(1)">')
    expect(transcript).to_contain_text("<script>window.__xss=2;alert(2)</script>")
    assert transcript.locator("img, script").count() == 0
    anna.reload()  # and again when the history is loaded rather than pushed
    open_from_mine(anna, customer.id)
    expect(anna.get_by_test_id("transcript")).to_contain_text("<script>window.__xss=2")
    assert anna.get_by_test_id("transcript").locator("img, script").count() == 0
    assert anna.evaluate("window.__xss") is None


def open_from_mine(page: Page, conversation_id: str) -> None:
    page.get_by_test_id("queue-mine").locator(f'[data-conversation-id="{conversation_id}"]').click()
    expect(page.get_by_test_id("transcript")).to_be_visible()


def test_an_agent_cannot_open_manager_pages(service, browser):
    anna = sign_in(browser, service, "anna")
    expect(anna.get_by_test_id("manager-link")).to_be_hidden()
    response = anna.goto(f"{service.url}/console/manager")
    assert response.status == 403
    assert anna.request.get(f"{service.url}/api/manager/audit").status == 403
    mia = sign_in(browser, service, "mia")
    expect(mia.get_by_test_id("manager-link")).to_be_visible()
    assert mia.goto(f"{service.url}/console/manager").status == 200
    expect(mia.get_by_test_id("audit-table")).to_contain_text("anna")


def test_the_console_speaks_russian_and_a_manager_marks_a_vip(service, browser):
    customer = handed_over(service)
    mia = sign_in(browser, service, "mia", locale="ru-RU")
    expect(mia.get_by_test_id("logout")).to_have_text("Выйти")
    open_from_queue(mia, customer.id)
    expect(mia.get_by_test_id("handoff-reason")).to_have_text("Попросил сотрудника")
    mia.get_by_test_id("vip-toggle").click()
    expect(mia.get_by_test_id("vip-toggle")).to_have_text("Снять статус VIP")
    store = SqlConversationStore(open_database_at(service.db))
    assert store.customer(store.get(customer.id).customer_id)["vip"] is True
    anna = sign_in(browser, service, "anna")
    open_from_queue(anna, customer.id)
    assert anna.get_by_test_id("vip-toggle").count() == 0  # managers only


def _wait_for(check, timeout: float = 10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.2)
    raise AssertionError("timed out")
