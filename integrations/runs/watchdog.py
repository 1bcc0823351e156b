"""Housekeeping that keeps runs and deliveries moving when a process or the broker failed."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db.models import Q

from integrations.dify import DifyError
from integrations.models import Delivery, Run
from integrations.runs import engine

log = logging.getLogger(__name__)

# A message due this long ago and not picked up was lost (broker restart, crash on publish).
LOST_AFTER = timedelta(minutes=2)


def end_stuck_runs(now: datetime) -> list[int]:
    """End runs still `running` past their app's run timeout, asking Dify once first."""
    ended = []
    for run in Run.objects.filter(status=Run.Status.RUNNING).select_related("app"):
        deadline = engine.stuck_deadline(run)
        if deadline is None or now <= deadline:
            continue
        with run.app.client() as client:
            if run.dify_workflow_run_id:
                try:
                    detail = client.get_run(run.dify_workflow_run_id)
                except DifyError:
                    detail = None
                if detail is not None and detail.status != "running":
                    engine.finish(run, detail)
                    continue
            if run.dify_task_id:
                try:  # best effort: free Dify's worker too
                    client.stop(run.dify_task_id, user=run.dify_user)
                except DifyError as exc:
                    log.warning("run %s: could not stop Dify task: %s", run.pk, exc)
        limit = run.app.run_timeout
        if engine.fail(
            run,
            "hub_timeout",
            f"Still running {limit} s after the attempt started (the app's run timeout); "
            "ended by the watchdog."
            + (f" Dify run id {run.dify_workflow_run_id}." if run.dify_workflow_run_id else ""),
        ):
            ended.append(run.pk)
    return ended


def redispatch_lost(now: datetime) -> dict[str, int]:
    """Send again the work whose Celery message never arrived; claims make this safe."""
    from integrations.tasks import deliver, execute_run, reconcile_run

    cutoff = now - LOST_AFTER
    queued = Run.objects.filter(status=Run.Status.QUEUED).filter(
        Q(next_attempt_at__lt=cutoff) | Q(next_attempt_at__isnull=True, updated_at__lt=cutoff)
    )
    waiting = Run.objects.filter(status=Run.Status.RUNNING, next_attempt_at__lt=cutoff)
    pending = Delivery.objects.filter(status=Delivery.Status.PENDING).filter(
        Q(next_attempt_at__lt=cutoff) | Q(next_attempt_at__isnull=True, updated_at__lt=cutoff)
    )
    counts = {"runs": 0, "reconciles": 0, "deliveries": 0}
    for run_id in queued.values_list("pk", flat=True):
        execute_run.delay(run_id)
        counts["runs"] += 1
    for run_id in waiting.values_list("pk", flat=True):
        reconcile_run.delay(run_id)
        counts["reconciles"] += 1
    for delivery_id in pending.values_list("pk", flat=True):
        deliver.delay(delivery_id)
        counts["deliveries"] += 1
    return counts
