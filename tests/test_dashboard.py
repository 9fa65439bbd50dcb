"""The manager dashboard and the knowledge-base gaps page on a real API process, over HTTP and in
a real browser (Debian's Chromium, driven by Playwright): roles, validation, the figures (the
same as ``analytics.kpis.compute`` on the same database, and as worked out by hand in
tests/test_kpis.py), the CSV file, the charts, the filters, and failed questions grouped with a
link to write the missing article.

The history is written with explicit times through the real schema (``Story``): the two days
of tests/test_kpis.py, failed questions on 10 November and agents with hostile names on 12
November, so each part has days of its own."""

import csv
import io
import json
import os
import re
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from analytics.kpis import compute
from escalation import Role, SqlAgents
from escalation.database import Database
from helpdesk.settings import Settings
from knowledge import KnowledgeBase
from tests.databases import database_env, open_database_at
from tests.servers import free_port, start_api, stop
from tests.test_kpis import NOV_23, NOV_25, Story, at, two_days

PASSWORD = "dashboard-password"
SETTINGS = Settings(timezone="Europe/Moscow")
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update"]  # fmt: skip
# The screenshots in docs/ are retaken by `SCREENSHOTS=docs make test`; otherwise they go to a
# temporary folder, so that a test run leaves the working tree as it was.
DOCS = Path(__file__).parent.parent / "docs"
SHOTS = DOCS if os.environ.get("SCREENSHOTS") == "docs" else Path(tempfile.mkdtemp())
TWO_DAYS = "from=2026-11-23&to=2026-11-25"
GAPS_DAY = "from=2026-11-10&to=2026-11-11"
LOYALTY = [
    "do you have a loyalty card for pensioners?",
    "есть ли у вас скидочная карта для пенсионеров?",
    "discount card for seniors?",
]
HOSTILE = (
    '<img src=x onerror="window.__xss=1">can I pay with bitcoin?<script>window.__xss=2</script>'
)
ORDER = ["where is my order??", "где мой заказ"]
FORMULA_NAME = '=HYPERLINK("https://evil.example","click")'


def failed_questions(story: Story, database: Database) -> None:
    """10 November: questions the base had no answer for, and answers that did not help."""
    outcomes = [{"query": text, "decision": "fallback"} for text in [*LOYALTY, HOSTILE]]
    outcomes += [
        {"query": text, "decision": "answer", "article_id": "order-status-en",
         "reaction": "did_not_help"}
        for text in ORDER
    ]  # fmt: skip
    for number, outcome in enumerate(outcomes):
        story.writes(f"gap-{number}", f"gap-customer-{number}", f"11-10 10:{number:02d}")
        with database.write() as conn:
            conn.execute(
                "insert into events (conversation_id, type, data, created_at) "
                "values (?, 'bot_outcome', ?, ?)",
                [f"gap-{number}", json.dumps(outcome), at(f"11-10 10:{number:02d}:30")],
            )


def hostile_agents(story: Story) -> None:
    """12 November: agents whose names a spreadsheet would run as formulas, each solving one."""
    for number, name in enumerate([FORMULA_NAME, "@SUM(1+1)"]):
        agent, conversation = f"formula-{number}", f"formula-{number}"
        story.agent(agent, name)
        story.writes(conversation, f"formula-customer-{number}", f"11-12 10:0{number}")
        story.handed_over(conversation, f"11-12 10:1{number}")
        story.picked_up(conversation, f"11-12 10:2{number}", by=agent)
        story.answered(conversation, f"11-12 10:3{number}")
        story.resolved(conversation, f"11-12 10:4{number}", "solved")


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dashboard")
    db = folder / "helpdesk.db"
    database = open_database_at(db)
    story = Story(database)
    two_days(story)
    failed_questions(story, database)
    hostile_agents(story)
    agents = SqlAgents(database)
    agents.add("mia", PASSWORD, Role.MANAGER, display_name="Mia")
    agents.add("oleg", PASSWORD, display_name="Oleg")
    KnowledgeBase.open(db, SETTINGS).import_demo_if_empty()  # the offered articles' questions
    port = free_port()
    env = os.environ | {
        **database_env(db),
        "HELPDESK_TIMEZONE": "Europe/Moscow",
        "HELPDESK_COOKIE_SECURE": "false",  # plain http on loopback in tests
        "HELPDESK_RASA_PORT": str(free_port()),  # no bot: these pages do not talk to it
    }
    process = start_api(port, env, folder / "api.log")
    yield {"url": f"http://127.0.0.1:{port}", "database": database}
    stop(process)


