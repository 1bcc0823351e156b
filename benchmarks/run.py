"""`make bench`: the hub's figures side by side with the seed's design, into RESULTS.md.

Runs against PostgreSQL and Redis (BENCH_DATABASE_URL, BENCH_REDIS_URL; a scratch database
`dify_hub_bench` and Redis db 5 by default, both wiped first). The web server and the worker
are started with hub/processes.py's own command lines, so they run exactly as `make run` and the
README's production notes have them. The fake Dify, GitLab and chat servers from tests/fakes/
run as separate processes. Figures are printed and written; nothing here fails on timing.

    .venv/bin/python benchmarks/run.py [--only units,ingest,reviews,drain,digest,runlog,prune]
        [--runs 1000000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
LOGS = ROOT / "var" / "bench"
PY = sys.executable
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dify_hub_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
WEB = "127.0.0.1:8100"
DIFY_PORT, CHAT_PORT, GITLAB_PORT, BASELINE_PORT = 5101, 5102, 5103, 5150
QUICK_DIFY_PORT = 5104  # a workflow that answers at once, for the per-unit counts
DIFY_KEY, GITLAB_TOKEN, HOOK_SECRET = "app-bench", "glpat-bench", "dhgl_bench-secret-token-01234567"
PROJECT = 1187  # the fake GitLab's demo project; --any-mr serves any iid of it


def hub_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="hub.settings",
        DATABASE_URL=DB_URL,
        REDIS_URL=REDIS_URL,
        HUB_BIND=WEB,
        LOG_LEVEL="WARNING",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


# --- processes and their memory -------------------------------------------------------------


class Proc:
    def __init__(self, name: str, command: list[str] | str, env: dict | None = None) -> None:
        LOGS.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.log = open(LOGS / f"{name}.log", "w")  # noqa: SIM115 - closed in stop()
        shell = isinstance(command, str)
        self.process = subprocess.Popen(
            ["bash", "-c", command] if shell else command,
            cwd=ROOT,
            env=env or hub_env(),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            # Its own process group (to stop it whole) in this session: the kernel's
            # autogroup scheduler shares CPU out per session, so processes in sessions of
            # their own would each get an equal share and the workers' nice would not reach
            # the web server. Under supervisord (`make run`) they share one session too.
            process_group=0,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def procfile_command(kind: str, workers: int = 1) -> str:
    """The command line `make run` uses for this process (hub/processes.py), with its env;
    `kind` "worker-2" is the second of `workers` worker processes."""
    from hub.processes import programs

    env = hub_env(HUB_WORKER_PROCESSES=str(max(workers, 1)))
    for program in programs(Path(PY).parent, env=env):
        if program.name == kind or program.name == f"{kind}-1":
            env = " ".join(f"{key}={value}" for key, value in program.environment.items())
            return f"{env} " + " ".join(program.command).replace("%h", "bench")
    raise SystemExit(f"hub/processes.py has no '{kind}' process")


class Workers:
    """`count` worker processes as `make run` starts them on a machine with that many cores."""

    def __init__(self, tag: str, count: int, env: dict | None = None) -> None:
        self.procs = [
            Proc(f"{tag}-{n}", procfile_command(f"worker-{n}", count), env=env)
            for n in range(1, count + 1)
        ]
        self.command = procfile_command("worker-1", count)

    @property
    def pids(self) -> list[int]:
        return [proc.process.pid for proc in self.procs]

    def stop(self) -> None:
        for proc in self.procs:
            proc.stop()


def cpu_seconds(roots: list[int]) -> float:
    """User + system CPU seconds so far of these processes, their threads and children."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for root in roots:
        for pid in tree_pids(root):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def machine_cpu_seconds() -> float:
    """CPU seconds the whole machine has been busy (all cores; /proc/stat, idle and iowait
    left out), to set each process's share against."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = sum(fields[:8]) - fields[3] - fields[4]  # user…steal, less idle and iowait
    return busy / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """User + system CPU seconds of the PostgreSQL server: its live processes, and the
    backends that have exited (in the postmaster's children's time)."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                head, tail = (entry / "stat").read_text().rsplit(")", 1)
            except OSError:
                continue
            if head.endswith("(postgres"):
                stats[int(entry.name)] = [int(v) for v in tail.split()[1:15]]
    total = 0
    for fields in stats.values():  # ppid, …, utime (11), stime (12), cutime, cstime
        total += fields[10] + fields[11]
        if fields[0] not in stats:  # the postmaster: its reaped backends count too
            total += fields[12] + fields[13]
    return total / os.sysconf("SC_CLK_TCK")


