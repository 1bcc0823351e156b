"""The minutely sweep that beat runs (see the migration that installs it)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.utils import timezone

from integrations.digests.firing import catch_up
from integrations.models import Delivery, Digest
from integrations.runs.watchdog import end_stuck_runs, redispatch_lost

log = logging.getLogger(__name__)

HOUSEKEEPING_TASK_NAME = "dify-hub housekeeping"
# A delivery stays in "sending" only for one HTTP request (seconds); longer means its worker died.
SENDING_STALE_AFTER = timedelta(minutes=10)


def sweep(now: datetime) -> dict:
    summary: dict = {"caught_up": 0}
    for digest in Digest.objects.filter(enabled=True).select_related("app"):
        summary["caught_up"] += len(catch_up(digest, now))
    summary["ended"] = end_stuck_runs(now)
    summary["abandoned_deliveries"] = abandon_stale_sends(now)
    summary.update(redispatch_lost(now))
    if any(summary.values()):
        log.info("housekeeping: %s", summary)
    return summary


def abandon_stale_sends(now: datetime) -> int:
    """A worker died mid-send. A chat recipient may have the message, so it is not sent again
    (that could post it twice); the delivery is failed with that explanation instead. A GitLab
    note is found again by its marker, so that delivery is simply tried again."""
    from integrations.runs.delivery import BUILT_IN_TARGETS, settle

    stale = Delivery.objects.filter(
        status=Delivery.Status.SENDING, updated_at__lt=now - SENDING_STALE_AFTER
    )
    retried = stale.filter(kind__in=list(BUILT_IN_TARGETS)).update(
        status=Delivery.Status.PENDING,
        error="The worker stopped while sending; sending again.",
        next_attempt_at=None,
        updated_at=now - SENDING_STALE_AFTER,  # so the redispatch below picks it up at once
    )
    failed = list(stale.values_list("pk", "run_id"))
    for delivery_id, run_id in failed:
        Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.SENDING).update(
            status=Delivery.Status.FAILED,
            error="The worker stopped while sending; the recipient may or may not have the "
            "message, so it was not sent again.",
            finished_at=timezone.now(),
        )
        settle(run_id)
    return retried + len(failed)