def signed_in(desk: dict, username: str) -> httpx.Client:
    client = httpx.Client(base_url=desk["url"], timeout=60)
    login = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return client


@pytest.fixture(scope="module")
def manager(desk) -> httpx.Client:
    return signed_in(desk, "mia")


def without_now(report: dict) -> dict:
    """The moment of computing differs between two calls; everything else must not."""
    return {**report, "window": {k: v for k, v in report["window"].items() if k != "now"}}


# -- the API -------------------------------------------------------------------------------------
def test_only_managers_get_the_reports_and_the_pages(desk, manager):
    agent = signed_in(desk, "oleg")
    anonymous = httpx.Client(base_url=desk["url"])
    for path in ("/api/manager/kpis", "/api/manager/kpis.csv", "/api/manager/gaps",
                 "/api/manager/agents"):  # fmt: skip
        assert agent.get(f"{path}?{TWO_DAYS}").status_code == 403, path
        assert anonymous.get(f"{path}?{TWO_DAYS}").status_code == 401, path
        assert manager.get(f"{path}?{TWO_DAYS}").status_code == 200, path
    assert agent.get("/api/manager/kpis?by=nonsense").status_code == 403  # role before input
    for page in ("/console/dashboard", "/console/gaps"):
        assert agent.get(page).status_code == 403
        assert manager.get(page).status_code == 200
        redirect = anonymous.get(page)
        assert redirect.status_code == 307 and redirect.headers["location"] == "/console"


BAD_RANGES = [
    ("from=2026-13-01&to=2026-11-25", "valid date"),
    ("from=2026-11-25&to=2026-11-25", "'to' must be after 'from'"),
    ("from=2026-11-25&to=2026-11-20", "'to' must be after 'from'"),
    ("from=2025-01-01&to=2026-11-25", "at most 366"),
    ("from=2026-11-01", "'from' and 'to' together"),
    ("days=7&from=2026-11-01&to=2026-11-08", "'from' and 'to' together"),
    ("days=0", "greater than or equal to 1"),
    ("days=400", "less than or equal to 366"),
]
BAD_BREAKDOWNS_AND_FILTERS = [
    ("by=month", "'channel', 'language', 'handled_by', 'agent', 'day' or 'week'"),
    ("handled_by=robot", "'bot' or 'human'"),
    ("channel=", "at least 1 character"),
]


@pytest.mark.parametrize(("query", "complaint"), BAD_RANGES + BAD_BREAKDOWNS_AND_FILTERS)
def test_bad_input_gets_422_saying_what_is_wrong(manager, query, complaint):
    paths = ["/api/manager/kpis", "/api/manager/kpis.csv"]
    if (query, complaint) in BAD_RANGES:
        paths.append("/api/manager/gaps")
    for path in paths:
        response = manager.get(f"{path}?{query}")
        assert response.status_code == 422, (path, query)
        assert complaint in json.dumps(response.json()["detail"]), response.text


def test_the_figures_are_compute_s_on_the_same_database(desk, manager):
    for by in (None, "agent", "day"):
        answer = manager.get(f"/api/manager/kpis?{TWO_DAYS}" + (f"&by={by}" if by else ""))
        expected = compute(desk["database"], NOV_23, NOV_25, SETTINGS, by=by)
        assert without_now(answer.json()) == without_now(expected)
    assert answer.json()["overall"]["contacts"] == 13  # as tests/test_kpis.py worked it out


def test_filters_narrow_the_report(desk, manager):
    query = f"{TWO_DAYS}&channel=sms&handled_by=human&by=language"
    report = manager.get(f"/api/manager/kpis?{query}").json()
    filters = {"channel": "sms", "handled_by": "human"}
    assert report["filters"] == filters
    expected = compute(desk["database"], NOV_23, NOV_25, SETTINGS, "language", filters=filters)
    assert without_now(report) == without_now(expected)
    sms = manager.get(f"/api/manager/kpis?{TWO_DAYS}&channel=sms").json()["overall"]
    assert sms["contacts"] == 5 and sms["self_service_rate"]["numerator"] == 2
    anna = manager.get(f"/api/manager/kpis?{TWO_DAYS}&agent=anna").json()["overall"]
    assert anna["contacts"] == 2  # solved, unrated; her spam is no contact