def tree_pids(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(children.get(pid, []))
    return pids


def status_field(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class PeakSampler:
    """Peak resident memory (MiB) and thread count of a process tree, sampled every 0.1 s."""

    def __init__(self, *root_pids: int) -> None:
        self.roots = root_pids
        self.peak_rss_mib = 0.0
        self.peak_threads = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = [pid for root in self.roots for pid in tree_pids(root)]
            rss = sum(status_field(pid, "VmRSS") for pid in pids) / 1024
            threads = sum(status_field(pid, "Threads") for pid in pids)
            self.peak_rss_mib = max(self.peak_rss_mib, rss)
            self.peak_threads = max(self.peak_threads, threads)
            self._stop.wait(0.1)


def wait_http(url: str, timeout: float = 30) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up; see {LOGS}")


def wait_until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {what}; see {LOGS}")


# --- set-up ---------------------------------------------------------------------------------


def fresh_database() -> None:
    import psycopg
    import redis

    parts = urlsplit(DB_URL)
    name = parts.path.lstrip("/")
    admin_url = DB_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    redis.Redis.from_url(REDIS_URL).flushdb()
    subprocess.run(
        [PY, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=hub_env(), check=True
    )


def django_setup() -> None:
    env = hub_env()
    for name in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "LOG_LEVEL"):
        os.environ[name] = env[name]
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def create_config():
    from benchmarks import objects

    app = objects.dify_app(
        "bench",
        f"http://127.0.0.1:{DIFY_PORT}/v1",
        DIFY_KEY,
        max_concurrent_runs=1000,
        read_timeout=30,
    )
    return app, review_endpoint("bench", app)


def review_endpoint(name: str, app):
    """A GitLab endpoint on the fake GitLab, reviewing with `app` (slug = name)."""
    from benchmarks import objects

    return objects.review_endpoint(
        name,
        app,
        gitlab_url=f"http://127.0.0.1:{GITLAB_PORT}",
        token=GITLAB_TOKEN,
        secret=HOOK_SECRET,
    )


def loadgen(url: str, count: int, concurrency: int, first_iid: int) -> dict:
    out = subprocess.run(
        [
            PY,
            "benchmarks/loadgen.py",
            "--url",
            url,
            "--token",
            HOOK_SECRET,
            "--requests",
            str(count),
            "--concurrency",
            str(concurrency),
            "--project-id",
            str(PROJECT),
            "--first-iid",
            str(first_iid),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- the benchmarks -------------------------------------------------------------------------


def bench_ingest(results: dict, count: int = 5000, concurrency: int = 50) -> None:
    import redis

    from integrations.models import Run, WebhookEvent

    web = Proc("web", procfile_command("web"))
    try:
        wait_http(f"http://{WEB}/healthz")
        hook = f"http://{WEB}/hooks/gitlab/bench/"
        loadgen(hook, 200, concurrency, first_iid=900_000)  # warm-up, not counted
        cpu_before = cpu_seconds([web.process.pid])
        with PeakSampler(web.process.pid) as memory:
            figures = loadgen(hook, count, concurrency, first_iid=1)
        web_cpu = cpu_seconds([web.process.pid]) - cpu_before
    finally:
        web.stop()
    figures["web_cpu_ms_per_webhook"] = round(web_cpu * 1000 / count, 2)
    mr_keys = [f"{PROJECT}!{iid}" for iid in range(1, count + 1)]
    stored = WebhookEvent.objects.filter(merge_request_key__in=mr_keys, outcome="accepted")
    runs = Run.objects.filter(merge_request_key__in=mr_keys, status=Run.Status.QUEUED)
    queued = redis.Redis.from_url(REDIS_URL).llen("hub.runs")
    figures.update(
        peak_rss_mib=round(memory.peak_rss_mib, 1),
        events_stored=stored.count(),
        runs_stored=runs.count(),
        messages_queued=queued,
    )
    results["ingest_hub"] = figures
    # Leave nothing for the next benchmark's worker.
    redis.Redis.from_url(REDIS_URL).delete("hub.runs")
    Run.objects.filter(status=Run.Status.QUEUED).update(status=Run.Status.CANCELLED)

    env = dict(os.environ, DIFY_URL=f"http://127.0.0.1:{DIFY_PORT}/v1", DIFY_KEY=DIFY_KEY)
    baseline = Proc(
        "baseline", [PY, "benchmarks/baseline_flask.py", "--port", str(BASELINE_PORT)], env=env
    )
    try:
        wait_until(lambda: _port_open(BASELINE_PORT), 30, "the baseline server")
        url = f"http://127.0.0.1:{BASELINE_PORT}/gitlab-webhook"
        with PeakSampler(baseline.process.pid) as memory:
            figures = loadgen(url, count, concurrency, first_iid=1)
            # Its threads are still calling Dify (2 s each); wait for them to finish.
            wait_until(lambda: status_field(baseline.process.pid, "Threads") <= 3, 120, "baseline")
    finally:
        baseline.stop()
    figures.update(
        peak_rss_mib=round(memory.peak_rss_mib, 1),
        peak_threads=memory.peak_threads,
        events_stored=0,
    )
    results["ingest_baseline"] = figures


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def bench_units(results: dict) -> None:
    import redis

    from benchmarks import units
    from benchmarks.loadgen import build_bodies

    def clear_queues() -> None:
        redis.Redis.from_url(REDIS_URL).delete(*HUB_QUEUE_NAMES)

    results["units"] = units.run(
        dify_url=f"http://127.0.0.1:{QUICK_DIFY_PORT}/v1",
        dify_key=DIFY_KEY,
        chat_url=f"http://127.0.0.1:{CHAT_PORT}/hooks/bench/units",
        gitlab_url=f"http://127.0.0.1:{GITLAB_PORT}",
        gitlab_token=GITLAB_TOKEN,
        hook_secret=HOOK_SECRET,
        build_bodies=lambda count, first: build_bodies(count, PROJECT, first),
        clear_queues=clear_queues,
    )


HUB_QUEUE_NAMES = ("hub", "hub.runs", "hub.deliveries")


# Tuned for a burst of 500 reviews (report.TUNED): threads enough that each review has one.
# Measured 2026-12-07, in turn, two processes: 100 threads 15.37, 17.37, 15.4 s to the last
# note; 250 threads 13.45, 14.12, 12.81 s (docs/benchmarks.md).
TUNED_WORKER_CONCURRENCY = 250


def bench_reviews(
    results: dict, *, workers: int, label: str, first_iid: int, count: int = 500, concurrency=50
) -> None:
    """500 reviews at once (the app's cap above the fan-out): webhook to last note."""
    from django.db.models import Max, Min

    from integrations.models import Delivery, Run, WebhookEvent

    web = Proc(f"web-{label}", procfile_command("web"))
    threads = str(TUNED_WORKER_CONCURRENCY)
    pool = Workers(label, workers, env=hub_env(HUB_WORKER_CONCURRENCY=threads))
    keys = [f"{PROJECT}!{iid}" for iid in range(first_iid, first_iid + count)]
    notes = Delivery.objects.filter(run__merge_request_key__in=keys, kind="gitlab_note")
    try:
        wait_http(f"http://{WEB}/healthz")
        time.sleep(3)  # let the workers connect to the broker
        cpu_before = cpu_seconds(pool.pids)
        machine_before, pg_before = machine_cpu_seconds(), postgres_cpu_seconds()
        web_all_before = cpu_seconds([web.process.pid])
        with PeakSampler(*pool.pids) as memory:
            web_before = cpu_seconds([web.process.pid])
            figures = loadgen(
                f"http://{WEB}/hooks/gitlab/bench/", count, concurrency, first_iid=first_iid
            )
            web_cpu = cpu_seconds([web.process.pid]) - web_before
            wait_until(
                lambda: notes.filter(status__in=Delivery.FINAL).count() >= count,
                300,
                "the review notes",
            )
        worker_cpu = cpu_seconds(pool.pids) - cpu_before
        # Where the machine's cores went from the first webhook to the last note.
        machine = machine_cpu_seconds() - machine_before
        split = {
            "workers": worker_cpu,
            "web": cpu_seconds([web.process.pid]) - web_all_before,
            "postgresql": postgres_cpu_seconds() - pg_before,
        }
        split["rest (fakes, load generator, Redis, this harness)"] = machine - sum(split.values())
    finally:
        pool.stop()
        web.stop()
    first = WebhookEvent.objects.filter(merge_request_key__in=keys).aggregate(t=Min("received_at"))
    last = notes.aggregate(t=Max("finished_at"))
    runs = Run.objects.filter(merge_request_key__in=keys)
    results[label] = {
        "events": count,
        "worker_processes": workers,
        "worker_threads": TUNED_WORKER_CONCURRENCY,
        "webhook_rps": figures["rps"],
        "webhook_p50_ms": figures["p50_ms"],
        "webhook_p99_ms": figures["p99_ms"],
        "wall_seconds": round((last["t"] - first["t"]).total_seconds(), 2),
        "notes_delivered": notes.filter(status="delivered").count(),
        "runs_succeeded": runs.filter(status=Run.Status.SUCCEEDED).count(),
        "worker_cpu_ms_per_review": round(worker_cpu * 1000 / count, 2),
        "web_cpu_ms_per_webhook": round(web_cpu * 1000 / count, 2),
        "machine_cpu_seconds": round(machine, 2),
        "cpu_seconds_by_part": {part: round(value, 2) for part, value in split.items()},
        "worker_peak_rss_mib": round(memory.peak_rss_mib, 1),
        "worker_peak_threads": memory.peak_threads,
        "worker_command": pool.command,
    }


def bench_drain(results: dict, count: int = 60, node_seconds: float = 2.0) -> None:
    """A backlog of reviews for an app with the settings a user gets (max_concurrent_runs 2):
    how long it takes to drain against N x T / C, and whether runs start in arrival order."""
    from django.db.models import Max, Min

    from benchmarks import objects
    from integrations.models import Delivery, Run, WebhookEvent

    app = objects.dify_app("bench-defaults", f"http://127.0.0.1:{DIFY_PORT}/v1", DIFY_KEY)
    review_endpoint("bench-defaults", app)
    web = Proc("web-drain", procfile_command("web"))
    worker = Workers("worker-drain", os.cpu_count() or 1)  # as `make run` starts them
    first_iid = 200_000
    keys = [f"{PROJECT}!{iid}" for iid in range(first_iid, first_iid + count)]
    notes = Delivery.objects.filter(run__merge_request_key__in=keys, kind="gitlab_note")
    try:
        wait_http(f"http://{WEB}/healthz")
        time.sleep(3)  # let the worker connect to the broker
        # One at a time, so the arrival order is the order of the MR numbers.
        loadgen(f"http://{WEB}/hooks/gitlab/bench-defaults/", count, 1, first_iid=first_iid)
        wait_until(
            lambda: notes.filter(status__in=Delivery.FINAL).count() >= count,
            count * node_seconds * 3 + 120,
            "the drained review notes",
        )
    finally:
        worker.stop()
        web.stop()
    events = WebhookEvent.objects.filter(merge_request_key__in=keys)
    first = events.aggregate(t=Min("received_at"))["t"]
    last = notes.aggregate(t=Max("finished_at"))["t"]
    runs = Run.objects.filter(merge_request_key__in=keys)
    arrival = list(runs.order_by("created_at", "id").values_list("id", flat=True))
    started = list(runs.order_by("started_at", "id").values_list("id", flat=True))
    ideal = count * node_seconds / app.max_concurrent_runs
    results["drain"] = {
        "events": count,
        "node_seconds": node_seconds,
        "max_concurrent_runs": app.max_concurrent_runs,
        "ideal_seconds": ideal,
        "wall_seconds": round((last - first).total_seconds(), 2),
        "started_in_arrival_order": sum(a == b for a, b in zip(arrival, started, strict=True)),
        "notes_delivered": notes.filter(status="delivered").count(),
    }


def bench_digest(results: dict, recipients: int = 200) -> None:
    from django.db.models import Max, Min
    from django.utils import timezone

    from benchmarks import objects
    from integrations.digests.firing import run_now
    from integrations.models import DifyApp, Recipient, Run

    app = DifyApp.objects.get(name="bench")
    rooms = [
        Recipient(
            name=f"room {n:03d}",
            kind="rocketchat",
            webhook_url=f"http://127.0.0.1:{CHAT_PORT}/hooks/bench/{n}",
        )
        for n in range(recipients)
    ]
    Recipient.objects.bulk_create(rooms)
    rooms = Recipient.objects.filter(name__startswith="room ")
    digest = objects.digest("bench digest", app, rooms, query="Weather for {{ date }}")
    worker = Workers("worker-digest", os.cpu_count() or 1)
    try:
        time.sleep(3)
        cpu_before = cpu_seconds(worker.pids)
        run = run_now(digest, requested_by="bench", now=timezone.now())
        wait_until(
            lambda: Run.objects.get(pk=run.pk).is_final, 120, "the digest run to be delivered"
        )
        worker_cpu = cpu_seconds(worker.pids) - cpu_before
    finally:
        worker.stop()
    run.refresh_from_db()
    spans = run.deliveries.aggregate(first=Min("created_at"), last=Max("finished_at"))
    results["digest"] = {
        "recipients": recipients,
        "receiver_delay_ms": 100,
        "status": run.status,
        "delivered": run.deliveries.filter(status="delivered").count(),
        "worker_cpu_ms_per_delivery": round(worker_cpu * 1000 / recipients, 2),
        "output_to_last_delivery_seconds": round(
            (spans["last"] - spans["first"]).total_seconds(), 2
        ),
    }


def load_runs(runs: int) -> float:
    """`runs` ended runs with one delivery each, in SQL, one a second back from now, oldest
    first (so ids grow with time, as in a hub's life); the seconds it took."""
    from django.db import connection

    from integrations.models import DifyApp

    app = DifyApp.objects.get(name="bench")
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO integrations_run (kind, source, app_id, status, inputs, query, outputs,
                error_code, error_message, dify_user, dify_task_id, dify_workflow_run_id,
                attempts, celery_task_id, created_at, started_at, finished_at, updated_at,
                merge_request_key, head_sha, error_source, holder, waits, stop_requested_by)
            SELECT CASE WHEN n %% 3 = 0 THEN 'merge_request_review' ELSE 'digest' END,
                   'bench source ' || (n %% 500), %s,
                   CASE WHEN n %% 20 = 0 THEN 'failed' ELSE 'succeeded' END,
                   '{"query": "hello"}', '', '{"echo": "hello"}',
                   CASE WHEN n %% 20 = 0 THEN 'workflow_failed' ELSE '' END,
                   CASE WHEN n %% 20 = 0 THEN 'The workflow failed in Dify: boom ' || n ELSE '' END,
                   'hub:bench', md5(n::text), md5((n * 7)::text), 1, '',
                   now() - (n || ' seconds')::interval, now() - (n || ' seconds')::interval,
                   now() - (n || ' seconds')::interval, now(), '', '',
                   CASE WHEN n %% 20 = 0 THEN 'dify' ELSE '' END, '', 0, ''
            FROM generate_series(%s, 1, -1) AS n
            """,
            [app.pk, runs],
        )
        cursor.execute(
            """
            INSERT INTO integrations_delivery (run_id, recipient_name, kind, status, attempts,
                attempts_before, parts_total, parts, parts_sent, error, error_source, holder,
                created_at, updated_at)
            SELECT id, 'room', 'rocketchat', 'delivered', 1, 0, 1, '[]', 1, '', '', '',
                created_at, now()
            FROM integrations_run WHERE source LIKE 'bench source %%'
            """
        )
    # VACUUM as autovacuum would have long since on a hub that holds a million runs: a table
    # just bulk-loaded has an empty visibility map, so an index-only scan (the overview's
    # covering index) still reads every table page it covers.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) integrations_run")
        cursor.execute("VACUUM (ANALYZE) integrations_delivery")
    return time.monotonic() - started


def bench_runlog(results: dict, runs: int) -> None:
    """1M runs with deliveries, then the admin list and the API, 20 requests each."""
    import requests
    from django.contrib.auth import get_user_model

    load_seconds = load_runs(runs)
    users = get_user_model()
    users.objects.create_superuser("bench", password="bench-password")
    key = _api_key()

    web = Proc("web-runlog", procfile_command("web"))
    try:
        wait_http(f"http://{WEB}/healthz")
        session = requests.Session()
        login = f"http://{WEB}/admin/login/"
        session.get(login)
        session.post(
            login,
            data={
                "username": "bench",
                "password": "bench-password",
                "csrfmiddlewaretoken": session.cookies["csrftoken"],
                "next": "/admin/",
            },
            headers={"Referer": login},
        )
        pages = {
            "admin home (overview)": "/admin/",
            "admin run list, first page": "/admin/integrations/run/",
            "admin run list, status=failed": "/admin/integrations/run/?status__exact=failed",
            "admin run list, search (a source name)": "/admin/integrations/run/?q=bench+source+42",
        }
        timings = {label: _time_get(session, path) for label, path in pages.items()}
        if key:
            api = requests.Session()
            api.headers["Authorization"] = f"Bearer {key}"
            timings["GET /api/v1/runs/"] = _time_get(api, "/api/v1/runs/")
            timings["GET /api/v1/runs/?status=failed"] = _time_get(
                api, "/api/v1/runs/?status=failed"
            )
    finally:
        web.stop()
    from benchmarks import overview

    results["runlog"] = {
        "runs": runs,
        "load_seconds": round(load_seconds, 1),
        "pages": timings,
        # The same page in-process at the same moment: its queries and the slowest one's plan.
        "overview_profile": overview.profile(),
    }


def _api_key() -> str:
    try:
        from integrations.models import HubAPIKey  # noqa: F401
    except ImportError:
        return ""
    out = subprocess.run(
        [PY, "manage.py", "hub", "apikey", "create", "bench", "--scope", "read"],
        cwd=ROOT,
        env=hub_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return next((word for word in out.stdout.split() if word.startswith("dhk_")), "")


def _time_get(session, path: str, count: int = 20) -> dict:
    import requests  # noqa: F401

    times, status = [], set()
    session.get(f"http://{WEB}{path}")  # warm-up
    for _ in range(count):
        began = time.perf_counter()
        response = session.get(f"http://{WEB}{path}")
        times.append((time.perf_counter() - began) * 1000)
        status.add(response.status_code)
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(0.95 * count) - 1], 1),
        "status": sorted(status),
    }


PRUNE_EVENTS, PRUNE_EVENT_SPACING = 200_000, 27  # one every 27 s: 62 days, half past 30


def bench_prune(results: dict, runs: int, *, loaded: bool, rate: float = 20) -> None:
    """`hub prune` at the run log's scale, as an operator or the nightly task runs it, with
    webhooks arriving at `rate` a second; the same load for 30 s just before is the baseline."""
    import redis
    from django.db import connection

    from benchmarks import prune
    from integrations.models import ReviewEndpoint, Run

    started = time.monotonic()
    if not loaded:
        load_runs(runs)
    endpoint = ReviewEndpoint.objects.get(slug="bench")
    with connection.cursor() as cursor:
        prune.load_history(
            cursor,
            endpoint_id=endpoint.pk,
            events=PRUNE_EVENTS,
            spacing=PRUNE_EVENT_SPACING,
            runs=runs,
        )
    prune.vacuum(DB_URL)
    load_seconds = time.monotonic() - started
    # Runs are one a second back from now (1M span 11.6 days): keep the newer half (6 days).
    days = max(1, round(runs / 2 / 86_400))
    env = hub_env(HUB_RETENTION_DAYS=str(days), PGAPPNAME=prune.PRUNE_APP)
    dry_began = time.monotonic()
    due = prune.parse_summary(_manage(["hub", "prune", "--dry-run"], env))
    dry_seconds = time.monotonic() - dry_began
    with connection.cursor() as cursor:
        before = prune.table_counts(cursor)
    web = Proc("web-prune", procfile_command("web"), env=hub_env(PGAPPNAME=prune.WEB_APP))
    try:
        wait_http(f"http://{WEB}/healthz")
        load = prune.PacedLoad(
            f"http://{WEB}/hooks/gitlab/bench/",
            HOOK_SECRET,
            rate=rate,
            connections=10,
            project=PROJECT,
            first_iid=300_000,
        )
        with load:
            time.sleep(5)  # warm-up, not counted
            baseline_from = time.time()
            time.sleep(30)
            began, prune_from = time.monotonic(), time.time()
            with prune.ActivitySampler(DB_URL) as activity:
                output = _manage(["hub", "prune"], env)
            wall, prune_to = time.monotonic() - began, time.time()
    finally:
        web.stop()
    with connection.cursor() as cursor:
        after = prune.table_counts(cursor)
    removed = prune.parse_summary(output)
    rows = sum(removed.get(key, 0) for key in ("payloads", "runs", "deliveries", "attempts"))
    seconds = removed.get("seconds") or wall
    deletes_from = activity.first_delete_at
    results["prune"] = {
        "runs_loaded": runs,
        "retention_days": days,
        "batch": int(os.environ.get("HUB_PRUNE_BATCH") or 500),
        "load_seconds": round(load_seconds, 1),
        "before": before,
        "due": due,
        "dry_run_seconds": round(dry_seconds, 1),
        "removed": removed,
        "after": after,
        "wall_seconds": round(wall, 1),
        "prune_seconds": round(seconds, 1),
        "payload_seconds": round(deletes_from - prune_from, 1) if deletes_from else None,
        "rows_per_second": round(rows / seconds) if seconds else 0,
        "runs_per_second": round(removed.get("runs", 0) / seconds) if seconds else 0,
        "webhook_rate": rate,
        "webhooks_baseline": load.window(baseline_from, baseline_from + 30),
        "webhooks_during": load.window(prune_from, prune_to),
        "activity": activity.figures(),
        "output": output.strip(),
    }
    # Leave nothing queued behind (no worker ran).
    redis.Redis.from_url(REDIS_URL).delete("hub.runs")
    Run.objects.filter(status=Run.Status.QUEUED).update(status=Run.Status.CANCELLED)


def _manage(args: list[str], env: dict) -> str:
    out = subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if out.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return out.stdout


# --- report ---------------------------------------------------------------------------------


def speed_gauge() -> dict:
    """How long a fixed piece of Python takes on this machine now, best of five, in CPU and
    wall milliseconds: parsing, changing and hashing a GitLab payload, as a webhook does.

    The machine's speed moved twofold within 2026-12-07 (the baseline's requests/s went
    from 380 to 142 with the same code), and every figure here moved with it. This one
    changes with nothing but the machine, so two runs are compared by it first."""
    body = (ROOT / "tests" / "fixtures" / "gitlab" / "mr_open.json").read_text()
    best_cpu = best_wall = float("inf")
    for _ in range(5):
        cpu, wall = time.process_time(), time.perf_counter()
        for n in range(300):
            payload = json.loads(body)
            payload["n"] = n
            hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
            "".join(sorted(str(value) for value in payload.values()))
        best_cpu = min(best_cpu, time.process_time() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
    return {"cpu_ms": round(best_cpu * 1000, 1), "wall_ms": round(best_wall * 1000, 1)}


def machine() -> dict:
    import psycopg
    import redis

    total = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    with psycopg.connect(DB_URL) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
    info = redis.Redis.from_url(REDIS_URL).info("server")
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(total / 1024 / 1024, 1),
        "python": platform.python_version(),
        "postgresql": pg,
        "redis": info.get("redis_version"),
        "kernel": platform.release(),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="units,ingest,reviews,drain,digest,runlog,prune")
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "RESULTS.md"))
    args = parser.parse_args()
    chosen = set(args.only.split(","))
    began = time.monotonic()
    # The machine's speed before each step (it moves within seconds on this machine).
    gauges = {"start": speed_gauge()}
    fresh_database()
    django_setup()
    fakes = [
        Proc(
            "fake-dify",
            [
                PY,
                "-m",
                "tests.fakes.dify",
                "--port",
                str(DIFY_PORT),
                "--api-key",
                DIFY_KEY,
                "--node-seconds",
                "2",
                "--ping-interval",
                "0.5",
            ],
        ),
        Proc(
            "fake-dify-quick",
            [
                PY,
                "-m",
                "tests.fakes.dify",
                "--port",
                str(QUICK_DIFY_PORT),
                "--api-key",
                DIFY_KEY,
                "--node-seconds",
                "0",
            ],
        ),
        Proc(
            "fake-gitlab",
            [
                PY,
                "-m",
                "tests.fakes.gitlab_server",
                "--port",
                str(GITLAB_PORT),
                "--token",
                GITLAB_TOKEN,
                "--any-mr",
                "--quiet",
            ],
        ),
        Proc(
            "fake-chat",
            [
                PY,
                "-m",
                "tests.fakes.chat_server",
                "--port",
                str(CHAT_PORT),
                "--kind",
                "rocketchat",
                "--delay",
                "0.1",
            ],
        ),
    ]
    results: dict = {}
    try:
        for port in (DIFY_PORT, QUICK_DIFY_PORT, GITLAB_PORT, CHAT_PORT):
            wait_until(lambda port=port: _port_open(port), 30, f"fake on port {port}")
        create_config()
        if "units" in chosen:
            gauges["units"] = speed_gauge()
            bench_units(results)
        if "ingest" in chosen:
            gauges["ingest"] = speed_gauge()
            bench_ingest(results)
            print(json.dumps({k: results[k] for k in ("ingest_hub", "ingest_baseline")}))
        if "reviews" in chosen:
            gauges["reviews"] = speed_gauge()
            # The shipped layout (one worker process per core) against a single process.
            cores = os.cpu_count() or 1
            bench_reviews(results, workers=cores, label="reviews", first_iid=100_000)
            print(json.dumps(results["reviews"]))
            if cores > 1:
                bench_reviews(results, workers=1, label="reviews_one_worker", first_iid=150_000)
                print(json.dumps(results["reviews_one_worker"]))
        if "drain" in chosen:
            gauges["drain"] = speed_gauge()
            bench_drain(results)
            print(json.dumps(results["drain"]))
        if "digest" in chosen:
            gauges["digest"] = speed_gauge()
            bench_digest(results)
            print(json.dumps(results["digest"]))
        if "runlog" in chosen:
            gauges["runlog"] = speed_gauge()
            bench_runlog(results, args.runs)
            print(json.dumps(results["runlog"]))
        if "prune" in chosen:
            gauges["prune"] = speed_gauge()
            bench_prune(results, args.runs, loaded="runlog" in chosen)
            print(json.dumps(results["prune"]))
    finally:
        for fake in fakes:
            fake.stop()
    results["web_command"] = procfile_command("web")
    results["worker_command"] = procfile_command("worker-1", os.cpu_count() or 1)
    results["machine"] = machine()
    gauges["end"] = speed_gauge()
    results["machine"]["speed_gauge"] = gauges
    results["total_seconds"] = round(time.monotonic() - began, 1)
    results["finished_at"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    (LOGS / "results.json").write_text(json.dumps(results, indent=2, default=str))
    from benchmarks.report import write_report

    kept = ROOT / "benchmarks" / "results.json"  # the figures RESULTS.md shows
    previous = json.loads(kept.read_text()) if kept.exists() else None
    write_report(results, Path(args.out), previous)
    if Path(args.out) == ROOT / "benchmarks" / "RESULTS.md":
        kept.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"wrote {args.out} in {results['total_seconds']} s")


if __name__ == "__main__":
    main()
