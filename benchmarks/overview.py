"""The admin's home page (the overview) at 1M runs on PostgreSQL: p50/p95 server time.

    .venv/bin/python benchmarks/overview.py [--runs 1000000] [--db overview_bench] [--reuse]

Makes its own database (dropped and created again unless --reuse), loads `runs` ended runs
the way run.py's load_runs does (one a second back from now, in SQL), spread over 5 apps,
10 digests and 3 review endpoints, with one delivery each, a failed one for every failed
digest run, and 100k webhook events; then times 20 requests of /admin/ for a superuser,
in-process (Django's test client: the server's time, no network) and prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = "postgres://postgres@127.0.0.1:5432"


def setup(db: str, fresh: bool) -> None:
    if fresh:
        for sql in (f"DROP DATABASE IF EXISTS {db}", f"CREATE DATABASE {db}"):
            subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="hub.settings",
        DATABASE_URL=f"{PG}/{db}",
        LOG_LEVEL="WARNING",
        ALLOWED_HOSTS="127.0.0.1,localhost",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed() -> dict:
    from django.contrib.auth import get_user_model

    from integrations.models import DifyApp, Digest, Recipient, ReviewEndpoint

    apps = [
        DifyApp.objects.create(
            name=f"app {i}", base_url="http://127.0.0.1:9/v1", api_key=f"app-{i}", mode="workflow"
        )
        for i in range(5)
    ]
    recipients = [
        Recipient.objects.create(
            name=f"room {i}", kind="rocketchat", webhook_url=f"https://chat.example/hooks/{i}"
        )
        for i in range(20)
    ]
    digests = []
    for i in range(10):
        digest = Digest(name=f"digest {i}", app=apps[i % 5], cron=f"{i} 8 * * *", timezone="UTC")
        digest.save()
        digest.recipients.set(recipients[2 * i : 2 * i + 2])
        digests.append(digest)
    endpoints = []
    for i in range(3):
        endpoint = ReviewEndpoint(
            name=f"endpoint {i}",
            slug=f"endpoint-{i}",
            app=apps[i],
            base_url="http://127.0.0.1:9",
            access_token="glpat-x",
            output_key="echo",
        )
        endpoint.set_secret_token("s" * 20)
        endpoint.save()
        endpoints.append(endpoint)
    get_user_model().objects.create_superuser("bench", password="bench-password")
    return {
        "apps": [a.pk for a in apps],
        "digests": [d.pk for d in digests],
        "endpoints": [e.pk for e in endpoints],
    }


def load(runs: int, ids: dict) -> float:
    """As benchmarks/run.py load_runs: one run a second back from now, 1 in 20 failed."""
    from django.db import connection

    began = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO integrations_run (kind, source, app_id, digest_id, review_endpoint_id,
                status, inputs, query, outputs, error_code, error_message, dify_user,
                dify_task_id, dify_workflow_run_id, attempts, celery_task_id, created_at,
                started_at, finished_at, updated_at, merge_request_key, head_sha, error_source,
                holder, waits, stop_requested_by, total_tokens)
            SELECT CASE WHEN n %% 3 = 0 THEN 'merge_request_review' ELSE 'digest' END,
                   'bench source ' || (n %% 500), (%s::int[])[1 + n %% 5],
                   CASE WHEN n %% 3 = 0 THEN NULL ELSE (%s::int[])[1 + n %% 10] END,
                   CASE WHEN n %% 3 = 0 THEN (%s::int[])[1 + n %% 3] ELSE NULL END,
                   CASE WHEN n %% 20 = 0 THEN 'failed' ELSE 'succeeded' END,
                   '{"query": "hello"}', '', '{"echo": "hello"}',
                   CASE WHEN n %% 20 = 0 THEN 'workflow_failed' ELSE '' END,
                   CASE WHEN n %% 20 = 0 THEN 'The workflow failed in Dify: boom ' || n ELSE '' END,
                   'hub:bench', md5(n::text), md5((n * 7)::text), 1, '',
                   now() - (n || ' seconds')::interval, now() - (n || ' seconds')::interval,
                   now() - (n || ' seconds')::interval + ((1 + n %% 40) || ' seconds')::interval,
                   now(), '', '', CASE WHEN n %% 20 = 0 THEN 'dify' ELSE '' END, '', 0, '',
                   100 + n %% 900
            FROM generate_series(%s, 1, -1) AS n
            """,
            [ids["apps"], ids["digests"], ids["endpoints"], runs],
        )
        cursor.execute(
            """
            INSERT INTO integrations_delivery (run_id, recipient_name, kind, status, attempts,
                attempts_before, parts_total, parts, parts_sent, error, error_source, holder,
                created_at, updated_at)
            SELECT id, 'room', 'rocketchat',
                   CASE WHEN status = 'failed' THEN 'failed' ELSE 'delivered' END, 1, 0, 1,
                   '[]', 1, CASE WHEN status = 'failed' THEN 'Rocket.Chat answered 404' ELSE '' END,
                   '', '', created_at, now()
            FROM integrations_run WHERE source LIKE 'bench source %%'
            """
        )
        cursor.execute(
            """
            INSERT INTO integrations_webhookevent (endpoint_id, event_name, idempotency_key,
                headers, payload, received_at, outcome, trigger, reason, merge_request_key,
                head_sha, duplicate_count)
            SELECT (%s::int[])[1 + n %% 3], 'Merge Request Hook', md5(n::text), '{}', '{}',
                   now() - (n * 6 || ' seconds')::interval,
                   (ARRAY['accepted', 'ignored', 'invalid'])[1 + n %% 3], '', '', '', '', 0
            FROM generate_series(100000, 1, -1) AS n
            """,
            [ids["endpoints"]],
        )
    # What autovacuum does soon after a bulk load: statistics, and the visibility map that
    # lets index-only scans skip the table.
    connection.ensure_connection()
    old = connection.connection.autocommit
    connection.connection.autocommit = True
    with connection.cursor() as cursor:
        for table in ("integrations_run", "integrations_delivery", "integrations_webhookevent"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    connection.connection.autocommit = old
    return time.monotonic() - began


def _client():
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(get_user_model().objects.get(username="bench"))
    return client


def measure(count: int = 20) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = _client()
    client.get("/admin/")  # warm-up
    times = []
    for _ in range(count):
        began = time.perf_counter()
        response = client.get("/admin/")
        times.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, response.status_code
    with CaptureQueriesContext(connection) as captured:
        client.get("/admin/")
    slowest = sorted(captured.captured_queries, key=lambda q: -float(q["time"]))[:5]
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(0.95 * count) - 1], 1),
        "queries": len(captured),
        "slowest_queries": [{"s": q["time"], "sql": q["sql"][:140]} for q in slowest],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--db", default="overview_bench")
    parser.add_argument("--reuse", action="store_true", help="keep the loaded database")
    args = parser.parse_args()
    setup(args.db, fresh=not args.reuse)
    result = {"runs": args.runs}
    if not args.reuse:
        result["load_seconds"] = round(load(args.runs, seed()), 1)
    from django.conf import settings

    settings.DEBUG = False
    result["overview"] = profile()
    print(json.dumps(result, indent=2))


def profile(count: int = 5) -> dict:
    """Where the page's time goes, measured in-process right where `make bench` times it
    (the server's time, no network). Warm: the week's figures already counted this minute
    (integrations/overview/minutely.py), as most views find them; cold: counted afresh, as
    the first view of each minute in each web process does, with each query's time and the
    plan of the slowest with its buffers (shared hit = in PostgreSQL's cache, read = not)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from integrations.overview import minutely

    result = {"warm": measure(count=20)}
    client = _client()
    cold = []
    for _ in range(count):
        minutely.forget()
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            assert client.get("/admin/").status_code == 200
            cold.append((time.perf_counter() - began) * 1000)
    slowest = sorted(captured.captured_queries, key=lambda q: -float(q["time"]))[:5]
    cold.sort()
    result["cold"] = {
        "p50_ms": round(statistics.median(cold), 1),
        "max_ms": round(cold[-1], 1),
        "queries": len(captured),
        "slowest_queries": [{"s": q["time"], "sql": q["sql"][:140]} for q in slowest],
        "slowest_plan": explain(slowest[0]["sql"]) if slowest else [],
    }
    return result


def explain(sql: str) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        return [row[0] for row in cursor.fetchall()]


if __name__ == "__main__":
    main()