def test_the_range_is_the_last_days_by_default(manager):
    today = datetime.now(ZoneInfo("Europe/Moscow")).date()
    for query, days in (("", 30), ("?days=7", 7)):
        window = manager.get(f"/api/manager/kpis{query}").json()["window"]
        assert window["to"] == (today + timedelta(days=1)).isoformat()
        assert window["from"] == (today + timedelta(days=1 - days)).isoformat()


def csv_rows(response: httpx.Response) -> list[dict]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads it as UTF-8
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def test_the_csv_has_a_row_per_group_and_a_column_per_figure(manager):
    response = manager.get(f"/api/manager/kpis.csv?{TWO_DAYS}&by=channel")
    assert response.headers["content-disposition"] == (
        'attachment; filename="kpis_2026-11-23_2026-11-25_by-channel.csv"'
    )
    rows = csv_rows(response)
    report = manager.get(f"/api/manager/kpis?{TWO_DAYS}&by=channel").json()
    assert [row["group"] for row in rows] == ["sms", "web"]
    web = rows[1]
    assert list(web)[:6] == [
        "group", "label", "contacts",
        "self_service_rate.value", "self_service_rate.numerator", "self_service_rate.denominator",
    ]  # fmt: skip
    assert web["contacts"] == "8" and web["self_service_rate.numerator"] == "2"
    assert float(web["self_service_rate.value"]) == 0.25
    assert web["first_response_time.median_s"] == "180.0"
    assert web["csat.share_4_5.value"] == str(
        report["groups"][1]["kpis"]["csat"]["share_4_5"]["value"]
    )
    more = {"first_response_time.p90_s", "first_response_time.mean_s", "csat.mean",
            "csat.response_rate.denominator", "bot_answer_acceptance.value"}  # fmt: skip
    assert more <= set(web)

    overall = csv_rows(manager.get(f"/api/manager/kpis.csv?{TWO_DAYS}&channel=sms"))
    assert [(row["label"], row["contacts"]) for row in overall] == [("(all)", "5")]
    empty = csv_rows(manager.get("/api/manager/kpis.csv?from=2026-01-01&to=2026-01-02&by=day"))
    assert empty[0]["resolution_time.median_s"] == ""  # nothing measured: empty, not 0


def test_names_that_a_spreadsheet_would_run_stay_text(manager):
    response = manager.get("/api/manager/kpis.csv?from=2026-11-12&to=2026-11-13&by=agent")
    labels = [row["label"] for row in csv_rows(response)]
    assert labels == [f"'{FORMULA_NAME}", "'@SUM(1+1)"]


def test_gaps_group_failed_questions_with_the_articles_offered(manager):
    report = manager.get(f"/api/manager/gaps?{GAPS_DAY}").json()
    assert report["window"] == {"from": "2026-11-10", "to": "2026-11-11",
                                "timezone": "Europe/Moscow"}  # fmt: skip
    groups = {frozenset(gap["examples"]): gap for gap in report["gaps"]}
    loyalty = groups[frozenset(LOYALTY)]
    assert loyalty["count"] == 3 and loyalty["kinds"] == {"fallback": 3}
    assert loyalty["draft"]["question"] in LOYALTY and len(loyalty["draft"]["phrasings"]) == 2
    order = groups[frozenset(ORDER)]
    assert order["offered"] == [{
        "article_id": "order-status-en", "times": 2,
        "question": "Where is my order and how can I check its status?",
    }]  # fmt: skip
    assert any(HOSTILE in gap["examples"] for gap in report["gaps"])
    assert manager.get("/api/manager/gaps?from=2026-11-12&to=2026-11-13").json()["gaps"] == []


def test_the_agent_filter_lists_every_agent(manager):
    agents = {agent["id"]: agent for agent in manager.get("/api/manager/agents").json()}
    assert agents["anna"]["display_name"] == "Anna Petrova"
    assert {"mia", "oleg"} <= {agent["username"] for agent in agents.values()}


# -- in the browser ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


def manager_page(browser: Browser, desk: dict, locale: str = "en-US") -> tuple[Page, list[str]]:
    """Mia signed in at the console in a fresh profile, and the page's script errors (a
    blocked script or style counts); any dialog fails the test."""
    page = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text)
            if "Content Security Policy" in message.text else None)  # fmt: skip
    page.on("dialog", lambda dialog: pytest.fail(f"a dialog opened: {dialog.message}"))
    page.goto(f"{desk['url']}/console")
    page.get_by_test_id("login-username").fill("mia")
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("dashboard-link")).to_be_visible()
    return page, errors


def tile(page: Page, kpi: str):
    return page.get_by_test_id(f"kpi-{kpi}-value")


