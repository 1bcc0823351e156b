"""How long a scrape of /metrics takes on PostgreSQL with many runs kept (not a test).

    .venv/bin/python -m tests.metrics.scrape_timing [RUNS] [SECONDS_BETWEEN_RUNS]

Builds a scratch database (METRICS_BENCH_DATABASE_URL, by default dify_hub_metrics_bench on
127.0.0.1; dropped and made again), inserts RUNS ended runs (default 500,000) one every
SECONDS_BETWEEN_RUNS (default 1: the last hour holds 3,600 of them) with a delivery each, a
webhook event per five runs and a few queued and running runs, in SQL as benchmarks/run.py
does; then scrapes 20 times through Django's test client with a metrics key and prints the
median and worst time, the queries and the slowest one. docs/operations.md has the figures.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
DB_URL = os.environ.get(
    "METRICS_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dify_hub_metrics_bench"
)

RUNS_SQL = """
INSERT INTO integrations_run (kind, source, app_id, status, inputs, query, outputs,
    error_code, error_message, dify_user, dify_task_id, dify_workflow_run_id,
    attempts, celery_task_id, created_at, started_at, finished_at, updated_at,
    merge_request_key, head_sha, error_source, holder, waits, stop_requested_by, elapsed)
SELECT CASE WHEN n %% 3 = 0 THEN 'merge_request_review' ELSE 'digest' END,
       'bench source ' || (n %% 500), %(app)s,
       CASE WHEN n %% 20 = 0 THEN 'failed' ELSE 'succeeded' END,
       '{"query": "hello"}', '', '{"echo": "hello"}', '', '', 'hub:bench', md5(n::text),
       md5((n * 7)::text), 1, '',
       now() - (n * %(spacing)s || ' seconds')::interval,
       now() - (n * %(spacing)s - 1 || ' seconds')::interval,
       now() - (n * %(spacing)s - 1 - n %% 300 || ' seconds')::interval, now(),
       '', '', '', '', 0, '', (n %% 250)::float
FROM generate_series(%(runs)s, 1, -1) AS n
"""
DELIVERIES_SQL = """
INSERT INTO integrations_delivery (run_id, recipient_name, kind, status, attempts,
    attempts_before, parts_total, parts, parts_sent, error, error_source, holder,
    created_at, updated_at)
SELECT id, 'room', CASE WHEN id %% 2 = 0 THEN 'rocketchat' ELSE 'slack' END,
       CASE WHEN id %% 50 = 0 THEN 'failed' ELSE 'delivered' END, 1, 0, 1, '[]', 1, '', '', '',
       created_at, now()
FROM integrations_run
"""
EVENTS_SQL = """
INSERT INTO integrations_webhookevent (endpoint_id, event_name, idempotency_key, headers,
    received_at, outcome, trigger, reason, merge_request_key, head_sha, duplicate_count)
SELECT %(endpoint)s, 'Merge Request Hook', md5(n::text), '{}',
       now() - (n * %(spacing)s || ' seconds')::interval,
       CASE WHEN n %% 10 = 0 THEN 'accepted' ELSE 'ignored' END, '', '', '', '', 0
FROM generate_series(%(runs)s, 1, -5) AS n
"""


def fresh_database() -> None:
    import psycopg

    name = urlsplit(DB_URL).path.lstrip("/")
    with psycopg.connect(DB_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def setup_django() -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="hub.settings",
        DATABASE_URL=DB_URL,
        ALLOWED_HOSTS="testserver",
        LOG_LEVEL="WARNING",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def load(runs: int, spacing: int) -> float:
    from django.core.management import call_command
    from django.db import connection

    from integrations.models import DifyApp, ReviewEndpoint, Run

    call_command("migrate", "--noinput", verbosity=0)
    app = DifyApp.objects.create(name="bench", base_url="http://127.0.0.1:9/v1", api_key="app-x")
    endpoint = ReviewEndpoint.objects.create(
        name="bench", slug="bench", app=app, base_url="https://gitlab.example.com"
    )
    started = time.monotonic()
    params = {"app": app.pk, "endpoint": endpoint.pk, "runs": runs, "spacing": spacing}
    with connection.cursor() as cursor:
        cursor.execute(RUNS_SQL, params)
        cursor.execute(DELIVERIES_SQL, params)
        cursor.execute(EVENTS_SQL, params)
    for n in range(60):
        status = Run.Status.QUEUED if n < 50 else Run.Status.RUNNING
        Run.objects.create(kind=Run.Kind.DIGEST, source="bench", app=app, status=status)
    with connection.cursor() as cursor:
        for table in ("run", "delivery", "webhookevent"):
            cursor.execute(f"ANALYZE integrations_{table}")
    return time.monotonic() - started


def scrape(count: int = 20) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from integrations.models import HubAPIKey

    _, key = HubAPIKey.create_key("prometheus", HubAPIKey.Scope.METRICS)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    client.get("/metrics")  # warm-up: connection, first key use
    times = []
    for _ in range(count):
        began = time.perf_counter()
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/metrics")
        times.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, response.content
    times.sort()
    slowest = max(queries.captured_queries, key=lambda q: float(q["time"]))
    print(f"scrape: median {statistics.median(times):.1f} ms, worst {times[-1]:.1f} ms")
    print(f"queries per scrape: {len(queries.captured_queries)}")
    print(f"slowest query: {float(slowest['time']) * 1000:.1f} ms: {slowest['sql'][:160]}…")


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 500_000
    spacing = float(sys.argv[2]) if len(sys.argv) > 2 else 1
    fresh_database()
    setup_django()
    seconds = load(runs, spacing)
    print(f"loaded {runs:,} runs, one every {spacing} s, in {seconds:.1f} s")
    scrape()


if __name__ == "__main__":
    main()
