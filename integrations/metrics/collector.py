"""The hub's metrics, read from the database at scrape time: seven small queries.

Every gunicorn and Celery process, on any machine, writes the same tables, so any web
worker answering the scrape sees the whole hub; nothing is kept in a process's memory and
no multiprocess directory is needed (docs/operations.md, "Monitoring", says why).

What has ended is counted over the last hour, found through indexed timestamps
(Run.created_at, WebhookEvent.received_at): a count over all history would scan every row
kept, and would fall when retention deletes rows, which Prometheus reads as a counter
reset. What is still going on (queued, running, delivering) is counted whatever its age,
through the status indexes; those sets stay small.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from django.db.models import Count, DurationField, ExpressionWrapper, F, Max, Min
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily, Metric

from integrations.metrics.histograms import aggregates, as_duration, grouped
from integrations.models import Delivery, DifyApp, Run, WebhookEvent, WorkerHeartbeat
from integrations.runs.heartbeat import STALE_AFTER

WINDOW = timedelta(hours=1)  # the "_last_hour" in the names
IN_PROGRESS = (Run.Status.QUEUED, Run.Status.RUNNING, Run.Status.DELIVERING)
RUN_LABELS = ["kind", "app", "status"]


class HubCollector:
    """A prometheus_client custom collector (no describe(): registered with
    auto_describe=False, so registering it runs no query)."""

    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        since = now - WINDOW
        rows = recent_run_rows(since)
        yield from recent_runs(rows)
        yield from runs_in_progress(now)
        first_run = min((row["first_id"] for row in rows), default=None)
        yield recent_deliveries(since, first_run)
        yield recent_webhook_events(since)
        yield beat_last_tick()
        yield workers_alive(now)


def recent_run_rows(since: datetime) -> list[dict]:
    """The runs created in the window, grouped by kind, app and status: their number, the
    first id, and the two durations' buckets (a COUNT per bucket in the same GROUP BY)."""
    duration = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    return list(
        Run.objects.filter(created_at__gte=since)
        .alias(duration=duration)
        .values("kind", "status", app_name=F("app__name"))
        .annotate(
            n=Count("id"),
            first_id=Min("id"),
            **aggregates("duration", as_duration),
            **aggregates("elapsed"),
        )
        .order_by()
    )


def recent_runs(rows: list[dict]) -> Iterator[Metric]:
    """Runs created in the window by status now, and the duration histograms of those
    that ended."""
    runs = GaugeMetricFamily(
        "dify_hub_runs_last_hour",
        "Runs created in the last hour, by kind, Dify app and their status now.",
        labels=RUN_LABELS,
    )
    for row in rows:
        runs.add_metric([row["kind"], row["app_name"] or "", row["status"]], row["n"])
    yield runs
    yield histogram(
        "dify_hub_run_duration_seconds",
        "From start to end of the runs created in the last hour that ended, by kind.",
        "kind",
        grouped(rows, "kind", "duration"),
    )
    yield histogram(
        "dify_hub_dify_elapsed_seconds",
        "Dify's own elapsed time of the runs created in the last hour, by Dify app.",
        "app",
        grouped(rows, "app_name", "elapsed"),
    )


def histogram(name: str, help_text: str, label: str, found: dict) -> Metric:
    family = GaugeHistogramMetricFamily(name, help_text, labels=[label], unit="seconds")
    for value, hist in sorted(found.items()):
        if hist.count:  # label sets with nothing measured add series, not information
            family.add_metric([value], hist.samples(), hist.total)
    return family


