"""Retention: old webhook payloads go (their rows stay), old runs go when the operator says so,
in batches, and `hub prune --dry-run` says what would go without touching anything."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from celery import current_app
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from integrations import retention
from integrations.models import Alert, Delivery, DeliveryAttempt, Run, RunSlot, WebhookEvent

pytestmark = pytest.mark.django_db


def aged(model, obj, days: float, field: str) -> None:
    model.objects.filter(pk=obj.pk).update(**{field: timezone.now() - timedelta(days=days)})


@pytest.fixture
def history(make_run, endpoint):
    """Runs of every age and state, with deliveries, attempts and what points at them."""

    def run(days: float, status=Run.Status.SUCCEEDED, **fields) -> Run:
        made = make_run(status=status, **fields)
        delivery = Delivery.objects.create(
            run=made, recipient_name="family", kind="webhook", status="delivered"
        )
        DeliveryAttempt.objects.create(delivery=delivery, number=1, started_at=timezone.now())
        aged(Run, made, days, "created_at")
        return made

    old = run(40)
    old_failed = run(35, status=Run.Status.FAILED)
    old_but_running = run(50, status=Run.Status.RUNNING)
    recent = run(2)
    retried = run(1, retry_of=old)
    event = WebhookEvent.objects.create(
        endpoint=endpoint,
        idempotency_key="a",
        outcome="accepted",
        payload={"object_kind": "merge_request"},
        run=old,
    )
    aged(WebhookEvent, event, 45, "received_at")
    fresh_event = WebhookEvent.objects.create(
        endpoint=endpoint, idempotency_key="b", outcome="ignored", payload={"object_kind": "x"}
    )
    Alert.objects.create(key="digest:1", title="t", last_run=old_failed)
    # A slot left held by a run that has ended (the sweep's to repair).
    RunSlot.objects.update_or_create(app=old.app, number=0, defaults={"run": old_failed})
    return {
        "old": old,
        "old_failed": old_failed,
        "running": old_but_running,
        "recent": recent,
        "retried": retried,
        "event": event,
        "fresh_event": fresh_event,
    }


def test_by_default_runs_stay_and_month_old_payloads_go(history):
    done = retention.prune(timezone.now())
    assert (done.payloads, done.runs) == (1, 0)
    assert Run.objects.count() == 5
    event = WebhookEvent.objects.get(pk=history["event"].pk)
    assert event.payload is None and event.outcome == "accepted" and event.run_id is not None
    assert WebhookEvent.objects.get(pk=history["fresh_event"].pk).payload is not None


def test_runs_past_the_retention_go_with_their_deliveries(history, settings):
    settings.HUB_RETENTION_DAYS = 30
    done = retention.prune(timezone.now(), batch=1)  # one run per batch: the loop goes on
    assert (done.runs, done.deliveries, done.attempts) == (2, 2, 2)
    left = set(Run.objects.values_list("pk", flat=True))
    assert left == {history[k].pk for k in ("running", "recent", "retried")}
    assert Delivery.objects.count() == DeliveryAttempt.objects.count() == 3
    assert Run.objects.get(pk=history["retried"].pk).retry_of_id is None
    assert WebhookEvent.objects.get(pk=history["event"].pk).run_id is None
    assert Alert.objects.get().last_run_id is None
    assert not RunSlot.objects.filter(run_id=history["old_failed"].pk).exists()


def test_zero_keeps_payloads_forever_too(history, settings):
    settings.HUB_EVENT_PAYLOAD_DAYS = 0
    assert retention.prune(timezone.now()).payloads == 0
    assert WebhookEvent.objects.filter(payload__isnull=True).count() == 0


def test_a_dry_run_counts_and_changes_nothing(history, settings):
    settings.HUB_RETENTION_DAYS = 30
    out = StringIO()
    call_command("hub", "prune", "--dry-run", stdout=out)
    assert (
        out.getvalue().startswith("Would remove 1 webhook payloads older than ")
        and "; 2 runs with 2 deliveries and 2 attempts that ended before " in out.getvalue()
    )
    assert Run.objects.count() == 5
    assert WebhookEvent.objects.filter(payload__isnull=True).count() == 0

    out = StringIO()
    call_command("hub", "prune", stdout=out)
    assert out.getvalue().startswith("Removed 1 webhook payloads") and Run.objects.count() == 3


def test_the_dry_run_says_when_runs_are_kept_forever(history):
    assert (
        "runs kept forever (HUB_RETENTION_DAYS is not set)"
        in retention.count(timezone.now()).summary()
    )


def test_the_nightly_task_is_installed_and_known_to_the_worker(db):
    task = PeriodicTask.objects.get(name="dify-hub retention")
    assert task.enabled and (task.crontab.hour, task.crontab.minute) == ("3", "17")
    import integrations.tasks  # noqa: F401  (what a worker imports: the tasks register)

    assert task.task == "integrations.tasks.prune" and task.task in current_app.tasks


@pytest.mark.django_db(transaction=True)  # committed batches: the foreign keys are checked
def test_a_review_in_parts_goes_with_its_parts(make_run, settings):
    """Parts point at their review: each batch takes a review's parts with it (a batch
    boundary between them would break the foreign key at commit), and a part still going
    is let go instead of deleted."""
    settings.HUB_RETENTION_DAYS = 30
    reviews = [make_run(status=Run.Status.SUCCEEDED) for _ in range(3)]
    parts = [
        make_run(status=Run.Status.SUCCEEDED, parent=review, part=n, kind=Run.Kind.REVIEW_PART)
        for review in reviews
        for n in (1, 2)
    ]
    still_going = make_run(
        status=Run.Status.RUNNING, parent=reviews[0], part=3, kind=Run.Kind.REVIEW_PART
    )
    for run in [*reviews, *parts, still_going]:
        aged(Run, run, 40, "created_at")
    kept = make_run(status=Run.Status.SUCCEEDED)  # a recent review keeps its part
    kept_part = make_run(status=Run.Status.SUCCEEDED, parent=kept, part=1)

    assert retention.count(timezone.now()).runs == 3 + 6
    done = retention.prune(timezone.now(), batch=1)

    assert done.runs == 9
    assert set(Run.objects.values_list("pk", flat=True)) == {still_going.pk, kept.pk, kept_part.pk}
    assert Run.objects.get(pk=still_going.pk).parent_id is None
