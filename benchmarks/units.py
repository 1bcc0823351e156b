"""`make bench` step "units": SQL queries, wall and CPU milliseconds per unit of work.

Three units, each done many times in this process against the benchmark's PostgreSQL and
the fake servers, with Django's query capture around it:

- one webhook accepted: a GitLab MR `open` POSTed through Django's full request stack;
- one review, from the claim of its run to its GitLab note: the engine's `execute` (claim,
  the MR and its diff from the fake GitLab, the Dify call, the finish) and the note's
  delivery, with a Dify workflow that answers at once;
- one digest delivery: one recipient's message posted to the fake Rocket.Chat.

CPU milliseconds are this process's user + sys time (time.process_time) divided by the
units, less the harness's own steps inside a unit (the webhook that queues a review, the
checks); the fakes run in processes of their own, so their CPU is not counted. The review
and the delivery run on pooled connections, as a worker's do (`worker_connections`). Messages the
engine publishes meanwhile are cleared afterwards (no worker runs during this step).
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from benchmarks import objects

# Budgets of the performance issue: queries per unit.
BUDGETS = {"webhook": 6, "review": 20, "delivery": 4}


class Capture:
    """The queries of one unit, less those of the harness's own checks (`apart()`)."""

    def __init__(self) -> None:
        self.queries: list[str] = []
        self._apart = False
        # Time spent in the harness's own steps (the webhook that queues a review, its
        # checks), taken out of the unit's wall and CPU time.
        self.apart_wall = self.apart_cpu = 0.0

    def __call__(self, execute, sql, params, many, context):
        if not self._apart:
            self.queries.append(sql)
        return execute(sql, params, many, context)

    @contextmanager
    def apart(self) -> Iterator[None]:
        self._apart = True
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self._apart = False
            self.apart_wall += time.perf_counter() - wall
            self.apart_cpu += time.process_time() - cpu


def measure(label: str, units: list[Callable[[Capture], object]]) -> dict:
    """Run each unit with its queries captured; median and max counts, ms per unit."""
    from django.db import connection

    counts: list[int] = []
    verbs: Counter = Counter()
    apart_wall = apart_cpu = 0.0
    wall_started, cpu_started = time.perf_counter(), time.process_time()
    for unit in units:
        capture = Capture()
        with connection.execute_wrapper(capture):
            unit(capture)
        counts.append(len(capture.queries))
        verbs.update(sql.split(None, 1)[0].upper() for sql in capture.queries)
        apart_wall += capture.apart_wall
        apart_cpu += capture.apart_cpu
    wall = (time.perf_counter() - wall_started - apart_wall) * 1000 / len(units)
    cpu = (time.process_time() - cpu_started - apart_cpu) * 1000 / len(units)
    return {
        "unit": label,
        "count": len(units),
        "queries_median": statistics.median(counts),
        "queries_max": max(counts),
        "queries_by_verb": {verb: round(n / len(units), 2) for verb, n in verbs.most_common()},
        "wall_ms": round(wall, 2),
        "cpu_ms": round(cpu, 2),
        "budget": BUDGETS[label],
        # The last unit's statements, shortened: what a unit costs, statement by statement.
        "last_unit": [_short(sql) for sql in capture.queries],
    }


def _short(sql: str) -> str:
    verb = sql.split(None, 1)[0].upper()
    if verb == "WITH":  # two writes in one statement (runs/combined.py): name both
        writes = re.findall(r'(INSERT INTO|UPDATE)\s+"?(?:integrations_)?(\w+)', sql)
        return " + ".join(f"{w.split()[0]} {table}" for w, table in writes)
    table = re.search(r'(?:FROM|INTO|UPDATE)\s+"?(?:integrations_)?(\w+)', sql)
    return f"{verb} {table.group(1)}" if table else verb


def webhook_poster(client, slug: str, token: str) -> Callable[[bytes], None]:
    def post(body: bytes) -> None:
        response = client.post(
            f"/hooks/gitlab/{slug}/",
            data=body,
            content_type="application/json",
            headers={"X-Gitlab-Event": "Merge Request Hook", "X-Gitlab-Token": token},
        )
        if response.status_code != 202:
            raise SystemExit(f"units: webhook answered {response.status_code}: {response.content}")

    return post


def webhook_units(post: Callable[[bytes], None], bodies: list[bytes]) -> list[Callable]:
    return [lambda capture, body=body: post(body) for body in bodies]


