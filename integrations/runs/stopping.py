"""Stopping a run on a person's request (the admin's Stop, the API, `hub stop`) or because a
newer push superseded a review.

A queued run ends cancelled at once. For a running run Dify is asked to stop its task
(`/workflows/tasks/{id}/stop` or `/chat-messages/{id}/stop`); the run ends cancelled when the
stream reports `stopped` or simply ends. Dify's own record of a stopped run keeps saying
`running` (captures 63, 97c), so the hub trusts the stream and its own decision.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from integrations.dify import DifyError
from integrations.models import Run
from integrations.runs import dispatch, lifecycle, parts
from integrations.runs.lifecycle import DONE, Next

log = logging.getLogger(__name__)

# Dify keeps a stopped run "running" in its records (captures 63, 97e): after a stop the
# hub waits this long for the stream's end, then trusts its own decision.
STOP_GRACE = timedelta(seconds=30)
# Dify 1.14 keeps a stopped run "running" in its run detail and logs (captures 63, 97c–97f).
QUIRK = "Dify's own record of it may keep saying 'running' (a Dify 1.14 quirk)."


class NotStoppable(Exception):
    """Only queued and running runs can be stopped."""


def request_stop(run: Run, *, by: str) -> str:
    """Stop a run on a person's request: "cancelled" at once when it had not started yet,
    "stop requested" while Dify is asked to stop it (the run ends when Dify confirms)."""
    now = timezone.now()
    if Run.objects.filter(pk=run.pk, status=Run.Status.QUEUED).update(
        status=Run.Status.CANCELLED,
        error_code="stopped",
        error_source="hub",
        error_message=f"The hub: stopped on request by {by} before it started.",
        stop_requested_at=now,
        stop_requested_by=by[:200],
        finished_at=now,
        next_attempt_at=None,
        updated_at=now,
    ):
        parts.part_ended(run)
        return "cancelled"
    if Run.objects.filter(pk=run.pk, status=Run.Status.RUNNING).update(
        stop_requested_at=now, stop_requested_by=by[:200], updated_at=now
    ):
        dispatch.stop_in_dify(run.pk)
        return "stop requested"
    run.refresh_from_db(fields=["status"])
    raise NotStoppable(
        f"Run #{run.pk} is {run.get_status_display().lower()}; only queued and running runs "
        "can be stopped."
    )


def stop_requested(run: Run) -> bool:
    return Run.objects.filter(pk=run.pk, stop_requested_at__isnull=False).exists()


def stopped_by(run: Run) -> str:
    fields = Run.objects.filter(pk=run.pk).values("stop_requested_by").first() or {}
    return fields.get("stop_requested_by") or "someone"


def stopped_before_dify(run: Run) -> Next:
    return _end_stopped(run, " before Dify ran it.", uncount=True)


def stopped_in_dify(run: Run) -> Next:
    return _end_stopped(run, f"; the stream ended after Dify was asked to stop it. {QUIRK}")


def stopped_after_grace(run: Run) -> Next:
    """Dify still says running STOP_GRACE after the stop: the hub trusts its own decision."""
    return _end_stopped(
        run, f"; Dify still said running {STOP_GRACE.seconds} s after the stop. {QUIRK}"
    )


def _end_stopped(run: Run, how: str, *, uncount: bool = False) -> Next:
    message = f"The hub: stopped on request by {stopped_by(run)}{how}"
    lifecycle.end(run, Run.Status.CANCELLED, "stopped", message, uncount=uncount)
    return DONE


def confirmed_by_time(run: Run) -> bool:
    requested = Run.objects.filter(pk=run.pk).values_list("stop_requested_at", flat=True).first()
    return requested is not None and timezone.now() - requested > STOP_GRACE


def send_stop(run_id: int) -> Next:
    """Tell Dify to stop the run's task (a run stopped on request, or one superseded). Dify
    answers 200 whatever the task (captures 29, 30): the stream's end is the confirmation.
    A running run whose task id is not known yet is asked again in a moment."""
    run = Run.objects.select_related("app").filter(pk=run_id).first()
    if run is None:
        return DONE
    if not run.dify_task_id:
        waiting = run.status == Run.Status.RUNNING and run.stop_requested_at is not None
        wait = timedelta(seconds=settings.HUB_STOP_WAIT)
        if waiting and timezone.now() - run.stop_requested_at < wait:
            return Next("stop", countdown=2, run_id=run.pk)
        return DONE
    try:
        with run.app.client() as client:
            client.stop(run.dify_task_id, user=run.dify_user, mode=run.app.mode or "workflow")
    except DifyError as exc:
        log.info("run %s: could not stop Dify task %s: %s", run.pk, run.dify_task_id, exc)
    return DONE
