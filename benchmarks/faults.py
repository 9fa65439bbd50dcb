"""Faults injected into a running ``helpdesk serve`` (``tests.servers.Service``), as the kernel
or an operator would cause them; each returns once the part answers again.

- ``rasa``: the Rasa server killed with SIGKILL; the supervisor starts it again.
- ``api``: an API process killed with SIGKILL. With several workers, one worker: uvicorn's
  supervisor starts another. With one, the API is the supervisor process itself, so this is
  what a process manager sees when the service dies: it stops what is left of the service (the
  Rasa processes, the SMS stand-in; systemd's control group would) and starts it again.
- ``redis``: the Redis server at ``HELPDESK_REDIS_URL`` shut down (saving if it is configured
  to) and started again as it runs now (its configuration file, or its settings).
- ``postgres``: the PostgreSQL cluster restarted (``pg_ctlcluster 15 main restart``).
"""

import contextlib
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import redis

from tests.servers import Service

RECOVERY_TIMEOUT = 300.0  # s


@dataclass
class Fault:
    kind: str
    started: float  # time.monotonic() when injected
    recovered: float  # when the part answered again

    @property
    def recovery_s(self) -> float:
        return self.recovered - self.started


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def wait_for(check, what: str, timeout: float = RECOVERY_TIMEOUT) -> float:
    """Poll ``check()`` until it is true; when that happened."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return time.monotonic()
        except (httpx.HTTPError, redis.RedisError, OSError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not come back within {timeout:.0f} s")


class Injector:
    def __init__(self, service: Service, workers: int):
        self.service = service
        self.workers = workers
        self.redis_url = service.env.get("HELPDESK_REDIS_URL", "")
        self.database_url = service.env.get("HELPDESK_DATABASE_URL", "")
        self.restarts = 0

    def kinds(self) -> list[str]:
        """The faults this deployment can have, in the order they are injected."""
        kinds = ["rasa", "api"]
        if self.redis_url:
            kinds.append("redis")
        if self.database_url.startswith("postgres"):
            kinds.append("postgres")
        return kinds

    def inject(self, kind: str) -> Fault:
        return getattr(self, f"_{kind}")()

    def _child(self, marker: str) -> int:
        """The supervisor's (first) child with ``marker`` in its command line."""
        return min(p for p in children(self.service.process.pid) if marker in command_line(p))

    def _answers(self, path: str, url: str | None = None) -> bool:
        return httpx.get(f"{url or self.service.url}{path}", timeout=2).status_code == 200

    def _rasa(self) -> Fault:
        os.kill(self._child("--enable-api"), signal.SIGKILL)
        started = time.monotonic()
        status = f"/status?token={self.service.rasa_token}"  # rasa run --auth-token
        up = wait_for(lambda: self._answers(status, self.service.rasa_url), "Rasa")
        return Fault("rasa", started, up)

    def _api(self) -> Fault:
        if self.workers == 1:
            return self._service_died()
        before = set(children(self.service.process.pid))
        victim = self._child("spawn_main")
        os.kill(victim, signal.SIGKILL)
        started = time.monotonic()

        def replaced() -> bool:  # the new worker answers (the kernel picks who takes a call)
            new = set(children(self.service.process.pid)) - before
            return httpx.get(f"{self.service.url}/health", timeout=2).json()["worker"] in new

        return Fault("api", started, wait_for(replaced, "the API worker"))

    def _service_died(self) -> Fault:
        """The single-process API (the supervisor) killed; what is left stopped, and the service
        started again on the same ports and database."""
        supervisor = self.service.process
        left = children(supervisor.pid)
        supervisor.send_signal(signal.SIGKILL)
        started = time.monotonic()
        supervisor.wait()
        for pid in left:  # Rasa's and the stand-in's, each in a process group of its own
            with contextlib.suppress(ProcessLookupError):  # gone with the supervisor
                if os.getpgid(pid) == pid:
                    os.killpg(pid, signal.SIGTERM)
                else:  # not a group leader: its group may be this program's own
                    os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in left), "the stop", 30)
        self.restarts += 1
        shutil.copy(self.service.log, self.service.log.with_suffix(f".{self.restarts}.log"))
        self.service.start()
        return Fault("api", started, time.monotonic())

    def _redis(self) -> Fault:
        client = redis.Redis.from_url(self.redis_url)
        command = self._redis_command(client)
        client.shutdown()
        started = time.monotonic()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        return Fault("redis", started, wait_for(client.ping, "Redis"))

    @staticmethod
    def _redis_command(client: redis.Redis) -> list[str]:
        """How to start this Redis again: with its configuration file, or else with the
        settings it runs with (where and whether it saves, where it listens), as a daemon."""
        server = shutil.which("redis-server") or "redis-server"
        info = client.info("server")
        if info["config_file"]:
            return [server, info["config_file"]]
        settings = ["--port", str(info["tcp_port"]), "--daemonize", "yes"]
        for name in ("bind", "dir", "dbfilename", "save", "appendonly"):
            settings += [f"--{name}", client.config_get(name)[name]]
        return [server, *settings]

    def _postgres(self) -> Fault:
        started = time.monotonic()
        subprocess.run(["pg_ctlcluster", "15", "main", "restart"], check=True)
        url = urlsplit(self.database_url)
        ready = ["pg_isready", "-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432)]
        up = wait_for(lambda: subprocess.run(ready, capture_output=True).returncode == 0, "PG")
        return Fault("postgres", started, up)
