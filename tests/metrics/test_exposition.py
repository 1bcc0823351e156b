"""What a scrape says about a seeded hub, parsed by prometheus_client's own parsers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_families

from integrations.metrics.histograms import BUCKETS
from integrations.models import Run, WorkerHeartbeat
from tests.metrics.conftest import APP_KEY, FORGE_TOKEN, HOOK_SECRET, samples, value

pytestmark = pytest.mark.django_db


def scraped(scrape) -> dict:
    response = scrape()
    assert response.status_code == 200
    return samples(response.content.decode())


def test_runs_of_the_last_hour_by_kind_app_and_status(seeded_at, scrape):
    found = scraped(scrape)
    runs = "dify_hub_runs_last_hour"
    digest, review = {"kind": "digest", "app": "echo"}, {"kind": "merge_request_review"}
    assert value(found, runs, **digest, status="succeeded") == 2
    assert value(found, runs, **digest, status="failed") == 1  # the older failure is out
    assert value(found, runs, **review, app="review", status="succeeded") == 1
    assert value(found, runs, **review, app="review", status="queued") == 2
    assert value(found, runs, kind="alert", app="", status="succeeded") == 1
    assert value(found, runs, **digest, status="queued") is None  # queued 90 minutes ago
    assert sum(v for (name, _), v in found.items() if name == runs) == 8


def test_runs_in_progress_queue_depth_and_oldest_queued_age(seeded_at, scrape):
    found = scraped(scrape)
    progress = "dify_hub_runs_in_progress"
    review = {"kind": "merge_request_review", "app": "review"}
    assert value(found, progress, **review, status="queued") == 2
    assert value(found, progress, **review, status="running") == 1
    assert value(found, progress, kind="digest", app="echo", status="queued") == 1
    assert value(found, "dify_hub_queue_depth", app="review") == 2
    assert value(found, "dify_hub_queue_depth", app="echo") == 1
    assert value(found, "dify_hub_queue_depth", app="idle") == 0
    age = "dify_hub_oldest_queued_run_age_seconds"
    assert 90 * 60 <= value(found, age, app="echo") < 90 * 60 + 30
    assert 40 * 60 <= value(found, age, app="review") < 40 * 60 + 30
    assert value(found, age, app="idle") == 0


def buckets(found: dict, name: str, **labels: str) -> dict[float, float]:
    return {
        float(bound): value(found, f"{name}_bucket", **labels, le=bound)
        for bound in [*(f"{b:.1f}" if b == int(b) else str(b) for b in BUCKETS), "+Inf"]
    }


def test_run_durations_as_a_histogram_by_kind(seeded_at, scrape):
    found = scraped(scrape)
    name = "dify_hub_run_duration_seconds"
    digest = buckets(found, name, kind="digest")  # 4 s, 45 s and 0.5 s
    assert digest[1.0] == 1 and digest[2.5] == 1 and digest[5.0] == 2 and digest[30.0] == 2
    assert digest[60.0] == 3 and digest[float("inf")] == 3
    assert value(found, f"{name}_gcount", kind="digest") == 3
    assert value(found, f"{name}_gsum", kind="digest") == pytest.approx(49.5)
    review = buckets(found, name, kind="merge_request_review")  # 200 s; two queued, one running
    assert review[120.0] == 0 and review[300.0] == 1 and review[float("inf")] == 1
    assert value(found, f"{name}_gcount", kind="alert") == 1


def test_dify_elapsed_as_a_histogram_by_app(seeded_at, scrape):
    found = scraped(scrape)
    name = "dify_hub_dify_elapsed_seconds"
    echo = buckets(found, name, app="echo")  # 3.5 s, 40 s and 0.25 s
    assert echo[1.0] == 1 and echo[5.0] == 2 and echo[60.0] == 3
    assert value(found, f"{name}_gsum", app="echo") == pytest.approx(43.75)
    assert value(found, f"{name}_gcount", app="review") == 1
    # The alert has no Dify app and no elapsed time: no empty series for it.
    assert value(found, f"{name}_gcount", app="") is None


def test_deliveries_of_the_last_hour_by_kind_and_status(seeded_at, scrape):
    found = scraped(scrape)
    name = "dify_hub_deliveries_last_hour"
    assert value(found, name, kind="rocketchat", status="delivered") == 1
    assert value(found, name, kind="slack", status="delivered") == 1
    assert value(found, name, kind="rocketchat", status="failed") == 1  # the old run's is out


def test_webhook_events_of_the_last_hour_by_endpoint_and_outcome(seeded_at, scrape):
    found = scraped(scrape)
    labels = {"forge": "gitlab", "endpoint": "team-a"}
    name = "dify_hub_webhook_events_last_hour"
    assert value(found, name, **labels, outcome="accepted") == 1
    assert value(found, name, **labels, outcome="ignored") == 2
    assert value(found, name, **labels, outcome="invalid") == 1


def test_beat_last_tick_and_live_workers(seeded_at, scrape):
    found = scraped(scrape)
    assert value(found, "dify_hub_beat_last_tick_timestamp_seconds") == 0  # never ticked
    assert value(found, "dify_hub_workers_alive") == 0
    every = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.MINUTES)
    PeriodicTask.objects.create(
        name="t", task="x", interval=every, last_run_at=seeded_at - timedelta(minutes=2)
    )
    for name, seconds_ago in [("celery@a:1", 3), ("celery@a:2", 60)]:
        WorkerHeartbeat.objects.create(
            name=name,
            hostname="a",
            pid=1,
            started_at=seeded_at,
            beat_at=seeded_at - timedelta(seconds=seconds_ago),
        )
    found = scraped(scrape)
    tick = value(found, "dify_hub_beat_last_tick_timestamp_seconds")
    assert tick == pytest.approx((seeded_at - timedelta(minutes=2)).timestamp())
    assert value(found, "dify_hub_workers_alive") == 1


def test_openmetrics_when_prometheus_asks_for_it(seeded_at, scrape):
    response = scrape(HTTP_ACCEPT="application/openmetrics-text;version=1.0.0,text/plain;q=0.5")
    assert response["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    families = {f.name: f for f in om_families(response.content.decode())}
    assert families["dify_hub_run_duration_seconds"].type == "gaugehistogram"
    assert families["dify_hub_runs_last_hour"].type == "gauge"


def test_a_scrape_costs_the_same_few_queries_however_many_rows(seeded_at, scrape):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert scrape().status_code == 200
        return len(queries)

    scrape()  # the key's first use is written once (at most once a minute)
    before = count()
    echo = Run.objects.filter(app__name="echo").first().app
    Run.objects.bulk_create(
        Run(app=echo, kind=kind, status=status, source="more")
        for kind in (Run.Kind.DIGEST, Run.Kind.MANUAL)
        for status in (Run.Status.QUEUED, Run.Status.SUCCEEDED, Run.Status.FAILED)
        for _ in range(50)
    )
    assert count() == before == 8  # the key, then seven aggregates


def test_no_secret_and_no_run_id_in_the_output(seeded_at, scrape, metrics_key):
    text = scrape().content.decode()
    for secret in (metrics_key, APP_KEY, FORGE_TOKEN, HOOK_SECRET, "SECRET"):
        assert secret not in text
    labels = {
        name
        for family in om_families(
            scrape(HTTP_ACCEPT="application/openmetrics-text;version=1.0.0").content.decode()
        )
        for sample in family.samples
        for name in sample.labels
    }
    assert labels <= {"kind", "app", "status", "forge", "endpoint", "outcome", "le"}
