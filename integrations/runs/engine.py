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
from contextlib import nullcontext
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from integrations.compiled import CompiledQuery
from integrations.dify import (
    DifyConcurrencyLimit,
    DifyError,
    DifyOutcomeUnknown,
    DifyRetryableError,
)
from integrations.errors import HubError, HubRefusal
from integrations.models import DifyApp, Run
from integrations.runs import (
    delivery,
    dify_call,
    heartbeat,
    kinds,
    lifecycle,
    slots,
    stopping,
)
from integrations.runs.backoff import retry_delay
from integrations.runs.connections import DATABASE_DOWN
from integrations.runs.lifecycle import DONE, Next

log = logging.getLogger(__name__)

# Ask Dify again this often while a reconciled run is still running there.
RECONCILE_INTERVAL = 5.0
# A run not in Dify's logs this long after its POST never started (a running run is listed
# within 0.1 s, captures 81 and 95; one queued inside Dify only once it starts, 96c).
NEVER_STARTED_AFTER = timedelta(seconds=90)
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


_WITH_APP = CompiledQuery(
    lambda run_id: Run.objects.filter(pk=run_id).select_related("app"), run_id=int
)


def execute(run_id: int, *, celery_task_id: str = "", follow: list[Next] | None = None) -> Next:
    """A message for `run_id` arrived: start it, or an older queued run of its app, in a free
    slot of the app. Without a free slot nothing happens: a slot is handed over later.

    Having finished a run, the same thread goes on with the app's next queued run while a
    slot is free. The first run's next step is returned; `follow` collects the next steps of
    the others (retries, reconciles) for the task to send."""
    run = _WITH_APP.first(run_id=run_id)
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
        # Unless this is the last turn, the next one claims the slot this run frees.
        last = turn + 1 == RUNS_PER_TASK
        with (
            delivery.posted_here() as notes,
            nullcontext() if last else slots.continuing(run.app_id),
        ):
            steps[claimed.pk] = attempt(claimed)
        # The review's note, by this thread; meanwhile the slot the run freed waits for the
        # next turn (5-17 ms per note in the fan-out; at worst the forge's HTTP timeouts).
        delivery.post_here(notes)
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
        inputs, stop_asked = _inputs_for(run)
        if stop_asked:
            return stopping.stopped_before_dify(run)
        result = dify_call.call(run, inputs)
    except DATABASE_DOWN:
        raise  # nothing can be recorded: the run stays running and is recovered afterwards
    except Exception as exc:  # noqa: BLE001 - each kind is decided below; none is lost
        return _after_failure(run, exc)
    lifecycle.finish(run, result)
    return DONE


def _inputs_for(run: Run) -> tuple[dict, bool]:
    """The kind's inputs for this attempt, checked against the form, and whether a stop was
    asked for meanwhile. What the kind read (inputs, context) is stored in the same UPDATE
    that checks for a stop."""
    context = run.context
    inputs = kinds.prepare(run)
    changed = {}
    if inputs is not run.inputs:
        changed["inputs"] = run.inputs = inputs
    if run.context is not context:
        changed["context"] = run.context
    if changed:
        stored = Run.objects.filter(pk=run.pk, stop_requested_at__isnull=True).update(
            updated_at=timezone.now(), **changed
        )
        stop_asked = not stored
    else:
        stop_asked = stopping.stop_requested(run)
    return dify_call.checked_inputs(run.app, inputs), stop_asked


def _after_failure(run: Run, exc: Exception) -> Next:
    for kind, handle in _ON_FAILURE:
        if isinstance(exc, kind):
            return handle(run, exc)
    # A bug or an unexpected library error: record it, never lose the run.
    log.error("run %s: unexpected error", run.pk, exc_info=exc)
    lifecycle.fail(run, HubError(f"unexpected error: {type(exc).__name__}: {exc}"))
    return DONE


def _not_ready(run: Run, exc: kinds.NotReady) -> Next:
    return lifecycle.wait_later(run, message=exc.message, delay=exc.delay, waits=exc.waits)


def _finished(run: Run, exc: kinds.Finished) -> Next:
    lifecycle.finish(run, exc.result)
    return DONE


def _ended(run: Run, exc: kinds.RunEnded) -> Next:
    lifecycle.end(run, exc.status, exc.code, exc.message, source=exc.source, uncount=True)
    return DONE


def _refused(run: Run, exc: HubRefusal) -> Next:
    lifecycle.fail(run, exc, uncount=True)  # the hub's own refusal: Dify was not called
    return DONE


def _outcome_unknown(run: Run, exc: DifyOutcomeUnknown) -> Next:
    lifecycle.record_ids(run, exc.task_id, exc.workflow_run_id)
    if stopping.stop_requested(run):  # the stream ended after the hub asked Dify to stop the run
        return stopping.stopped_in_dify(run)
    return reconcile_now(run, cause=exc)


def _hub_error(run: Run, exc: HubError) -> Next:
    if exc.retryable:
        return lifecycle.retry_later(run, exc)
    lifecycle.fail(run, exc, context=_hint(run.app, exc))
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


# Most specific first: a refusal, a concurrency limit and an unknown outcome are HubErrors too.
_ON_FAILURE = (
    (kinds.NotReady, _not_ready),
    (kinds.Finished, _finished),
    (kinds.RunEnded, _ended),
    (HubRefusal, _refused),
    (DifyConcurrencyLimit, _concurrency_refused),
    (DifyOutcomeUnknown, _outcome_unknown),
    (HubError, _hub_error),
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
        if stopping.confirmed_by_time(run):
            return stopping.stopped_after_grace(run)
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
        if stopping.stop_requested(run):
            return stopping.stopped_before_dify(run)
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
