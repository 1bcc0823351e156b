"""The run lifecycle: start a queued run in a free slot, call Dify, store what came back.

Rules:
- A run is POSTed to Dify only after its claim (queued -> running, slots.claim), so a
  redelivered Celery message or a second worker cannot start it twice.
- The Dify run id is stored the moment Dify reports it, so when the outcome is unknown
  (timeout, cut stream, gateway 504, a killed worker) the hub asks Dify instead of
  re-POSTing.
- Errors are decided on their fields alone (integrations/errors.py): retryable ones go back
  to `queued` with backoff, others end the run at once; the hub's own refusals are not
  attempts.
- Every transition out of `running` is conditional on still being `running` (lifecycle.py),
  so the worker, the reconciler and the watchdog cannot both finish one run.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integrations.dify import (
    DifyConcurrencyLimit,
    DifyError,
    DifyOutcomeUnknown,
    DifyRetryableError,
)
from integrations.errors import HubError, HubRefusal
from integrations.models import DifyApp, Run
from integrations.runs import dify_call, dispatch, heartbeat, kinds, lifecycle, slots
from integrations.runs.backoff import retry_delay
from integrations.runs.connections import DATABASE_DOWN
from integrations.runs.lifecycle import DONE, Next

log = logging.getLogger(__name__)

# Ask Dify again this often while a reconciled run is still running there.
RECONCILE_INTERVAL = 5.0
# A run not in Dify's logs this long after its POST never started (a running run is listed
# within 0.1 s, captures 81 and 95; one queued inside Dify only once it starts, 96c).
NEVER_STARTED_AFTER = timedelta(seconds=90)
# Dify keeps a stopped run "running" in its records (captures 63, 97e): after a stop the
# hub waits this long for the stream's end, then trusts its own decision.
STOP_GRACE = timedelta(seconds=30)
# Chat and completion runs are not listed in the logs (90k), so only an id finds them.
LOOKUP_BY_LOGS = {DifyApp.Mode.WORKFLOW, ""}

HINTS = {
    "unauthorized": "check the app's API key in the hub (Dify API Access page)",
    "forbidden": "the app's service API is disabled or the app is unavailable in Dify",
    "app_unavailable": "publish the app in Dify and check its configuration",
    "not_workflow_app": "the app's mode changed; run 'Check connection' again",
    "not_chat_app": "the app's mode changed; run 'Check connection' again",
    "tls_error": "set the app's CA bundle if Dify uses a private certificate authority",
}


# A worker thread that finished a run takes the next queued run of the same app itself,
# without a round trip through the broker, up to this many in one task.
RUNS_PER_TASK = 50


def execute(run_id: int, *, celery_task_id: str = "", follow: list[Next] | None = None) -> Next:
    """A message for `run_id` arrived: start it, or an older queued run of its app, in a free
    slot of the app. Without a free slot nothing happens: a slot is handed over later.

    Having finished a run, the same thread goes on with the app's next queued run while a
    slot is free. The first run's next step is returned; `follow` collects the next steps of
    the others (retries, reconciles) for the task to send."""
    run = Run.objects.filter(pk=run_id).select_related("app").first()
    if run is None or run.status != Run.Status.QUEUED:
        return DONE
    steps: dict[int, Next] = {}  # each run's latest next step (a run may come round again)
    for turn in range(RUNS_PER_TASK):
        claimed = slots.claim(
            run.app, holder=heartbeat.identity(), celery_task_id=celery_task_id, early=turn == 0
        )
        if claimed is None:
            break
        if claimed.pk != run_id:
            log.debug("message for run %s starts run %s of its app", run_id, claimed.pk)
        steps[claimed.pk] = attempt(claimed)
    if not steps:
        return DONE
    first, *others = steps.values()
    if follow is not None:
        follow.extend(step for step in others if step is not DONE)
    return first


def attempt(run: Run) -> Next:
    """One attempt of a claimed run: prepare, check, call Dify, store the outcome."""
    with heartbeat.working("runs", run.pk):
        return _attempt(run)


def _attempt(run: Run) -> Next:
    app = run.app
    if not app.enabled:
        lifecycle.end(
            run,
            Run.Status.FAILED,
            "app_disabled",
            f"The hub: the Dify app '{app.name}' is disabled in the hub.",
            uncount=True,
        )
        return DONE
    try:
        inputs = kinds.prepare(run)
        if inputs is not run.inputs:
            run.inputs = inputs
            Run.objects.filter(pk=run.pk).update(inputs=inputs, updated_at=timezone.now())
        inputs = dify_call.checked_inputs(app, inputs)
        if stop_requested(run):
            return _stopped_before_dify(run)
        result = dify_call.call(run, inputs)
    except kinds.NotReady as exc:
        return lifecycle.wait_later(run, message=exc.message, delay=exc.delay, waits=exc.waits)
    except kinds.RunEnded as exc:
        lifecycle.end(run, exc.status, exc.code, exc.message, source=exc.source, uncount=True)
        return DONE
    except HubRefusal as exc:
        lifecycle.fail(run, exc, uncount=True)
        return DONE
    except DifyConcurrencyLimit as exc:
        return _concurrency_refused(run, exc)
    except DifyOutcomeUnknown as exc:
        lifecycle.record_ids(run, exc.task_id, exc.workflow_run_id)
        if stop_requested(run):  # the stream ended after the hub asked Dify to stop the run
            return _stopped_in_dify(run)
        return reconcile_now(run, cause=exc)
    except HubError as exc:
        if exc.retryable:
            return lifecycle.retry_later(run, exc)
        lifecycle.fail(run, exc, context=_hint(app, exc))
        return DONE
    except DATABASE_DOWN:
        raise  # nothing can be recorded: the run stays running and is recovered afterwards
    except Exception as exc:  # a bug or an unexpected library error: record it, never lose the run
        log.exception("run %s: unexpected error", run.pk)
        lifecycle.fail(run, HubError(f"unexpected error: {type(exc).__name__}: {exc}"))
        return DONE
    lifecycle.finish(run, result)
    return DONE


def _hint(app: DifyApp, exc: HubError) -> str:
    if not isinstance(exc, DifyError):
        return ""
    hint = HINTS.get(exc.code, "")
    if exc.code == "invalid_param" and "not published" in exc.message.lower():
        hint = "publish the workflow in Dify"
    return f"app '{app.name}'" + (f": {hint}" if hint else "")


def _concurrency_refused(run: Run, exc: DifyConcurrencyLimit) -> Next:
    """Dify is at the app's max_active_requests: wait with the slot held back, never fail."""
    app = run.app
    streaming = app.response_mode == DifyApp.ResponseMode.STREAMING
    if streaming and exc.limit in (None, 1) and not slots.in_flight(app.pk, besides=run.pk):
        # Dify 1.14.1 counts a streaming run twice against the limit, so an app limited to
        # one concurrent request refuses every streaming call (capture 91).
        note = (
            f"Switched to blocking mode on {timezone.now():%Y-%m-%d %H:%M} UTC: Dify refused a "
            "streaming run while no other run of this app was in flight, which it does when "
            "the app's concurrency limit is 1 (Dify counts a streaming run twice)."
        )
        DifyApp.objects.filter(pk=app.pk).update(
            response_mode=DifyApp.ResponseMode.BLOCKING, notice=note
        )
        app.response_mode, app.notice = DifyApp.ResponseMode.BLOCKING, note
        log.warning("app %s: %s", app.name, note)
        return lifecycle.wait_later(run, message=f"{exc}; {note}", delay=0)
    delay = retry_delay(2, base=10, cap=60, retry_after=exc.retry_after)
    return lifecycle.wait_later(
        run, message=f"{exc}; the hub runs fewer of this app's runs at once", delay=delay, cool=True
    )


