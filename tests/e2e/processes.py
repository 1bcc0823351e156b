"""Real Celery worker and beat processes for end-to-end tests.

They run with the test settings and the test database the suite is using, and the broker the
settings name (Redis when REDIS_URL is set, else the file broker), so what they do is what
`make run` does.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """The URL of the database this test process is using right now (the test database)."""
    config = connection.settings_dict
    if config["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{config['NAME']}"
    user = config.get("USER") or ""
    password = f":{config['PASSWORD']}" if config.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    host = config.get("HOST") or "127.0.0.1"
    port = f":{config['PORT']}" if config.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{config['NAME']}"


def environment(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="hub.settings_test",
        DATABASE_URL=database_url(),
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


class CeleryProcess:
    def __init__(self, kind: str, *args: str, **env: str) -> None:
        self.kind = kind
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - lives as long as the process
            prefix=f"hub-{kind}-", suffix=".log", delete=False
        )
        command = [sys.executable, "-m", "celery", "-A", "hub", kind, "--loglevel", "INFO", *args]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=environment(**env),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()
        os.unlink(self.log.name)


def start_worker(concurrency: int = 8) -> CeleryProcess:
    """A worker as hub/processes.py starts one: a thread pool sharing pooled connections."""
    queues = ",".join(settings.HUB_QUEUES.values())
    worker = CeleryProcess(
        "worker",
        "-Q",
        queues,
        "--concurrency",
        str(concurrency),
        "--pool",
        "threads",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        HUB_PROCESS="worker-e2e",
    )
    wait_for(lambda: "ready." in worker.output(), 60, worker, "the worker to start")
    return worker


def start_beat(schedule_dir: Path) -> CeleryProcess:
    beat = CeleryProcess(
        "beat",
        "--max-interval",
        "1",
        "--pidfile",
        str(schedule_dir / "beat.pid"),
    )
    wait_for(lambda: "beat: Starting" in beat.output(), 60, beat, "beat to start")
    return beat


def wait_for(
    condition: Callable[[], object],
    timeout: float,
    process: CeleryProcess | Sequence[CeleryProcess] | None = None,
    what: str = "the condition",
):
    """Poll until `condition()` is truthy; fail with the processes' logs if it never is."""
    processes = (
        [] if process is None else [process] if isinstance(process, CeleryProcess) else process
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        for each in processes:
            if each.process.poll() is not None:
                raise AssertionError(f"{each.kind} exited early:\n{each.output()[-4000:]}")
        time.sleep(0.2)
    logs = "\n".join(f"--- {each.kind} ---\n{each.output()[-4000:]}" for each in processes)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{logs}")
