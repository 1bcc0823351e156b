"""What the fault harness runs the hub on: a private PostgreSQL and Redis it may stop and
restart, the fake services in their own processes, and the hub itself under supervisord
exactly as `make run` starts it (hub/processes.py). Never the Redis or PostgreSQL other
work uses: both run on ports of their own, with their data under var/faults/.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "faults"
PY = sys.executable
PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None)
PG_PORT, REDIS_PORT = 5544, 6390
WEB = "127.0.0.1:8300"
DIFY_PORT, GITLAB_PORT = 5301, 5303
DIFY_KEY, GITLAB_TOKEN = "app-faults", "glpat-faults"
HOOK_SECRET = "dhgl_faults-secret-token-01234567"
PROJECT = 1187


def wait_until(condition, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def port_open(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Process:
    """A child process in its own session, its output in var/faults/<name>.log."""

    def __init__(self, name: str, command: list[str], env: dict | None = None) -> None:
        WORK.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.log_path = WORK / f"{name}.log"
        self._log = self.log_path.open("a")
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env or dict(os.environ),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


class PrivateRedis:
    def __init__(self) -> None:
        self.process: Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{REDIS_PORT}/0"

    def start(self) -> None:
        self.process = Process(
            "redis",
            [
                "redis-server",
                "--port",
                str(REDIS_PORT),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],  # fmt: skip
        )
        wait_until(lambda: port_open(REDIS_PORT), 20, "the private Redis")

    def kill(self) -> None:
        """SIGKILL: what an out-of-memory kill or a lost machine does; it comes back empty."""
        if self.process is not None:
            self.process.kill()


class PrivatePostgres:
    """A cluster of its own (initdb, run as the postgres user when we are root)."""

    def __init__(self) -> None:
        self.data = WORK / "pg" / "data"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{PG_PORT}/hub"

    @staticmethod
    def available() -> bool:
        return PG_BIN is not None and (PG_BIN / "initdb").exists()

    def _as_postgres(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, cwd="/")

    def start(self) -> None:
        if not (self.data / "PG_VERSION").exists():
            shutil.rmtree(self.data.parent, ignore_errors=True)
            self.data.parent.mkdir(parents=True)
            if os.geteuid() == 0:
                shutil.chown(self.data.parent, "postgres")
            self._as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust",
                              "-U", "postgres")  # fmt: skip
        options = (
            f"-p {PG_PORT} -k {self.data.parent} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=300"
        )
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options,
                          "-l", str(self.data.parent / "log"), "-w", "start")  # fmt: skip

    def stop(self) -> None:
        self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w",
                          "stop")  # fmt: skip

    def fresh_database(self) -> None:
        import psycopg

        admin = self.url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute('DROP DATABASE IF EXISTS "hub" WITH (FORCE)')
            conn.execute('CREATE DATABASE "hub"')


class Hub:
    """web, worker and beat under supervisord, from hub/processes.py as `make run` has them."""

    def __init__(self, env: dict[str, str]) -> None:
        from hub import processes

        self.env = env
        self.run_dir = WORK / "hub"
        shutil.rmtree(self.run_dir, ignore_errors=True)
        self.run_dir.mkdir(parents=True)
        progs = processes.programs(Path(PY).parent, env=env)
        conf = processes.supervisord_conf(
            progs, directory=str(ROOT), run_dir=str(self.run_dir), foreground=False
        )
        self.conf = self.run_dir / "supervisord.conf"
        self.conf.write_text(conf)
        self.names = [p.name for p in progs]
        self.supervisor: Process | None = None

    def start(self) -> None:
        self.supervisor = Process(
            "supervisord", [str(Path(PY).parent / "supervisord"), "-n", "-c", str(self.conf)],
            env=self.env,
        )  # fmt: skip
        wait_until(lambda: self._http_ok(), 60, "the hub's web server")
        wait_until(lambda: "ready." in self.log("worker-1"), 60, "the worker")

    def _http_ok(self) -> bool:
        try:
            conn = http.client.HTTPConnection(*WEB.split(":"), timeout=2)
            conn.request("GET", "/healthz")
            return conn.getresponse().status in (200, 503)
        except OSError:
            return False

    def ctl(self, *args: str) -> str:
        out = subprocess.run(
            [str(Path(PY).parent / "supervisorctl"), "-c", str(self.conf), *args],
            capture_output=True,
            text=True,
        )
        return out.stdout.strip()

    def pid(self, name: str) -> int:
        return int(self.ctl("pid", name) or 0)

    def states(self) -> dict[str, str]:
        states = {}
        for line in self.ctl("status").splitlines():
            parts = line.split()
            if len(parts) >= 2:
                states[parts[0]] = parts[1]
        return states

    def exits(self) -> list[str]:
        return [line for line in self.log("supervisord").splitlines() if "exited:" in line]

    def log(self, name: str) -> str:
        path = self.run_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.supervisor is not None:
            self.supervisor.stop()


# --- load ----------------------------------------------------------------------------------


@dataclass
class Answer:
    index: int
    key: str
    started: float  # monotonic
    ended: float
    status: int | str
    body: str = ""


@dataclass
class Burst:
    answers: list[Answer] = field(default_factory=list)

    def statuses(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for answer in self.answers:
            counts[str(answer.status)] = counts.get(str(answer.status), 0) + 1
        return dict(sorted(counts.items()))

    def between(self, start: float, end: float) -> list[Answer]:
        return [a for a in self.answers if start <= a.started <= end]


def percentile_ms(answers: list[Answer], pct: float) -> float | None:
    values = sorted(a.ended - a.started for a in answers)
    if not values:
        return None
    index = min(len(values) - 1, max(0, round(pct / 100 * len(values)) - 1))
    return round(values[index] * 1000, 1)


def send(
    path: str,
    bodies: list[bytes],
    *,
    concurrency: int,
    headers: dict[str, str] | None = None,
    on_answer=None,
    pace: float = 0.0,
    method: str = "POST",
    timeout: float = 20.0,
) -> Burst:
    """POST each body, `concurrency` at a time, each on a kept-alive connection, each with
    its own Idempotency-Key. `on_answer(count)` is called after each answer (fault triggers)."""
    host, port = WEB.split(":")
    burst, lock = Burst(), threading.Lock()
    indexes = iter(range(len(bodies)))
    base = {
        "Content-Type": "application/json",
        "X-Gitlab-Event": "Merge Request Hook",
        "X-Gitlab-Token": HOOK_SECRET,
        "User-Agent": "GitLab/18.9.1-ee",
        **(headers or {}),
    }

    def worker() -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
        while True:
            with lock:
                index = next(indexes, None)
            if index is None:
                break
            key = str(uuid.uuid4())
            began = time.monotonic()
            try:
                conn.request(
                    method, path, body=bodies[index], headers={**base, "Idempotency-Key": key}
                )
                response = conn.getresponse()
                status, text = response.status, response.read().decode("utf-8", "replace")
            except (OSError, http.client.HTTPException) as exc:
                status, text = "error", f"{type(exc).__name__}: {exc}"
                conn.close()
                conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
            answer = Answer(index, key, began, time.monotonic(), status, text[:500])
            with lock:
                burst.answers.append(answer)
                count = len(burst.answers)
            if on_answer is not None:
                on_answer(count)
            if pace:
                time.sleep(pace)
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return burst


def dify_control(path: str, body: dict | None = None) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", DIFY_PORT, timeout=10)
    if body is None:
        conn.request("GET", path)
    else:
        conn.request(
            "POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"}
        )
    return json.loads(conn.getresponse().read())


def gitlab_notes(iid: int) -> list[dict]:
    conn = http.client.HTTPConnection("127.0.0.1", GITLAB_PORT, timeout=10)
    conn.request(
        "GET",
        f"/api/v4/projects/{PROJECT}/merge_requests/{iid}/notes?per_page=100",
        headers={"PRIVATE-TOKEN": GITLAB_TOKEN},
    )
    response = conn.getresponse()
    data = json.loads(response.read())
    return data if isinstance(data, list) else []


def hook_path() -> str:
    return "/hooks/gitlab/faults/"
