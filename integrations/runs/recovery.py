"""Keeping runs and deliveries moving when a process or the broker failed.

`recover` runs every 15 seconds (beat; see the migration that installs it):
- a run whose worker stopped beating is reconciled from Dify (never re-POSTed blindly);
- a free slot with runs waiting is handed out (a lost hand-off or message);
- a parked run whose "ask Dify again" message is overdue is asked again;
- a delivery whose worker died mid-send is settled, and a lost delivery message resent.
`end_stuck_runs` (minutely) is the last resort: a run still running past its app's run
timeout is ended, asking Dify once first. Claims make every re-send safe.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.utils import timezone

from integrations.dify import DifyError
from integrations.models import Run
from integrations.runs import delivery, dispatch, heartbeat, lifecycle, slots

log = logging.getLogger(__name__)

# A message due this long ago and not picked up was lost (broker restart, a killed worker
# holding it unacknowledged, a crash on publish).
LOST_AFTER = timedelta(seconds=30)


def recover(now: datetime, *, dead: set[str] | None = None) -> dict[str, int]:
    live = {name: beat for name, beat in heartbeat.beats(now).items() if name not in (dead or ())}
    counts = {
        "orphans": recover_orphans(live, dead or set()),
        "slots_repaired": slots.repair(),
        "deliveries_orphaned": delivery.orphaned(now, live),
    }
    run_ids = slots.pending_hand_offs(now)
    for run_id in run_ids:
        dispatch.publish(dispatch.EXECUTE_RUN, run_id)
    overdue = Run.objects.filter(
        status=Run.Status.RUNNING, holder="", next_attempt_at__lt=now - LOST_AFTER
    ).values_list("pk", flat=True)
    reconciles = list(overdue[:1000])
    for run_id in reconciles:
        dispatch.publish(dispatch.RECONCILE_RUN, run_id)
    lost = delivery.lost(now, LOST_AFTER)
    for delivery_id in lost:
        dispatch.publish(dispatch.DELIVER, delivery_id)
    counts.update(runs=len(run_ids), reconciles=len(reconciles), deliveries=len(lost))
    if any(counts.values()):
        log.info("recovery: %s", counts)
    return counts


def recover_orphans(live: dict[str, heartbeat.Beat], dead: set[str]) -> int:
    """Runs held by a worker that stopped beating, or that no longer works on them: hand
    them to a reconciler now."""
    running = Run.objects.filter(status=Run.Status.RUNNING).exclude(holder="")
    held = running.values_list("pk", "holder", "updated_at")[:5000]
    orphans = [
        (run_id, holder)
        for run_id, holder, held_since in held
        if holder not in live or live[holder].dropped("runs", run_id, held_since)
    ]
    recovered = 0
    for run_id, holder in orphans[:1000]:
        if Run.objects.filter(pk=run_id, status=Run.Status.RUNNING, holder=holder).update(
            holder="", next_attempt_at=None, updated_at=timezone.now()
        ):
            log.warning("run %s: its worker %s stopped; reconciling it from Dify", run_id, holder)
            dispatch.publish(dispatch.RECONCILE_RUN, run_id)
            recovered += 1
    if dead:
        heartbeat.forget(dead)
    return recovered


def end_stuck_runs(now: datetime) -> list[int]:
    """End runs still `running` past their app's run timeout, asking Dify once first."""
    ended = []
    for run in Run.objects.filter(status=Run.Status.RUNNING).select_related("app"):
        started = run.attempt_started_at or run.started_at
        if started is None or now <= started + timedelta(seconds=run.app.run_timeout):
            continue
        with run.app.client() as client:
            if run.dify_workflow_run_id:
                try:
                    detail = client.get_run(run.dify_workflow_run_id)
                except DifyError:
                    detail = None
                if detail is not None and detail.status != "running":
                    lifecycle.finish(run, detail)
                    continue
            if run.dify_task_id:
                try:  # best effort: free Dify's worker too
                    client.stop(
                        run.dify_task_id, user=run.dify_user, mode=run.app.mode or "workflow"
                    )
                except DifyError as exc:
                    log.warning("run %s: could not stop Dify task: %s", run.pk, exc)
        limit = run.app.run_timeout
        message = (
            f"The hub: still running {limit} s after the attempt started (the app's run "
            "timeout); ended by the watchdog."
        )
        if run.dify_workflow_run_id:
            message += f" Dify run id {run.dify_workflow_run_id}."
        if lifecycle.end(run, Run.Status.FAILED, "hub_timeout", message):
            ended.append(run.pk)
    return ended