def review_units(post: Callable[[bytes], None], bodies: list[bytes]) -> list[Callable]:
    """Each unit: a webhook (not counted) makes one queued review; then the worker's part."""
    from integrations.models import Run
    from integrations.runs import engine

    def review(capture: Capture, body: bytes) -> None:
        with capture.apart():
            post(body)
            run_id = Run.objects.order_by("-id").values_list("pk", flat=True).first()
        engine.execute(run_id)  # the note is posted by the same thread (delivery.posted_here)
        with capture.apart():
            status = Run.objects.filter(pk=run_id).values_list("status", flat=True).first()
        if status != Run.Status.SUCCEEDED:
            raise SystemExit(f"units: review run {run_id} ended {status}")

    return [lambda capture, body=body: review(capture, body) for body in bodies]


def delivery_units(delivery_ids: list[int]) -> list[Callable]:
    from integrations.runs import delivery

    return [lambda capture, pk=pk: delivery.deliver_one(pk) for pk in delivery_ids]


@contextmanager
def worker_connections() -> Iterator[None]:
    """The database connection as a Celery worker has it (hub/settings.py with
    HUB_PROCESS=worker-…): from a psycopg pool of the worker's size, checked as it leaves the
    pool, so that the worker's "give the connection back before every long call" costs
    here what it costs there (a return to the pool, not a reconnect)."""
    from django.conf import settings
    from django.db import connection

    size = settings.HUB_WORKER_DB_POOL_DEFAULT  # this process is not a worker: its default
    saved = {key: connection.settings_dict.get(key) for key in ("CONN_MAX_AGE", "OPTIONS")}
    checks = connection.settings_dict.get("CONN_HEALTH_CHECKS")
    connection.close()
    connection.settings_dict.update(
        CONN_MAX_AGE=0,
        CONN_HEALTH_CHECKS=True,
        OPTIONS={
            **(saved["OPTIONS"] or {}),
            "pool": {"min_size": 1, "max_size": size, "timeout": 30, "max_idle": 300},
        },
    )
    try:
        yield
    finally:
        connection.close()
        connection.close_pool()
        connection.settings_dict.update(saved, CONN_HEALTH_CHECKS=checks)


def run(
    *,
    dify_url: str,
    dify_key: str,
    chat_url: str,
    gitlab_url: str,
    gitlab_token: str,
    hook_secret: str,
    build_bodies: Callable[[int, int], list[bytes]],
    count: int = 100,
    clear_queues: Callable[[], None],
) -> dict:
    """All three units; returns {"webhook": {...}, "review": {...}, "delivery": {...}}."""
    from django.test import Client
    from django.utils import timezone

    from integrations.digests.firing import run_now
    from integrations.models import Delivery, Recipient, Run
    from integrations.runs import engine

    app = objects.dify_app("bench-units", dify_url, dify_key, max_concurrent_runs=1000)
    objects.review_endpoint(
        "bench-units", app, gitlab_url=gitlab_url, token=gitlab_token, secret=hook_secret
    )

    post = webhook_poster(Client(HTTP_HOST="127.0.0.1"), "bench-units", hook_secret)
    results: dict = {}
    measure("webhook", webhook_units(post, build_bodies(10, 300_000)))  # warm-up
    bodies = build_bodies(count, 300_100)
    results["webhook"] = measure("webhook", webhook_units(post, bodies))
    # The reviews below must each find only their own run queued.
    Run.objects.filter(app=app, status=Run.Status.QUEUED).update(status=Run.Status.CANCELLED)

    # The worker's part runs on the worker's connections (a pool), as in a Celery worker.
    with worker_connections():
        # Warm-up: the form, the HTTP sessions, the code paths.
        measure("review", review_units(post, build_bodies(10, 310_000)))
        results["review"] = measure("review", review_units(post, build_bodies(count, 310_100)))

    room = Recipient.objects.create(
        name="bench-units room", kind="rocketchat", webhook_url=chat_url
    )
    digest = objects.digest("bench units digest", app, [room], query="Weather")
    delivery_ids = []
    for _ in range(count + 10):
        digest_run = run_now(digest, requested_by="bench", now=timezone.now())
        engine.execute(digest_run.pk)
        delivery_ids += list(Delivery.objects.filter(run=digest_run).values_list("pk", flat=True))
    with worker_connections():
        measure("delivery", delivery_units(delivery_ids[:10]))  # warm-up
        results["delivery"] = measure("delivery", delivery_units(delivery_ids[10:]))
    delivered = Delivery.objects.filter(pk__in=delivery_ids, status="delivered").count()
    results["delivery"]["delivered"] = delivered
    clear_queues()
    print(json.dumps(results))
    return results
