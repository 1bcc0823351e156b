"""A metrics key, a scrape helper, and a hub with known runs, deliveries and events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

APP_KEY = "app-SECRET-dify-key-7f3a"
FORGE_TOKEN = "glpat-SECRET-forge-token-91b2"
HOOK_SECRET = "SECRET-webhook-token-5c1d"


@pytest.fixture
def metrics_key(db) -> str:
    from integrations.models import HubAPIKey

    return HubAPIKey.create_key("prometheus", HubAPIKey.Scope.METRICS)[1]


@pytest.fixture
def scrape(client, metrics_key):
    """GET /metrics with the metrics key (key=None: no header); returns the response."""

    def get(key: str | None = metrics_key, **extra):
        headers = {} if key is None else {"HTTP_AUTHORIZATION": f"Bearer {key}"}
        return client.get("/metrics", **headers, **extra)

    return get


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """{(sample name, labels): value} from the text format, parsed by prometheus_client."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


@pytest.fixture
def seeded_at(db):
    """Three apps, an endpoint, runs of the last hour and older, deliveries and events;
    returns the time they were seeded at."""
    from django.utils import timezone

    from integrations.models import Delivery, DifyApp, ReviewEndpoint, Run, WebhookEvent

    now = timezone.now()
    echo = DifyApp.objects.create(name="echo", base_url="http://127.0.0.1:9/v1", api_key=APP_KEY)
    review = DifyApp.objects.create(name="review", base_url="http://127.0.0.1:9/v1", api_key="k")
    DifyApp.objects.create(name="idle", base_url="http://127.0.0.1:9/v1", api_key="k2")
    endpoint = ReviewEndpoint(
        name="team",
        slug="team-a",
        app=review,
        base_url="https://gitlab.example.com",
        access_token=FORGE_TOKEN,
    )
    endpoint.set_secret_token(HOOK_SECRET)
    endpoint.save()

    def run(app, kind, status, age_minutes, took=None, elapsed=None, **fields):
        created = now - timedelta(minutes=age_minutes)
        started = created + timedelta(seconds=1) if took is not None else None
        row = Run.objects.create(
            app=app, kind=kind, status=status, source="seed", elapsed=elapsed, **fields
        )
        finished = started + timedelta(seconds=took) if started else None
        Run.objects.filter(pk=row.pk).update(
            created_at=created, started_at=started, finished_at=finished
        )
        return row

    digest, review_kind = Run.Kind.DIGEST, Run.Kind.MERGE_REQUEST_REVIEW
    ok = run(echo, digest, Run.Status.SUCCEEDED, 10, took=4, elapsed=3.5)
    run(echo, digest, Run.Status.SUCCEEDED, 20, took=45, elapsed=40.0)
    bad = run(echo, digest, Run.Status.FAILED, 30, took=0.5, elapsed=0.25)
    run(review, review_kind, Run.Status.SUCCEEDED, 5, took=200, elapsed=190.0)
    run(review, review_kind, Run.Status.RUNNING, 2)
    run(review, review_kind, Run.Status.QUEUED, 1)
    run(review, review_kind, Run.Status.QUEUED, 40)
    run(None, Run.Kind.ALERT, Run.Status.SUCCEEDED, 3, took=1)
    # Older than the window: counted only while in progress.
    run(echo, digest, Run.Status.FAILED, 120, took=10, elapsed=9.0)
    run(echo, digest, Run.Status.QUEUED, 90)
    old = run(echo, digest, Run.Status.SUCCEEDED, 180, took=10)

    for parent, kind, status in [
        (ok, "rocketchat", Delivery.Status.DELIVERED),
        (ok, "slack", Delivery.Status.DELIVERED),
        (bad, "rocketchat", Delivery.Status.FAILED),
        (old, "rocketchat", Delivery.Status.FAILED),
    ]:
        Delivery.objects.create(run=parent, recipient_name="room", kind=kind, status=status)

    for n, (outcome, minutes) in enumerate(
        [("accepted", 5), ("ignored", 6), ("ignored", 7), ("invalid", 8), ("accepted", 200)]
    ):
        event = WebhookEvent.objects.create(
            endpoint=endpoint,
            idempotency_key=f"key-{n}",
            outcome=outcome,
            headers={"X-Gitlab-Token": HOOK_SECRET},
        )
        WebhookEvent.objects.filter(pk=event.pk).update(
            received_at=now - timedelta(minutes=minutes)
        )
    return now