def runs_in_progress(now: datetime) -> Iterator[Metric]:
    """Queued, running and delivering runs of any age; queue depth and the oldest queued
    run per app (0 for an app with an empty queue, so a dashboard shows 0, not no data)."""
    rows = (
        Run.objects.filter(status__in=IN_PROGRESS)
        .values("kind", "status", app_name=F("app__name"))
        .annotate(n=Count("id"), oldest=Min("created_at"))
        .order_by()
    )
    apps = DifyApp.objects.order_by().values_list("name", flat=True)
    depth = dict.fromkeys(apps, 0)
    oldest: dict[str, datetime | None] = dict.fromkeys(depth)
    in_progress = GaugeMetricFamily(
        "dify_hub_runs_in_progress",
        "Runs queued, running or delivering now, by kind, Dify app and status.",
        labels=RUN_LABELS,
    )
    for row in rows:
        app = row["app_name"] or ""
        in_progress.add_metric([row["kind"], app, row["status"]], row["n"])
        if row["status"] == Run.Status.QUEUED:
            depth[app] = depth.get(app, 0) + row["n"]
            first = oldest.get(app)
            oldest[app] = row["oldest"] if first is None else min(first, row["oldest"])
    yield in_progress
    queue = GaugeMetricFamily(
        "dify_hub_queue_depth",
        "Runs queued (waiting for a slot or a retry), by Dify app.",
        labels=["app"],
    )
    age = GaugeMetricFamily(
        "dify_hub_oldest_queued_run_age_seconds",
        "Age of the oldest queued run, by Dify app (0 when none is queued).",
        labels=["app"],
    )
    for app in sorted(depth):
        queue.add_metric([app], depth[app])
        age.add_metric([app], (now - oldest[app]).total_seconds() if oldest[app] else 0.0)
    yield queue
    yield age


def recent_deliveries(since: datetime, first: int | None) -> Metric:
    """The deliveries of the window's runs. Delivery.created_at has no index; run_id has.
    Every run of the window has an id of at least `first` (the smallest among them), so
    that bound changes no count, and it lets PostgreSQL read the window's deliveries from
    the run_id index instead of scanning them all (measured: 56 ms -> 3 ms at 500,000).
    Not a query of its own: MIN(id) WHERE created_at >= … walks the primary key from the
    oldest run instead (180 ms)."""
    rows = (
        Delivery.objects.filter(run_id__gte=first, run__created_at__gte=since)
        .values("kind", "status")
        .annotate(n=Count("id"))
        .order_by()
        if first is not None
        else []
    )
    family = GaugeMetricFamily(
        "dify_hub_deliveries_last_hour",
        "Deliveries of the runs created in the last hour, by recipient kind and status.",
        labels=["kind", "status"],
    )
    for row in rows:
        family.add_metric([row["kind"], row["status"]], row["n"])
    return family


def recent_webhook_events(since: datetime) -> Metric:
    rows = (
        WebhookEvent.objects.filter(received_at__gte=since)
        .values("outcome", forge=F("endpoint__forge"), slug=F("endpoint__slug"))
        .annotate(n=Count("id"))
        .order_by()
    )
    family = GaugeMetricFamily(
        "dify_hub_webhook_events_last_hour",
        "Authenticated webhook requests received in the last hour (redeliveries of an event "
        "not counted again), by forge, endpoint slug and outcome.",
        labels=["forge", "endpoint", "outcome"],
    )
    for row in rows:
        family.add_metric([row["forge"], row["slug"], row["outcome"]], row["n"])
    return family


def beat_last_tick() -> Metric:
    """When beat last sent a task (as /healthz reports it); 0 if it never has. Beat writes
    it every few minutes (its sync), not on every tick: alert after 10 minutes, not 1."""
    last = PeriodicTask.objects.aggregate(last=Max("last_run_at"))["last"]
    return GaugeMetricFamily(
        "dify_hub_beat_last_tick_timestamp_seconds",
        "Unix time at which celery beat last sent a scheduled task (0: never).",
        value=last.timestamp() if last else 0.0,
    )


def workers_alive(now: datetime) -> Metric:
    alive = WorkerHeartbeat.objects.filter(beat_at__gte=now - STALE_AFTER).count()
    return GaugeMetricFamily(
        "dify_hub_workers_alive",
        "Celery worker processes whose heartbeat is fresh (within "
        f"{STALE_AFTER.total_seconds():.0f} s).",
        value=alive,
    )
