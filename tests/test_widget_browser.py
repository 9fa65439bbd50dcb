"""The website chat widget in a real browser (Debian's Chromium, driven by Playwright) on the demo
company site and on another site, against the whole service: Rasa, the action server, the API,
the demo knowledge base and the Twilio stand-in.

Locators pierce the widget's open shadow root, so ``get_by_test_id`` finds its elements."""

import http.server
import json
import os
import re
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from websockets.sync.client import connect

from escalation import SqlAgents, SqlConversationStore, State
from tests.clients import Customer
from tests.databases import open_database_at
from tests.servers import Service

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update"]  # fmt: skip
PASSWORD = "widget-password"
# The screenshots in docs/ are retaken by `SCREENSHOTS=docs make test`; otherwise they go to a
# temporary folder, so that a test run leaves the working tree as it was.
DOCS = Path(__file__).parent.parent / "docs"
SHOTS = DOCS if os.environ.get("SCREENSHOTS") == "docs" else Path(tempfile.mkdtemp())
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
HOSTILE = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    folder = tmp_path_factory.mktemp("widget")
    SqlAgents(open_database_at(folder / "helpdesk.db")).add(
        "anna", PASSWORD, display_name="Анна", capacity=5, languages=["ru", "en"]
    )
    running = Service(
        folder,
        HELPDESK_AUTO_ASSIGN="false",
        HELPDESK_COOKIE_SECURE="false",
        HELPDESK_REOPEN_WINDOW_MINUTES="0",  # writing after resolution starts a new conversation
    )
    yield running.start()
    running.stop()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def other_site(service):
    """Another company's site on its own origin, embedding the widget from the service's host
    with every data-attribute set; English, and no crypto.randomUUID (as on a plain-http site)."""
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Gadget Shop</title>
</head><body><h1>Gadget Shop</h1>
<script src="{service.url}/widget.js" data-color="#0f766e" data-position="left"
        data-greeting="Hi from Gadget Shop! Ask us anything." async></script>
