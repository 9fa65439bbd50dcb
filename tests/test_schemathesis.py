"""Hostile input: requests generated from the live API's own /openapi.json (schemathesis),
valid and invalid ones, against a real API process. None may get a server error, and every
answer must match the schema the route declares.

Staff routes are called with a manager's personal token (admin routes with an admin's),
customer routes with a real conversation's token and its id, so that the generated input
reaches the handlers rather than stopping at the sign-in. Runs are reproducible: Hypothesis is
derandomized. The budgets of the rate limits are raised out of the way (tests/servers.py).
Figures: docs/benchmarks.md, "Hostile input"."""

import os
import time

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance
from schemathesis.core.failures import FailureGroup

from escalation import Role, SqlAgents
from tests.databases import database_env, open_database_at
from tests.servers import free_port, start_api, stop

PASSWORD = "schemathesis-password"
EXAMPLES = 40  # per operation and generation mode, at most: a small input space runs out sooner
CASES_AT_LEAST = 2000
CHECKS = [not_a_server_error, response_schema_conformance]


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    folder = tmp_path_factory.mktemp("schemathesis")
    agents = SqlAgents(open_database_at(folder / "helpdesk.db"))
    agents.add("mia", PASSWORD, Role.MANAGER)
    agents.add("ada", PASSWORD, Role.ADMIN)
    env = os.environ | {
        **database_env(folder / "helpdesk.db"),
        "HELPDESK_COOKIE_SECURE": "false",
        "HELPDESK_RASA_PORT": str(free_port()),  # no bot: customers' messages go to the queue
        "HELPDESK_AUTO_ASSIGN": "false",
        # SMS configured, against a Twilio address where nothing listens: codes are "sent"
        "HELPDESK_TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "HELPDESK_TWILIO_AUTH_TOKEN": "schemathesis-twilio-token",
        "HELPDESK_TWILIO_FROM_NUMBER": "+15005550006",
        "HELPDESK_TWILIO_API_BASE": f"http://127.0.0.1:{free_port()}",
    }
    port = free_port()
    process = start_api(port, env, folder / "api.log")
    yield f"http://127.0.0.1:{port}"
    stop(process)


def _staff_token(url: str, username: str) -> str:
    http = httpx.Client(base_url=url, timeout=20)
    login = http.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert login.status_code == 200, login.text
    made = http.post("/api/auth/tokens", headers={"X-CSRF-Token": http.cookies["helpdesk_csrf"]})
    return made.json()["token"]


def _conversation(url: str) -> tuple[str, str]:
    """A conversation waiting in the queue, and its customer's token."""
    created = httpx.post(f"{url}/api/conversations", json={}, timeout=20).json()
    conversation, token = created["conversation_id"], created["customer_token"]
    sent = httpx.post(
        f"{url}/api/conversations/{conversation}/messages", json={"text": "I need a person"},
        headers={"Authorization": f"Bearer {token}"}, timeout=20,
    )  # fmt: skip
    assert sent.status_code == 200, sent.text
    return conversation, token


def _fixed(path: str, tokens: dict[str, str], conversation: str) -> dict:
    """What stays fixed in an operation's requests: the caller's token, and the conversation
    for the routes of one conversation."""
    fixed: dict = {}
    if path.startswith("/api/conversations/{conversation_id}"):
        fixed["headers"] = {"authorization": f"Bearer {tokens['customer']}"}
    elif path.startswith("/api/admin"):
        fixed["headers"] = {"authorization": f"Bearer {tokens['admin']}"}
    elif path.startswith(("/api/agent", "/api/manager", "/api/auth")):
        fixed["headers"] = {"authorization": f"Bearer {tokens['manager']}"}
    if "{conversation_id}" in path:
        fixed["path_parameters"] = {"conversation_id": conversation}
    return fixed


def test_generated_requests_get_no_server_error_and_answers_match_the_schema(api):
    conversation, customer_token = _conversation(api)
    tokens = {
        "customer": customer_token,
        "manager": _staff_token(api, "mia"),
        "admin": _staff_token(api, "ada"),
    }
    schema = schemathesis.openapi.from_url(f"{api}/openapi.json")
    cases, failures, started = 0, [], time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        fixed = _fixed(operation.path, tokens, conversation)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
            )  # fmt: skip
            @given(case=operation.as_strategy(generation_mode=mode, **fixed))
            def call(case) -> None:
                nonlocal cases
                cases += 1
                case.call_and_validate(checks=CHECKS)

            try:
                call()
            except Unsatisfiable:  # nothing here can be invalid (no body, any string will do)
                continue
            except (Exception, FailureGroup) as failure:  # every operation is tried; all reported
                failures.append(f"{operation.method.upper()} {operation.path} ({mode}): {failure}")
    print(f"{cases} generated requests in {time.monotonic() - started:.0f} s")
    assert not failures, "\n\n".join(failures)
    assert cases >= CASES_AT_LEAST
