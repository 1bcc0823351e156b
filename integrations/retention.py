"""Keeping history for as long as the operator wants, and no longer.

- Webhook events keep their row (outcome, reason, trigger, the run it made) for good; their
  body and headers go after HUB_EVENT_PAYLOAD_DAYS (30): a push hook's payload is most of a
  hub's database, and nobody reads a month-old one.
- Runs (with their deliveries and attempts) are kept forever unless HUB_RETENTION_DAYS is
  set; then those that ended before it go. A run still running is never touched.

Everything goes in batches of HUB_PRUNE_BATCH rows, each its own short transaction, so no
lock is held for long and webhooks keep being answered while a nightly prune runs (measured
in `make bench`, see docs/benchmarks.md). `hub prune --dry-run` counts what would go.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from integrations.models import Alert, Delivery, DeliveryAttempt, Run, RunSlot, WebhookEvent

log = logging.getLogger(__name__)


@dataclass
class Pruned:
    """What a prune removed (or, dry, would remove)."""

    payloads: int = 0
    runs: int = 0
    deliveries: int = 0
    attempts: int = 0
    seconds: float = 0.0
    cutoffs: dict[str, datetime | None] = field(default_factory=dict)

    def summary(self) -> str:
        runs = self.cutoffs.get("runs")
        kept = "runs kept forever (HUB_RETENTION_DAYS is not set)"
        return (
            f"{self.payloads} webhook payloads older than {_day(self.cutoffs.get('payloads'))}; "
            + (
                f"{self.runs} runs with {self.deliveries} deliveries and {self.attempts} "
                f"attempts that ended before {_day(runs)}"
                if runs
                else kept
            )
        )


def _day(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


def cutoffs(now: datetime) -> dict[str, datetime | None]:
    payload_days, run_days = settings.HUB_EVENT_PAYLOAD_DAYS, settings.HUB_RETENTION_DAYS
    return {
        "payloads": now - timedelta(days=payload_days) if payload_days else None,
        "runs": now - timedelta(days=run_days) if run_days else None,
    }


def _old_payloads(cutoff: datetime):
    # Oldest first, through the partial index of the payloads still kept.
    return WebhookEvent.objects.filter(received_at__lt=cutoff, payload__isnull=False).order_by(
        "received_at"
    )


def _old_runs(cutoff: datetime):
    """Runs that ended before the cutoff; a review's parts go with their review."""
    return Run.objects.filter(status__in=Run.FINAL, created_at__lt=cutoff, parent__isnull=True)


def count(now: datetime) -> Pruned:
    """What a prune now would remove (for `hub prune --dry-run`)."""
    limits = cutoffs(now)
    found = Pruned(cutoffs=limits)
    if limits["payloads"]:
        found.payloads = _old_payloads(limits["payloads"]).count()
    if limits["runs"]:
        runs = _old_runs(limits["runs"])
        found.runs = (
            runs.count() + Run.objects.filter(parent__in=runs, status__in=Run.FINAL).count()
        )
        found.deliveries = Delivery.objects.filter(run__in=runs).count()
        found.attempts = DeliveryAttempt.objects.filter(delivery__run__in=runs).count()
    return found


def prune(now: datetime, *, batch: int | None = None, pause: float = 0.0) -> Pruned:
    """Remove what is past its time, batch by batch; `pause` seconds between batches."""
    batch = batch or settings.HUB_PRUNE_BATCH
    started = time.monotonic()
    limits = cutoffs(now)
    done = Pruned(cutoffs=limits)
    if limits["payloads"]:
        while ids := list(_old_payloads(limits["payloads"]).values_list("pk", flat=True)[:batch]):
            done.payloads += WebhookEvent.objects.filter(pk__in=ids).update(
                payload=None, headers={}
            )
            if len(ids) < batch:
                break  # that was the last: no query that finds nothing
            time.sleep(pause)
    if limits["runs"]:
        while ids := list(
            _old_runs(limits["runs"]).order_by("pk").values_list("pk", flat=True)[:batch]
        ):
            _delete_runs(ids, done)
            if len(ids) < batch:
                break  # the last one: the next select would read every run kept, for nothing
            time.sleep(pause)
    done.seconds = time.monotonic() - started
    if done.payloads or done.runs:
        log.info("retention: removed %s", done.summary())
    return done


def _delete_runs(ids: list[int], done: Pruned) -> None:
    """One batch: what points at these runs lets go, then attempts, deliveries and runs go,
    each in one statement (no per-row cascade in Python)."""
    with transaction.atomic():
        parts = Run.objects.filter(parent_id__in=ids)
        # A part still going (its review was stopped while Dify ran it) is let go, not deleted.
        parts.exclude(status__in=Run.FINAL).update(parent=None)
        ids = [*ids, *parts.values_list("pk", flat=True)]
        WebhookEvent.objects.filter(run_id__in=ids).update(run=None)
        Run.objects.filter(retry_of_id__in=ids).update(retry_of=None)
        Alert.objects.filter(last_run_id__in=ids).update(last_run=None)
        # A slot left held by a run that has ended is the sweep's to repair; let go here
        # too, as deleting the run through the ORM would (SET_NULL).
        RunSlot.objects.filter(run_id__in=ids).update(run=None, taken_at=None)
        done.attempts += DeliveryAttempt.objects.filter(delivery__run_id__in=ids)._raw_delete(
            DeliveryAttempt.objects.db
        )
        done.deliveries += Delivery.objects.filter(run_id__in=ids)._raw_delete(Delivery.objects.db)
        done.runs += Run.objects.filter(pk__in=ids, status__in=Run.FINAL)._raw_delete(
            Run.objects.db
        )