def reconcile(run_id: int) -> Next:
    """A parked or orphaned run: take it over and find out from Dify what became of it."""
    taken = Run.objects.filter(pk=run_id, status=Run.Status.RUNNING, holder="").update(
        holder=heartbeat.identity(), next_attempt_at=None, updated_at=timezone.now()
    )
    if not taken:
        return DONE
    run = Run.objects.select_related("app").get(pk=run_id)
    with heartbeat.working("runs", run.pk):
        return reconcile_now(run, cause=None)


def reconcile_now(run: Run, *, cause: DifyError | None) -> Next:
    """Ask Dify about a run whose outcome is unknown; never re-POST blindly."""
    app = run.app
    reason = str(cause) if cause else "the worker that ran it stopped before the run finished"
    if not run.dify_workflow_run_id and app.mode not in LOOKUP_BY_LOGS:
        lifecycle.end(
            run,
            Run.Status.FAILED,
            "outcome_unknown",
            f"{reason}. Dify may have completed it, but {app.get_mode_display()} runs without "
            "a run id cannot be looked up (Dify lists only workflow runs in its logs), so it "
            "was not sent again (that could answer twice).",
            source="dify",
        )
        return DONE
    try:
        with app.client() as client:
            run_ref = run.dify_workflow_run_id or _find_in_logs(client, run)
            if not run_ref:
                return _not_in_logs(run, cause, reason)
            detail = client.get_run(run_ref)
    except (DifyRetryableError, DifyOutcomeUnknown) as exc:
        return lifecycle.park(run, f"cannot ask Dify about the run yet: {exc}", RECONCILE_INTERVAL)
    except DifyError as exc:
        lifecycle.fail(run, exc, context=f"{reason}; asking Dify about the run failed")
        return DONE
    if detail.status == "running":
        if _stop_confirmed_by_time(run):
            lifecycle.end(
                run,
                Run.Status.CANCELLED,
                "stopped",
                "The hub: stopped on request. Dify's own record of the run may keep saying "
                "'running' (a Dify 1.14 quirk); the hub trusts its stop.",
            )
            return DONE
        return lifecycle.park(run, f"{reason}; Dify says it is still running", RECONCILE_INTERVAL)
    lifecycle.finish(run, detail)
    return DONE