def chart_data(page: Page, chart: str) -> dict:
    """What the chart on the canvas was drawn from, as Chart.js holds it."""
    return page.evaluate(
        """(id) => {
            const chart = Chart.getChart(document.getElementById(`chart-${id}`));
            return chart && {labels: chart.data.labels, width: chart.width,
                             series: chart.data.datasets.map((d) => d.data)};
        }""",
        chart,
    )


def test_the_dashboard_shows_the_figures_charts_and_agents_and_follows_the_filters(desk, browser):
    page, errors = manager_page(browser, desk)
    page.get_by_test_id("dashboard-link").click()
    expect(page).to_have_url(f"{desk['url']}/console/dashboard")
    page.goto(f"{desk['url']}/console/dashboard?{TWO_DAYS}")
    expect(tile(page, "contacts")).to_have_text("13")
    expect(page.get_by_test_id("charts-missing")).to_be_hidden()  # `make test` installs Chart.js
    expected = {"self_service_rate": "30.8%", "escalation_rate": "53.8%", "csat": "50%",
                "first_contact_resolution": "62.5%", "abandonment_rate": "14.3%",
                "bot_answer_acceptance": "75%", "first_response_time": "3 min",
                "resolution_time": "30 min"}  # fmt: skip
    for kpi, value in expected.items():
        expect(tile(page, kpi)).to_have_text(value)
    expect(page.get_by_test_id("kpi-self_service_rate")).to_contain_text("4 of 13")
    expect(page.get_by_test_id("range-note")).to_contain_text("Nov 23, 2026 through Nov 24")

    contacts = chart_data(page, "contacts")
    assert contacts["labels"] == ["Nov 23", "Nov 24"] and contacts["width"] > 0
    assert [sum(day) for day in zip(*contacts["series"], strict=True)] == [8, 5]
    for chart in ("rates", "firstResponse", "csatByWeek", "channels"):
        drawn = chart_data(page, chart)
        assert drawn["width"] > 0 and any(v is not None for s in drawn["series"] for v in s)
    assert chart_data(page, "channels")["labels"] == ["SMS", "Web"]
    canvas = page.get_by_test_id("chart-contacts")
    expect(canvas).to_have_attribute("role", "img")
    expect(canvas).to_have_attribute("aria-label", re.compile(r"^Chart: Contacts: .* table below"))
    rows = page.get_by_test_id("agent-row")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Anna Petrova")  # 2 conversations, as Boris
    expect(rows.nth(2)).to_contain_text("(nobody holds it)")  # 3, yet last: not an agent
    page.get_by_role("button", name="SLA first response", exact=True).click()
    expect(rows.nth(0)).to_contain_text("Anna Petrova")  # 2 of 2 in time; Boris 1 of 2
    page.get_by_role("button", name="SLA first response", exact=True).click()
    expect(rows.nth(0)).to_contain_text("Boris")
    page.get_by_role("button", name="Agent", exact=True).click()
    expect(rows.nth(0)).to_contain_text("Anna Petrova")
    expect(page.get_by_role("columnheader", name="Agent")).to_have_attribute(
        "aria-sort", "ascending"
    )
    page.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)

    page.get_by_test_id("filter-channel").select_option("sms")
    expect(tile(page, "contacts")).to_have_text("5")
    expect(tile(page, "self_service_rate")).to_have_text("40%")
    assert "channel=sms" in page.url and "from=2026-11-23" in page.url
    page.get_by_test_id("csv-by").select_option("agent")
    href = page.get_by_test_id("csv-link").get_attribute("href")
    assert parse_qs(urlsplit(href).query) == {
        "from": ["2026-11-23"], "to": ["2026-11-25"], "channel": ["sms"], "by": ["agent"]
    }  # fmt: skip
    download = page.request.get(f"{desk['url']}{href}")
    assert download.ok and "Boris" in download.text()

    page.reload()  # the view is in the URL: a bookmark opens it again
    expect(page.get_by_test_id("filter-channel")).to_have_value("sms")
    expect(tile(page, "contacts")).to_have_text("5")
    page.get_by_test_id("preset-7").click()
    expect(page.get_by_test_id("preset-7")).to_have_attribute("aria-pressed", "true")
    today = datetime.now(ZoneInfo("Europe/Moscow")).date()
    expect(page.get_by_test_id("range-through")).to_have_value(today.isoformat())
    assert "days=7" in page.url and "from=" not in page.url and "channel=sms" in page.url
    assert errors == []


