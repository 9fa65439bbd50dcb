"""Security headers on a real API process: each page, the widget's script and the API, and the
pages at work in a real browser (Debian's Chromium) under their Content-Security-Policy,
with no violation reported. Rasa is not running: a customer's message goes to the queue."""

import os
import re

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from api.headers import PAGE_POLICY, SecurityHeaders
from escalation import Role, SqlAgents
from tests.databases import database_env, open_database_at
from tests.servers import free_port, start_api, stop

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update"]  # fmt: skip
PASSWORD = "headers-password"
PAGES = ["/", "/console", "/console/manager", "/console/dashboard", "/console/gaps",
         "/help/no-such-article"]  # fmt: skip
NOTHING = "default-src 'none'; frame-ancestors 'none'"
EVERYWHERE = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
# Every report of a blocked script, style, connection or frame reaches the page's console too;
# the listener also catches those raised inside the widget's shadow root.
REPORT_VIOLATIONS = """document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`);
}, true);"""


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("headers")
    agents = SqlAgents(open_database_at(folder / "helpdesk.db"))
    agents.add("anna", PASSWORD, display_name="Anna")
    agents.add("mia", PASSWORD, Role.MANAGER, display_name="Mia")
    env = os.environ | {
        **database_env(folder / "helpdesk.db"),
        "HELPDESK_COOKIE_SECURE": "false",
        "HELPDESK_RASA_PORT": str(free_port()),
        "HELPDESK_TRUSTED_PROXIES": '["127.0.0.1"]',
    }
    port = free_port()
    process = start_api(port, env, folder / "api.log", "--no-proxy-headers")
    yield f"http://127.0.0.1:{port}"
    stop(process)


def signed_in(url: str, username: str) -> httpx.Client:
    http = httpx.Client(base_url=url, timeout=20)
    login = http.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return http


def assert_everywhere(response: httpx.Response) -> None:
    for name, value in EVERYWHERE.items():
        assert response.headers[name] == value, name


@pytest.mark.parametrize("path", [*PAGES, "/static/manager.html"])
def test_pages_allow_only_their_own_origin_and_no_framing(url, path):
    page = signed_in(url, "mia").get(path)
    assert page.headers["content-type"].startswith("text/html")
    assert_everywhere(page)
    assert page.headers["content-security-policy"] == PAGE_POLICY
    assert "'unsafe-inline'" not in PAGE_POLICY and "frame-ancestors 'none'" in PAGE_POLICY
    assert page.headers["cross-origin-opener-policy"] == "same-origin"
    assert page.headers["cross-origin-resource-policy"] == "same-origin"
    assert "strict-transport-security" not in page.headers  # plain http, cookie_secure off


def test_pages_carry_no_inline_script_or_style(url):
    """What the CSP would block is not there to block: no <style>, no style= and no on...=."""
    mia = signed_in(url, "mia")
    for path in PAGES:
        markup = mia.get(path).text
        assert not re.search(r"<style|\sstyle=|\son[a-z]+=", markup), path
        assert not re.search(r"<script(?![^>]*\ssrc=)", markup), path


def test_the_widget_script_may_be_loaded_by_other_sites(url):
    script = httpx.get(f"{url}/widget.js")
    assert_everywhere(script)
    assert script.headers["cross-origin-resource-policy"] == "cross-origin"
    assert script.headers["content-security-policy"] == NOTHING


def test_api_answers_run_nothing_and_stay_on_this_origin(url):
    for response in (
        httpx.get(f"{url}/api/kb/search", params={"q": "repair"}),
        httpx.get(f"{url}/api/agent/queue"),  # 401
        httpx.get(f"{url}/static/console.js"),
    ):
        assert_everywhere(response)
        assert response.headers["content-security-policy"] == NOTHING
        assert response.headers["cross-origin-resource-policy"] == "same-origin"


def test_https_through_a_trusted_proxy_gets_strict_transport_security(url):
    page = httpx.get(f"{url}/console", headers={"X-Forwarded-Proto": "https"})
    assert page.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


def test_with_secure_cookies_every_answer_gets_strict_transport_security():
    """``cookie_secure`` says the service is reached over HTTPS (a proxy may speak plain http
    to it); a bodiless answer keeps the policy its cached page came with."""
    page = Starlette(routes=[Route("/", lambda request: HTMLResponse("<p>hi</p>"))])
    client = TestClient(SecurityHeaders(page, secure=True, exempt=set()))
    answer = client.get("/")
    assert answer.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    assert answer.headers["content-security-policy"] == PAGE_POLICY


def test_a_not_modified_answer_does_not_replace_the_cached_pages_policy(url):
    first = httpx.get(f"{url}/static/manager.html")
    again = httpx.get(
        f"{url}/static/manager.html", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
    assert "content-security-policy" not in again.headers


# -- in a real browser -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


def watched(browser: Browser) -> tuple[Page, list[str]]:
    """A fresh page, and what it reports: CSP violations and script errors."""
    page = browser.new_context(locale="en-US").new_page()
    page.add_init_script(REPORT_VIOLATIONS)
    problems: list[str] = []
    page.on("console", lambda message: _keep_problem(problems, message.type, message.text))
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    return page, problems


def _keep_problem(problems: list[str], kind: str, text: str) -> None:
    """CSP reports, and errors other than answers such as the console's 401 before sign-in."""
    blocked = "Content Security Policy" in text or "CSP violation" in text
    if blocked or (kind == "error" and "Failed to load resource" not in text):
        problems.append(text)


def test_the_demo_site_and_its_widget_work_under_the_policy(url, browser):
    page, problems = watched(browser)
    page.goto(f"{url}/")
    expect(page).to_have_title(re.compile("Volt Service"))
    page.get_by_test_id("launcher").click()
    expect(page.get_by_test_id("panel")).to_be_visible()
    page.get_by_test_id("input").press_sequentially("where is my order", delay=30)
    page.get_by_test_id("input").press("Enter")  # suggestions were fetched; now the chat
    expect(page.get_by_test_id("queue-position")).to_be_visible()  # over the live stream
    expect(page.get_by_test_id("message").first).to_contain_text("where is my order")
    assert problems == []


def test_the_console_and_manager_pages_work_under_the_policy(url, browser):
    """The manager pages too: the dashboard draws its charts with Chart.js from /static/vendor
    (installed by `make test`), the gaps page clusters with the base's own model."""
    page, problems = watched(browser)
    page.goto(f"{url}/console")
    page.get_by_test_id("login-username").fill("mia")
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("agent-name")).to_have_text("Mia")
    expect(page.get_by_test_id("queue-waiting")).to_be_visible()  # the live stream is open
    page.goto(f"{url}/console/manager")
    expect(page.get_by_test_id("agent-name")).to_have_text("Mia")  # its data came
    page.goto(f"{url}/console/dashboard")
    expect(page.get_by_test_id("chart-contacts")).to_be_visible()
    expect(page.get_by_test_id("charts-missing")).to_be_hidden()
    # Drawn. Polled from here: wait_for_function's own polling evaluates a string, which this
    # very policy forbids (no 'unsafe-eval').
    drawn = "Boolean(Chart.getChart(document.getElementById('chart-contacts')))"
    for _ in range(150):
        if page.evaluate(drawn):
            break
        page.wait_for_timeout(200)
    assert page.evaluate(drawn)
    page.goto(f"{url}/console/gaps")
    expect(page.get_by_test_id("gaps-status")).not_to_be_empty(timeout=30_000)  # clustering
    assert problems == []