def _find_in_logs(client, run: Run) -> str:
    since = (run.attempt_started_at or run.created_at) - timedelta(seconds=5)
    found = client.find_runs(user=run.dify_user, created_after=since)
    entries = sorted((e for e in found if e.created_at >= since), key=lambda e: e.created_at)
    if not entries:
        return ""
    run_ref = entries[0].workflow_run_id
    lifecycle.record_ids(run, None, run_ref)
    return run_ref


def _not_in_logs(run: Run, cause: DifyError | None, reason: str) -> Next:
    """No run of ours in Dify's logs: not started yet (queued inside Dify), or never."""
    closed_empty = cause is not None and cause.code == "stream_closed_empty"
    started = run.attempt_started_at or run.created_at
    if closed_empty or timezone.now() - started > NEVER_STARTED_AFTER:
        if stop_requested(run):
            return _stopped_before_dify(run)
        never = DifyRetryableError(
            f"{reason}; Dify's logs show no run of it, so it never started",
            code="never_started",
        )
        return lifecycle.retry_later(run, never)
    # Nothing shows that Dify is working on it, so its slot goes to the next run meanwhile
    # (holding it for up to NEVER_STARTED_AFTER would stall an app with a small cap); should
    # the run turn up in the logs after all, it is followed without a slot.
    with transaction.atomic():
        slots.release(run)
        return lifecycle.park(
            run, f"{reason}; Dify's logs show no run of it yet", RECONCILE_INTERVAL
        )


# --- stopping a run --------------------------------------------------------------------------


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


def _stopped_by(run: Run) -> str:
    fields = Run.objects.filter(pk=run.pk).values("stop_requested_by").first() or {}
    return fields.get("stop_requested_by") or "someone"


def _stopped_before_dify(run: Run) -> Next:
    by = _stopped_by(run)
    lifecycle.end(
        run,
        Run.Status.CANCELLED,
        "stopped",
        f"The hub: stopped on request by {by} before Dify ran it.",
        uncount=True,
    )
    return DONE


def _stopped_in_dify(run: Run) -> Next:
    by = _stopped_by(run)
    lifecycle.end(
        run,
        Run.Status.CANCELLED,
        "stopped",
        f"The hub: stopped on request by {by}; the stream ended after Dify was asked to stop "
        "the run. Dify's own record of it may keep saying 'running' (a Dify 1.14 quirk).",
    )
    return DONE


def _stop_confirmed_by_time(run: Run) -> bool:
    requested = Run.objects.filter(pk=run.pk).values_list("stop_requested_at", flat=True).first()
    return requested is not None and timezone.now() - requested > STOP_GRACE


def stop_in_dify(run_id: int) -> Next:
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
