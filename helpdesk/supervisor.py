"""``helpdesk serve``: the API, the Rasa server and the action server under one supervisor.

Rasa runs in its own environment (``.venv-rasa``), so it is started as child processes; the API
runs in this process. Without a Twilio account, the local Twilio stand-in runs too (demo mode).
All must answer before the service is announced as ready; stopping the supervisor (Ctrl-C,
SIGTERM) stops the children.
"""

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from api.app import create_app
from helpdesk.settings import Settings

ROOT = Path(__file__).parents[1]
BOT = ROOT / "bot"
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
MODEL = BOT / "models" / "helpdesk.tar.gz"
READY_TIMEOUT = 180
DEMO_NUMBER = "+15005550006"  # the stand-in's own number (a Twilio test number)


def rasa_processes(settings: Settings) -> list[subprocess.Popen]:
    if not MODEL.exists():
        sys.exit(f"no trained bot at {MODEL}: run `make bot` (make run does it for you)")
    api_url = f"http://{settings.api_host}:{settings.api_port}"
    env = os.environ | {
        "RASA_TELEMETRY_ENABLED": "false",
        "HELPDESK_API_URL": api_url,
        "HELPDESK_ACTIONS_URL": f"http://127.0.0.1:{settings.actions_port}/webhook",
    }
    common = {"cwd": BOT, "env": env, "start_new_session": True}
    actions = [
        str(RASA),
        "run",
        "actions",
        "--actions",
        "actions",
        "--port",
        str(settings.actions_port),
    ]
    server = [
        str(RASA), "run", "--enable-api", "--model", str(MODEL),
        "--interface", settings.rasa_host, "--port", str(settings.rasa_port),
        "--endpoints", "endpoints.yml", "--credentials", "credentials.yml",
    ]  # fmt: skip
    return [subprocess.Popen(actions, **common), subprocess.Popen(server, **common)]


def sms_standin(settings: Settings) -> tuple[Settings, subprocess.Popen]:
    """Demo mode: no Twilio account is configured, so SMS goes through the local stand-in,
    with credentials made up for this run. ``helpdesk dev sms`` texts the bot through it."""
    standin_url = f"http://127.0.0.1:{settings.sms_standin_port}"
    settings = settings.model_copy(
        update={
            "twilio_account_sid": "AC" + secrets.token_hex(16),
            "twilio_auth_token": secrets.token_urlsafe(24),
            "twilio_from_number": DEMO_NUMBER,
            "twilio_api_base": standin_url,
        }
    )
    command = [
        sys.executable, "-m", "devtools.twilio_standin",
        "--port", str(settings.sms_standin_port),
        "--account-sid", settings.twilio_account_sid,
        "--auth-token", settings.twilio_auth_token,
        "--phone-number", DEMO_NUMBER,
        "--webhook-url", f"{settings.public_base}/webhooks/twilio/sms",
        "--status-url", f"{settings.public_base}/webhooks/twilio/status",
    ]  # fmt: skip
    return settings, subprocess.Popen(command, cwd=ROOT, start_new_session=True)


def wait_until_ready(settings: Settings, children: list[subprocess.Popen]) -> bool:
    checks = {
        "API": f"http://{settings.api_host}:{settings.api_port}/openapi.json",
        "action server": f"http://127.0.0.1:{settings.actions_port}/health",
        "Rasa": f"{settings.rasa_url}/status",
    }
    if settings.twilio_api_base.startswith("http://127.0.0.1"):
        checks["SMS stand-in"] = f"{settings.twilio_api_base}/_standin/messages"
    deadline = time.monotonic() + READY_TIMEOUT
    pending = dict(checks)
    while pending and time.monotonic() < deadline:
        if any(child.poll() is not None for child in children):
            return False
        for name, url in list(pending.items()):
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    del pending[name]
            except httpx.HTTPError:
                pass
        time.sleep(0.5)
    return not pending


def serve(settings: Settings) -> None:
    children = rasa_processes(settings)
    demo_sms = not settings.sms_enabled and settings.sms_demo
    if demo_sms:
        settings, standin = sms_standin(settings)
        children.append(standin)
    # No access log: chat stream URLs carry the customer's token (a WebSocket cannot send a
    # header from the browser), and a log line per message costs the agent path 2-3 % of CPU.
    config = uvicorn.Config(
        create_app(settings), host=settings.api_host, port=settings.api_port, access_log=False
    )
    server = uvicorn.Server(config)

    def announce() -> None:
        if wait_until_ready(settings, children):
            url = f"http://{settings.api_host}:{settings.api_port}"
            print(f"Helpdesk is ready: {url}/ (agent console: {url}/console)", flush=True)
            if demo_sms:
                print(
                    "SMS demo: text the bot from a terminal with "
                    'helpdesk dev sms "+79991234567" "где мой заказ?"',
                    flush=True,
                )
        else:
            print("Helpdesk did not become ready: a Rasa process failed or timed out", flush=True)
            server.should_exit = True

    threading.Thread(target=announce, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: setattr(server, "should_exit", True))
    try:
        server.run()
    finally:
        for child in children:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
