"""``helpdesk serve``: the API, the Rasa server and the action server under one supervisor.

Rasa runs in its own environment (``.venv-rasa``), so it is started as child processes; the API
runs in this process, or as ``api_workers`` worker processes on one port (with Redis carrying
live events between them). Without a Twilio account, the local Twilio stand-in runs too (demo
mode).
All must answer before the service is announced as ready; stopping the supervisor (Ctrl-C,
SIGTERM) stops the children. A child that dies once the service is ready is started again, as a
process manager would (Rasa killed by the kernel's OOM killer, say, comes back rather than
leaving every customer with the bot-unavailable text until someone restarts everything).
"""

import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import httpx
import uvicorn
from uvicorn.supervisors import Multiprocess

from api.app import create_app
from helpdesk.rasa_endpoints import write_endpoints
from helpdesk.settings import Settings

ROOT = Path(__file__).parents[1]
BOT = ROOT / "bot"
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
MODEL = BOT / "models" / "helpdesk.tar.gz"
READY_TIMEOUT = 180
RESTART_DELAY = (1.0, 30.0)  # seconds before starting a dead child again: first, at most
STABLE = 60.0  # a child that ran this long before dying gets the first delay again
DEMO_NUMBER = "+15005550006"  # the stand-in's own number (a Twilio test number)


Starter = Callable[[], subprocess.Popen]


def rasa_processes(settings: Settings) -> list[Starter]:
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
        str(RASA), "run", "--enable-api", f"--auth-token={settings.rasa_token}",
        "--model", str(MODEL),
        "--interface", settings.rasa_host, "--port", str(settings.rasa_port),
        "--endpoints", str(write_endpoints(settings, settings.db.parent / "rasa-endpoints.yml")),
        "--credentials", "credentials.yml",
    ]  # fmt: skip
    return [
        partial(subprocess.Popen, actions, **common),
        partial(subprocess.Popen, server, **common),
    ]


def sms_standin(settings: Settings) -> tuple[Settings, Starter]:
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
        # value=... form: a random token may begin with "-", which argparse would take for an option
        f"--account-sid={settings.twilio_account_sid}",
        f"--auth-token={settings.twilio_auth_token}",
        "--phone-number", DEMO_NUMBER,
        "--webhook-url", f"{settings.public_base}/webhooks/twilio/sms",
        "--status-url", f"{settings.public_base}/webhooks/twilio/status",
    ]  # fmt: skip
    return settings, partial(subprocess.Popen, command, cwd=ROOT, start_new_session=True)


def wait_until_ready(settings: Settings, children: list[subprocess.Popen]) -> bool:
    checks = {
        "API": f"http://{settings.api_host}:{settings.api_port}/openapi.json",
        "action server": f"http://127.0.0.1:{settings.actions_port}/health",
        "Rasa": f"{settings.rasa_url}/status?token={settings.rasa_token}",  # the model loaded
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


def api_server(settings: Settings) -> tuple[Callable[[], None], Callable[[], None]]:
    """How to run the API, and how to stop it. Several workers share one socket; each builds
    its own app from the environment, so this run's settings are put there first."""
    # No access log: chat stream URLs carry the customer's token (a WebSocket cannot send a
    # header from the browser), and a log line per message costs the agent path 2-3 % of CPU.
    # No proxy headers from uvicorn (it believes any from 127.0.0.1): the app believes those of
    # `trusted_proxies` alone.
    options = {"host": settings.api_host, "port": settings.api_port, "access_log": False,
               "proxy_headers": False}  # fmt: skip
    if settings.api_workers == 1:
        server = uvicorn.Server(uvicorn.Config(create_app(settings), **options))
        signal.signal(signal.SIGTERM, lambda *_: setattr(server, "should_exit", True))
        return server.run, lambda: setattr(server, "should_exit", True)
    os.environ.update(environment(settings))
    config = uvicorn.Config(
        "api.app:create_app", factory=True, workers=settings.api_workers, **options
    )
    workers = Multiprocess(config, sockets=[config.bind_socket()])  # it handles SIGTERM
    return workers.run, workers.should_exit.set


def environment(settings: Settings) -> dict[str, str]:
    """This run's settings (from the environment, ``.env`` or changed here, such as the demo
    SMS account) as ``HELPDESK_*`` variables: the defaults need not be given."""
    values = settings.model_dump(mode="json", exclude_unset=True, exclude_none=True)
    return {
        f"HELPDESK_{name.upper()}": value if isinstance(value, str) else json.dumps(value)
        for name, value in values.items()
    }


def keep_running(
    children: list[subprocess.Popen],
    starters: list[Starter],
    stopping: threading.Event,
    lock: threading.Lock,
) -> None:
    """Start a child again when it dies, after a delay that doubles while it keeps dying soon
    after starting (a port taken, say), so that a broken child does not spin."""
    delays = [RESTART_DELAY[0]] * len(children)
    started = [time.monotonic()] * len(children)
    while not stopping.wait(0.5):
        for i, child in enumerate(children):
            if child.poll() is None:
                continue
            if time.monotonic() - started[i] > STABLE:
                delays[i] = RESTART_DELAY[0]
            name = " ".join(Path(str(part)).name for part in child.args[:3])
            print(f"{name} (pid {child.pid}) exited with {child.returncode}; starting it again "
                  f"in {delays[i]:.0f} s", flush=True)  # fmt: skip
            if stopping.wait(delays[i]):
                return
            with lock:
                if stopping.is_set():
                    return
                children[i], started[i] = starters[i](), time.monotonic()
            delays[i] = min(delays[i] * 2, RESTART_DELAY[1])


def serve(settings: Settings) -> None:
    if not settings.rasa_token:  # the API workers are told it through the environment
        settings = settings.model_copy(update={"rasa_token": secrets.token_urlsafe(24)})
    starters = rasa_processes(settings)
    demo_sms = not settings.sms_enabled and settings.sms_demo
    if demo_sms:
        settings, standin = sms_standin(settings)
        starters.append(standin)
    children = [start() for start in starters]
    stopping, lock = threading.Event(), threading.Lock()
    run, stop = api_server(settings)

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
            keep_running(children, starters, stopping, lock)
        else:
            print("Helpdesk did not become ready: a Rasa process failed or timed out", flush=True)
            stop()

    threading.Thread(target=announce, daemon=True).start()
    try:
        run()
    finally:
        with lock:
            stopping.set()
        for child in children:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
