"""The manager page's knowledge-base editor in a real browser (Debian's Chromium, driven by
Playwright) against a real API process with a copy of the demo base: a draft from the gaps page
opens the editor prefilled, hostile text stays text, the server's problems show at their fields
in the manager's language, and a saved article is in the list."""

import json
import os
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from escalation import Role, SqlAgents
from tests.databases import database_env, open_database_at
from tests.factories import copy_database
from tests.servers import free_port, start_api, stop

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update"]  # fmt: skip
PASSWORD = "manager-password"
HOSTILE = '<img src=x onerror="window.__xss=1">'


@pytest.fixture(scope="module")
def server(tmp_path_factory, demo_kb):
    folder = tmp_path_factory.mktemp("articles-browser")
    db = copy_database(demo_kb.path, folder / "helpdesk.db")
    SqlAgents(open_database_at(db)).add("mia", PASSWORD, Role.MANAGER, display_name="Mia")
    port = free_port()
    env = os.environ | {
        **database_env(db),
        "HELPDESK_COOKIE_SECURE": "false",  # plain http on loopback in tests
        "HELPDESK_RASA_PORT": str(free_port()),  # nothing listens: no bot needed here
    }
    process = start_api(port, env, folder / "api.log")
    yield f"http://127.0.0.1:{port}"
    stop(process)


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


def signed_in_manager(browser: Browser, url: str, locale: str = "en-US") -> Page:
    """A fresh browser profile signed in at the console as a manager; any dialog fails."""
    page = browser.new_context(locale=locale).new_page()
    page.on("dialog", lambda dialog: pytest.fail(f"a dialog opened: {dialog.message}"))
    page.goto(f"{url}/console")
    page.get_by_test_id("login-username").fill("mia")
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("agent-name")).to_have_text("Mia")
    return page


def test_a_hostile_draft_prefills_the_editor_as_text_and_saves_into_the_list(server, browser):
    draft = {
        "lang": "en",
        "question": HOSTILE,
        "phrasings": ["where can I park my car", f"{HOSTILE} free parking", 42],
        "conversations": ["ignored"],
        "answer": {"not": "text"},
    }
    page = signed_in_manager(browser, server)
    page.goto(f"{server}/console/manager?draft={quote(json.dumps(draft))}")

    form = page.get_by_test_id("article-form")
    expect(form).to_be_visible()
    expect(form).to_be_in_viewport()
    expect(page.get_by_test_id("article-draft-note")).to_be_visible()
    expect(page.get_by_test_id("article-question")).to_have_value(HOSTILE)
    expect(page.get_by_test_id("article-lang")).to_have_value("en")
    expect(page.get_by_test_id("article-phrasings")).to_have_value(
        f"where can I park my car\n{HOSTILE} free parking"
    )
    expect(page.get_by_test_id("article-answer")).to_have_value("")

    page.get_by_test_id("article-save").click()  # no answer yet: the server says so, in place
    expect(page.locator('[data-error-for="answer"]')).to_have_text("Fill this in.")
    expect(page.get_by_test_id("article-answer")).to_have_attribute("aria-invalid", "true")

    page.get_by_test_id("article-answer").fill("Yes: every service centre has free parking.")
    page.get_by_test_id("article-save").click()
    expect(form).to_be_hidden(timeout=30_000)  # a save retrains the search model: seconds
    first = page.get_by_test_id("article-list").locator("li").first
    expect(first.locator(".article-question")).to_have_text(HOSTILE)
    assert page.locator("img").count() == 0
    assert page.evaluate("window.__xss") is None
    assert "draft=" not in page.url  # a reload does not open the saved draft again
    article_id = first.get_attribute("data-article-id")
    saved = page.request.get(f"{server}/api/manager/articles/{article_id}").json()
    assert saved["question"] == HOSTILE
    assert saved["phrasings"] == ["where can I park my car", f"{HOSTILE} free parking"]


def test_a_manager_finds_and_edits_an_article_in_russian(server, browser):
    page = signed_in_manager(browser, server, locale="ru-RU")
    page.goto(f"{server}/console/manager")
    page.get_by_test_id("articles-query").fill("ГДЕ МОЙ ЗАКАЗ")
    page.get_by_test_id("articles-query").press("Enter")
    entry = page.locator('[data-article-id="order-status-ru"]')
    expect(entry).to_be_visible()
    entry.get_by_test_id("article-edit").click()
    expect(page.get_by_test_id("article-form")).to_contain_text("Изменение статьи")
    expect(page.get_by_test_id("article-id")).to_be_disabled()
    question = page.get_by_test_id("article-question")
    expect(question).to_have_value("Где мой заказ и как узнать его статус?")

    question.fill("")
    page.get_by_test_id("article-save").click()
    expect(page.locator('[data-error-for="question"]')).to_have_text("Заполните это поле.")
    question.fill("Где мой заказ?")
    page.get_by_test_id("article-save").click()
    expect(page.get_by_test_id("article-form")).to_be_hidden(timeout=30_000)  # retrains
    expect(entry.locator(".article-question")).to_have_text("Где мой заказ?")