</body></html>""".encode()

    class Site(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def visitor(browser: Browser, locale: str = "ru-RU") -> tuple[Page, list[str]]:
    """A page in a fresh browser profile, and its script errors; any alert() fails the test."""
    context = browser.new_context(locale=locale, viewport=DESKTOP)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: pytest.fail(f"a dialog opened: {dialog.message}"))
    return page, errors


def signed_in(service: Service) -> httpx.Client:
    agent = httpx.Client(base_url=service.url, timeout=20)
    login = agent.post("/api/auth/login", json={"username": "anna", "password": PASSWORD})
    assert login.status_code == 200, login.text
    agent.headers["X-CSRF-Token"] = agent.cookies["helpdesk_csrf"]
    return agent


def session_of(page: Page) -> dict:
    """The conversation the widget keeps in localStorage: {"id", "token"}."""
    stored = page.evaluate(
        "Object.entries(localStorage).find(([key]) => key.endsWith(':session'))?.[1] ?? null"
    )
    assert stored, "the widget keeps no conversation"
    return json.loads(stored)


def ask(page: Page, text: str) -> None:
    page.get_by_test_id("input").fill(text)
    page.get_by_test_id("input").press("Enter")


def press(page: Page, title: str) -> None:
    page.get_by_test_id("quick-reply").filter(has_text=re.compile(f"^{re.escape(title)}$")).click()


def said(page: Page, text: str):
    """The bubbles on the page that say ``text``."""
    return page.get_by_test_id("message").filter(has_text=text)


def eventually(check, timeout: float = 15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_a_customer_is_answered_handed_to_a_person_keeps_everything_and_rates_the_help(
    service, browser
):
    page, errors = visitor(browser)
    page.goto(f"{service.url}/")
    expect(page).to_have_title(re.compile("Volt Service"))
    assert page.locator("script[src='/widget.js']").count() == 1  # one tag, as on any site

    page.get_by_test_id("launcher").click()
    panel = page.get_by_test_id("panel")
    expect(panel).to_be_visible()
    expect(panel).to_have_attribute("role", "dialog")
    expect(page.get_by_test_id("greeting")).to_contain_text("Здравствуйте")
    expect(page.get_by_test_id("input")).to_be_focused()

    # Knowledge-base articles are suggested while typing; none of it starts a conversation.
    page.get_by_test_id("input").press_sequentially("где мой заказ?", delay=40)
    suggestion = page.get_by_test_id("suggestion").first
    expect(suggestion).to_have_text("Где мой заказ и как узнать его статус?")
    suggestion.click()
    expect(suggestion).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_test_id("suggestion-answer").first).to_contain_text("Мои заказы")
    assert not page.evaluate("Object.keys(localStorage).some((k) => k.endsWith(':session'))")

    # Sent: the bot answers from the knowledge base and asks whether it helped.
    page.get_by_test_id("input").press("Enter")
    expect(page.get_by_test_id("suggestions")).to_be_hidden()
    expect(page.get_by_test_id("log")).to_contain_text("Мои заказы")
    expect(page.get_by_test_id("quick-reply")).to_have_text(["Да", "Нет"])
    conversation = session_of(page)["id"]
    press(page, "Нет")
    expect(page.get_by_test_id("log")).to_contain_text("Опишите, пожалуйста, вопрос подробнее")
    ask(page, "как вернуть товар?")
    expect(page.get_by_test_id("quick-reply")).to_have_text(["Да", "Нет"])
    press(page, "Нет")  # the second failure: the bot offers a person
    expect(page.get_by_test_id("log")).to_contain_text("Передать разговор сотруднику?")
    press(page, "Да, позовите сотрудника")

    # Queued, with no one online: said clearly, the place shown, SMS offered.
    expect(page.get_by_test_id("queue-position")).to_have_text(re.compile(r"Вы \d+-й в очереди"))
    expect(page.get_by_test_id("queue-wait")).to_contain_text("никого нет на месте")
    expect(page.get_by_test_id("message").last).to_contain_text("никого из сотрудников нет")
    expect(page.get_by_test_id("subtitle")).to_have_text("Ищем свободного сотрудника")
    shown = page.get_by_test_id("message").count()
    press(page, "Продолжить по SMS")  # opens the phone form; it is not a message
    expect(page.get_by_test_id("sms-phone")).to_be_focused()
    page.get_by_test_id("sms-cancel").click()
    expect(page.get_by_test_id("sms")).to_be_hidden()
    assert page.get_by_test_id("message").count() == shown

    # An agent comes online (the estimate updates live), claims it, types and replies.
    agent = signed_in(service)
    assert agent.put("/api/agent/presence", json={"presence": "online"}).status_code == 200
    expect(page.get_by_test_id("queue-wait")).to_contain_text("ожидание")
    assert agent.post(f"/api/agent/conversations/{conversation}/claim").status_code == 200
    expect(page.get_by_test_id("subtitle")).to_have_text("Анна · сотрудник поддержки")
    expect(page.get_by_test_id("queue-status")).to_be_hidden()
    expect(page.get_by_test_id("log")).to_contain_text("Анна подключается к разговору.")
    page.keyboard.press("Escape")  # closed while the reply comes: the launcher counts it
    expect(panel).to_be_hidden()
    expect(page.get_by_test_id("launcher")).to_be_focused()
    reply = "Здравствуйте! Меня зовут Анна. Вижу ваш заказ VS-123456, сейчас уточню у склада."
    sent = agent.post(f"/api/agent/conversations/{conversation}/messages", json={"text": reply})
    assert sent.status_code == 201, sent.text
    expect(page.get_by_test_id("unread")).to_have_text("1")
    page.get_by_test_id("launcher").click()
    expect(page.get_by_test_id("unread")).to_be_hidden()
    expect(said(page, reply).get_by_test_id("author")).to_have_text("Анна")
    console = service.url.replace("http", "ws") + "/api/agent/stream"
    cookie = "; ".join(f"{name}={value}" for name, value in agent.cookies.items())
    typing = {"type": "typing", "conversation_id": conversation}
    with connect(console, additional_headers={"Cookie": cookie}) as stream:
        stream.send(json.dumps({**typing, "typing": True}))
        expect(page.get_by_test_id("typing")).to_have_text("Анна печатает…")
        page.screenshot(path=SHOTS / "widget-desktop.png", animations="disabled")
        stream.send(json.dumps({**typing, "typing": False}))
        expect(page.get_by_test_id("typing")).to_be_hidden()

    # A reload resumes the conversation: the same history, nothing twice.
    bubbles = page.get_by_test_id("message").locator(".bubble")
    before = bubbles.all_inner_texts()
    page.reload()
    expect(panel).to_be_visible()  # it was open in this tab
    expect(said(page, reply)).to_have_count(1)
    assert bubbles.all_inner_texts() == before
    assert session_of(page)["id"] == conversation

    # Offline: typed and sent, kept, then delivered once and in order when the network is back.
    store = SqlConversationStore(open_database_at(service.db))
    offline = ["Номер заказа VS-123456", "Заказывал в понедельник, доставка была на вчера"]
    page.context.set_offline(True)
    for text in offline:
        ask(page, text)
    expect(page.get_by_test_id("offline")).to_be_visible()
    expect(said(page, offline[1]).locator(".meta")).to_have_text("Отправим, когда появится связь")
    meanwhile = "Пока вы были без связи: склад отвечает, что заказ уже у курьера."
    agent.post(f"/api/agent/conversations/{conversation}/messages", json={"text": meanwhile})
    time.sleep(1)
    assert not [m for m in store.messages(conversation) if m.text in offline]
    page.context.set_offline(False)
    expect(page.get_by_test_id("log")).to_contain_text(meanwhile)  # caught up after reconnecting
    expect(page.get_by_test_id("offline")).to_be_hidden()
    eventually(lambda: len([m for m in store.messages(conversation) if m.text in offline]) == 2)
    texts = [m.text for m in store.messages(conversation)]
    assert [texts.count(text) for text in offline] == [1, 1]
    assert texts.index(offline[0]) < texts.index(offline[1])
    for text in [*offline, meanwhile]:
        expect(said(page, text)).to_have_count(1)
    page.reload()
    expect(page.get_by_test_id("log")).to_contain_text(meanwhile)
    for text in [*offline, meanwhile, reply]:
        expect(said(page, text)).to_have_count(1)

    # A phone: the panel fills the screen, the input is in view, touch targets are large.
    page.set_viewport_size(PHONE)
    expect(panel).to_have_attribute("aria-modal", "true")
    screen = {"x": 0, "y": 0, **PHONE}
    eventually(lambda: panel.bounding_box() == screen)
    field = page.get_by_test_id("input").bounding_box()
    assert field["y"] + field["height"] <= PHONE["height"] and field["height"] >= 44
    for control in ("send", "close"):
        size = page.get_by_test_id(control).bounding_box()
        assert size["width"] >= 44 and size["height"] >= 44, control
    expect(page.get_by_test_id("launcher")).to_be_hidden()  # under the full-screen panel
    page.screenshot(path=SHOTS / "widget-phone.png", animations="disabled")
    page.set_viewport_size(DESKTOP)

    # Resolved: the customer is asked for a rating, once.
    resolve = f"/api/agent/conversations/{conversation}/resolve"
    resolved = agent.post(resolve, json={"code": "solved"})
    assert resolved.status_code == 200, resolved.text
    expect(page.get_by_test_id("subtitle")).to_have_text("Разговор завершён")
    form = page.get_by_test_id("feedback")
    expect(form).to_be_visible()
    page.get_by_test_id("feedback-submit").click()
    expect(page.get_by_test_id("feedback-error")).to_be_visible()  # a rating is needed
    page.get_by_test_id("csat-5").click()
    page.get_by_test_id("ces-4").click()
    page.get_by_test_id("feedback-comment").fill("Спасибо, быстро разобрались!")
    page.get_by_test_id("feedback-submit").click()
    expect(page.get_by_test_id("feedback-thanks")).to_be_focused()
    assert store.feedback(conversation) == {
        "csat": 5, "ces": 4, "comment": "Спасибо, быстро разобрались!"
    }  # fmt: skip
    page.reload()
    expect(said(page, reply)).to_have_count(1)
    expect(page.get_by_test_id("feedback")).to_have_count(0)  # given already

    # Writing again later: a new conversation with the bot (continued_in), in the same window.
    ask(page, "сколько стоит доставка?")
    expect(page.get_by_test_id("log")).to_contain_text("Новый разговор")
    expect(page.get_by_test_id("quick-reply")).to_have_text(["Да", "Нет"])
    expect(said(page, "сколько стоит доставка?")).to_have_count(1)
    expect(page.get_by_test_id("subtitle")).to_have_text("Виртуальный помощник · отвечает сразу")
    follow_on = session_of(page)["id"]
    assert follow_on != conversation
    assert store.messages(follow_on)[0].text == "сколько стоит доставка?"
    assert errors == []


def test_the_widget_on_another_site_speaks_its_language_and_follows_its_tag(
    service, browser, other_site
):
    page, errors = visitor(browser, locale="ru-RU")  # the page says English: the page wins
    page.add_init_script("delete Crypto.prototype.randomUUID")  # as on a plain-http site
    page.goto(other_site)
    page.keyboard.press("Tab")
    launcher = page.get_by_test_id("launcher")
    expect(launcher).to_be_focused()
    expect(launcher).to_have_attribute("aria-label", "Open the support chat")
    expect(launcher).to_have_css("background-color", "rgb(15, 118, 110)")  # data-color
    assert launcher.bounding_box()["x"] < 100  # data-position="left"
    page.keyboard.press("Enter")
    panel = page.get_by_test_id("panel")
    expect(panel).to_be_visible()
    expect(panel).to_have_attribute("aria-label", "Volt Service support chat")
    expect(page.get_by_test_id("input")).to_be_focused()
    expect(page.get_by_test_id("greeting")).to_have_text("Hi from Gadget Shop! Ask us anything.")
    expect(page.get_by_test_id("input")).to_have_attribute("placeholder", "Type your question…")

    page.keyboard.type("where is my order")
    expect(page.get_by_test_id("suggestion").first).to_contain_text("Where is my order")
    page.get_by_test_id("suggestion").first.click()
    expect(page.get_by_test_id("suggestion-answer").first).to_contain_text("My orders")
    page.get_by_test_id("input").press("Enter")  # cross-origin: CORS on the customer API
    expect(page.get_by_test_id("quick-reply")).to_have_text(["Yes", "No"])
    expect(said(page, "where is my order")).to_have_count(1)
    keys = page.evaluate("Object.keys(localStorage)")
    assert f"helpdesk-widget:{service.url}/:session" in keys  # kept per API host
    press(page, "Yes")  # it helped: the bot resolves it, and the rating form comes
    expect(page.get_by_test_id("subtitle")).to_have_text("Conversation resolved")
    expect(page.get_by_test_id("feedback")).to_contain_text("How did we do?")
    expect(page.get_by_test_id("csat-5")).to_have_attribute("title", "5 / 5 — Excellent")

    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(launcher).to_be_focused()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    assert errors == []


def test_a_waiting_customer_may_leave_the_queue_and_is_not_asked_to_rate(service, browser):
    page, errors = visitor(browser)
    page.goto(f"{service.url}/")
    page.get_by_test_id("launcher").click()
    ask(page, "позовите оператора")
    expect(page.get_by_test_id("queue-position")).to_be_visible()
    page.get_by_test_id("leave").click()
    expect(page.get_by_test_id("left")).to_contain_text("Вы вышли из очереди")
    expect(page.get_by_test_id("queue-status")).to_be_hidden()
    expect(page.get_by_test_id("subtitle")).to_have_text("Разговор завершён")
    store = SqlConversationStore(open_database_at(service.db))
    assert store.get(session_of(page)["id"]).state == State.RESOLVED
    page.reload()
    expect(said(page, "позовите оператора")).to_have_count(1)
    expect(page.get_by_test_id("subtitle")).to_have_text("Разговор завершён")
    expect(page.get_by_test_id("feedback")).to_have_count(0)
    assert errors == []


def test_a_waiting_customer_moves_the_chat_to_sms_and_it_goes_on_in_one_thread(service, browser):
    phone = "+79994440022"
    page, errors = visitor(browser)
    page.goto(f"{service.url}/")
    page.get_by_test_id("launcher").click()
    ask(page, "позовите оператора")
    expect(page.get_by_test_id("queue-position")).to_be_visible()
    page.get_by_test_id("sms-open").click()
    page.get_by_test_id("sms-phone").fill("8 999 444-00-22")
    page.get_by_test_id("sms-phone").press("Enter")
    expect(page.get_by_test_id("sms-sent")).to_contain_text("+7 999 ***-**-22")
    page.get_by_test_id("sms-code").fill("000000")
    page.get_by_test_id("sms-code").press("Enter")
    expect(page.get_by_test_id("sms-error")).to_contain_text("4")  # attempts left

    def texted_code() -> str | None:
        texts = httpx.get(f"{service.standin_url}/_standin/messages").json()
        found = [re.search(r"\b(\d{6})\b", t["body"]) for t in texts if t["to"] == phone]
        return found[-1][1] if found and found[-1] else None

    page.get_by_test_id("sms-code").fill(eventually(texted_code))
    page.get_by_test_id("sms-code").press("Enter")
    expect(page.get_by_test_id("sms-linked")).to_contain_text("+7 999 ***-**-22")
    expect(page.get_by_test_id("sms")).to_be_hidden()
    expect(page.get_by_test_id("log")).to_contain_text("Продолжаем по SMS")
    inbound = {"from": phone, "body": "пишу уже по SMS"}
    assert httpx.post(f"{service.standin_url}/_standin/inbound", json=inbound).status_code == 200
    expect(said(page, "пишу уже по SMS")).to_have_count(1)  # the customer's text, shown here
    store = SqlConversationStore(open_database_at(service.db))
    conversation = store.get(session_of(page)["id"])
    assert conversation.route == "sms"
    assert store.customer(conversation.customer_id)["phone"] == phone
    assert errors == []


def test_agent_and_customer_text_is_shown_as_text_in_a_resumed_conversation(service, browser):
    """A conversation started elsewhere, put in localStorage, is resumed with its history; text
    that looks like HTML stays text."""
    customer = Customer(service.url, "ru")
    customer.say("позовите оператора")
    customer.say(HOSTILE)
    agent = signed_in(service)
    assert agent.post(f"/api/agent/conversations/{customer.id}/claim").status_code == 200
    agent.post(f"/api/agent/conversations/{customer.id}/messages", json={"text": HOSTILE[::-1]})
    page, errors = visitor(browser)
    key = f"helpdesk-widget:{service.url}/:session"
    session = json.dumps({"id": customer.id, "token": customer.token})
    page.add_init_script(f"localStorage.setItem({json.dumps(key)}, {json.dumps(session)})")
    page.goto(f"{service.url}/")
    page.get_by_test_id("launcher").click()
    expect(said(page, HOSTILE)).to_have_count(1)
    expect(said(page, HOSTILE[::-1])).to_have_count(1)
    expect(page.get_by_test_id("subtitle")).to_have_text("Анна · сотрудник поддержки")
    widget = page.locator("helpdesk-widget")
    assert widget.locator("img, script").count() == 0
    assert page.evaluate("window.__xss") is None
    assert errors == []


def test_the_host_pages_css_does_not_change_the_widget(service, browser):
    page, errors = visitor(browser)
    page.goto(f"{service.url}/")
    page.get_by_test_id("launcher").click()
    page.get_by_test_id("input").press_sequentially("где мой заказ", delay=20)
    expect(page.get_by_test_id("suggestion").first).to_be_visible()
    looks = """() => {
      const root = document.querySelector("helpdesk-widget").shadowRoot;
      const names = ["color", "font-size", "font-family", "font-weight", "line-height",
        "background-color", "padding", "margin", "border-radius", "border-top-width", "display",
        "position", "text-align", "letter-spacing", "box-sizing", "z-index"];
      const ids = ["launcher", "panel", "title", "subtitle", "close", "greeting", "log", "input",
        "send", "suggestions", "suggestion"];
      return Object.fromEntries(ids.map((id) => {
        const element = root.querySelector(`[data-testid="${id}"]`);
        const style = getComputedStyle(element);
        return [id, [...names.map((name) => style.getPropertyValue(name)),
                     element.offsetWidth, element.offsetHeight]];
      }));
    }"""
    before = page.evaluate(looks)
    # A stylesheet of the host page's own; constructed, as the demo site's CSP admits no inline
    # <style> (docs/security.md).
    page.evaluate(
        """(css) => {
          const sheet = new CSSStyleSheet();
          sheet.replaceSync(css);
          document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
        }""",
        """
        * { color: red !important; font-size: 40px !important; font-family: serif !important;
            line-height: 3 !important; padding: 20px !important; margin: 10px !important;
            background: yellow !important; border-radius: 0 !important; letter-spacing: 4px;
            box-sizing: content-box !important; text-align: right !important; }
        html { font-size: 40px !important; }
        div, section, button, textarea, h2, p, span { all: unset !important; color: red; }
        helpdesk-widget { display: none; opacity: .2; }
        """,
    )
    expect(page.locator("body")).to_have_css("background-color", "rgb(255, 255, 0)")  # it applies
    after = page.evaluate(looks)
    assert after == before
    expect(page.get_by_test_id("panel")).to_be_visible()
    assert errors == []
