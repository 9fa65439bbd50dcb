"""Start the real service (API, Rasa server, action server) for end-to-end tests."""

import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from helpdesk.settings import RATE_LIMITED
from tests.databases import database_env

BIN = Path(sys.executable).parent
# Here one client plays every customer and agent of a test or a benchmark: budgets that no one
# client would need, so that only tests/test_rate_limits.py (with budgets of its own) meets them.
GENEROUS_BUDGETS = {
    f"HELPDESK_RATE_LIMIT_{kind.upper()}": "1000000/minute" for kind in RATE_LIMITED
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            assert process.poll() is None, f"the server exited with {process.returncode}"
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def start_api(port: int, env: dict, log: Path, *options: str) -> subprocess.Popen:
    """The API alone (no Rasa), as uvicorn would run it behind a process manager; stopped again
    if it does not come up. ``options``: more uvicorn options. Budgets in ``env`` replace the
    generous ones."""
    env = GENEROUS_BUDGETS | env
    command = [BIN / "python", "-m", "uvicorn", "--factory", "api.app:create_app"]
    with log.open("w") as output:
        process = subprocess.Popen(
            [*command, "--port", str(port), *options],
            env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_until_up(f"http://127.0.0.1:{port}/openapi.json", process)
    except BaseException:
        stop(process)
        raise
    return process


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Service:
    """``helpdesk serve`` on free ports with its own database, as ``make run`` starts it."""

    def __init__(self, folder: Path, **settings: str):
        self.db = folder / "helpdesk.db"
        self.log = folder / "serve.log"
        self.ports = {
            "api": free_port(), "rasa": free_port(), "actions": free_port(), "sms": free_port()
        }  # fmt: skip
        self.env = (
            os.environ
            | GENEROUS_BUDGETS
            | {
                **database_env(self.db),
                "HELPDESK_API_PORT": str(self.ports["api"]),
                "HELPDESK_RASA_PORT": str(self.ports["rasa"]),
                "HELPDESK_ACTIONS_PORT": str(self.ports["actions"]),
                "HELPDESK_SMS_STANDIN_PORT": str(self.ports["sms"]),  # demo mode: no Twilio account
                # no made-up history: tests see only the conversations they make
                "HELPDESK_DEMO_HISTORY": "false",
                **settings,
            }
        )
        self.rasa_token = secrets.token_urlsafe(16)
        self.env["HELPDESK_RASA_TOKEN"] = self.rasa_token
        self.url = f"http://127.0.0.1:{self.ports['api']}"
        self.rasa_url = f"http://127.0.0.1:{self.ports['rasa']}"
        self.standin_url = f"http://127.0.0.1:{self.ports['sms']}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 240) -> "Service":
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [BIN / "helpdesk", "serve"], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            output = self.log.read_text(errors="replace")
            if "Helpdesk is ready" in output:
                return self
            if self.process.poll() is not None or "did not become ready" in output:
                break
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(
            f"the service did not start:\n{self.log.read_text(errors='replace')[-3000:]}"
        )

    def tracker(self, conversation_id: str, rasa_url: str | None = None) -> httpx.Response:
        """The bot's tracker of the conversation, through Rasa's HTTP API (with its token)."""
        return httpx.get(
            f"{rasa_url or self.rasa_url}/conversations/{conversation_id}/tracker",
            params={"token": self.rasa_token},
        )

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=60)