def test_without_the_chart_library_the_page_says_so_and_keeps_the_figures(desk, browser):
    page, _ = manager_page(browser, desk)
    page.route("**/static/vendor/chart.umd.min.js", lambda route: route.fulfill(status=404))
    page.goto(f"{desk['url']}/console/dashboard?{TWO_DAYS}")
    expect(page.get_by_test_id("charts-missing")).to_be_visible()
    expect(page.get_by_test_id("charts-missing")).to_contain_text("chart.umd.min.js")
    expect(tile(page, "contacts")).to_have_text("13")
    table = page.get_by_test_id("chart-contacts-table")
    expect(table).to_be_visible()  # the figures, open as a table
    expect(table.get_by_role("row", name="Nov 23")).to_contain_text("3")


def test_the_gaps_page_shows_groups_as_text_with_a_link_to_write_the_article(desk, browser):
    page, errors = manager_page(browser, desk)
    page.goto(f"{desk['url']}/console/gaps?{GAPS_DAY}")
    gaps = page.get_by_test_id("gap")
    expect(gaps.first).to_be_visible()
    loyalty = gaps.filter(has_text=LOYALTY[0])
    expect(loyalty.get_by_test_id("gap-count")).to_have_text("Failed questions: 3")
    expect(loyalty).to_contain_text("no answer: 3")
    for question in LOYALTY:
        expect(loyalty.get_by_test_id("gap-examples")).to_contain_text(question)
    link = loyalty.get_by_test_id("create-article").get_attribute("href")
    assert urlsplit(link).path == "/console/manager"
    draft = json.loads(parse_qs(urlsplit(link).query)["draft"][0])
    assert draft["question"] in LOYALTY and sorted([draft["question"], *draft["phrasings"]]) == (
        sorted(LOYALTY)
    )
    assert draft["lang"] in ("ru", "en")

    order = gaps.filter(has_text=ORDER[0])
    offered = order.get_by_test_id("gap-offered").get_by_role("link")
    expect(offered).to_have_text("Where is my order and how can I check its status?")
    expect(offered).to_have_attribute("href", "/help/order-status-en")

    hostile = gaps.filter(has_text="can I pay with bitcoin?")
    expect(hostile.get_by_test_id("gap-examples")).to_have_text(HOSTILE)  # as text
    assert page.locator("#gap-list img, #gap-list script").count() == 0
    assert page.evaluate("window.__xss") is None
    page.screenshot(path=str(SHOTS / "gaps.png"))
    assert errors == []


def untranslated(page: Page) -> list[str]:
    """Texts and names on the page that are a string's key ("kpi.csat"): i18n.js shows the key
    when a language lacks the string."""
    return page.evaluate(
        """() => {
            const key = /^[a-z]+(\\.[A-Za-z_0-9]+)+$/;
            const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
            const found = [];
            while (walker.nextNode()) found.push(walker.currentNode.textContent.trim());
            for (const element of document.querySelectorAll("[aria-label]")) {
                found.push(element.getAttribute("aria-label"));
            }
            return [document.title, ...found].filter((text) => key.test(text));
        }"""
    )


def test_both_pages_speak_russian_too(desk, browser):
    page, errors = manager_page(browser, desk, locale="ru-RU")
    page.goto(f"{desk['url']}/console/dashboard?{TWO_DAYS}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Показатели поддержки")
    expect(tile(page, "self_service_rate")).to_have_text(re.compile(r"^30,8\s%$"))
    expect(page.get_by_test_id("kpi-self_service_rate")).to_contain_text("4 из 13")
    expect(page.get_by_test_id("agent-row")).to_have_count(3)
    assert untranslated(page) == []
    page.goto(f"{desk['url']}/console/gaps?{GAPS_DAY}")
    expect(page.get_by_test_id("gap").first).to_contain_text("Неотвеченных вопросов")
    assert untranslated(page) == []
    page.get_by_role("button", name="Switch the language to English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Knowledge-base gaps")
    assert untranslated(page) == [] and errors == []


def test_an_agent_is_refused_the_dashboard(desk, browser):
    page = browser.new_context(locale="en-US").new_page()
    page.goto(f"{desk['url']}/console")
    page.get_by_test_id("login-username").fill("oleg")
    page.get_by_test_id("login-password").fill(PASSWORD)
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("agent-name")).to_have_text("Oleg")
    expect(page.get_by_test_id("dashboard-link")).to_be_hidden()
    response = page.goto(f"{desk['url']}/console/dashboard")
    assert response.status == 403
