"""The run lifecycle: claim a queued Run, call Dify, store what came back.

Rules:
- A run is POSTed to Dify only from `queued`, claimed by a conditional UPDATE, so a
  redelivered Celery message or a second worker cannot start it twice.
- The Dify run id is stored the moment Dify reports it (`on_started`), so when the outcome
  is unknown (timeout, cut stream, gateway 504) the hub asks Dify instead of re-POSTing.
- Retryable errors go back to `queued` with exponential backoff; permanent ones fail at once.
- Every transition out of `running` is conditional on still being `running`, so the worker,
  the reconciler and the watchdog cannot both finish one run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from integrations.dify import (
    DifyError,
    DifyOutcomeUnknown,
    DifyRetryableError,
    RunResult,
    validate_inputs,
)
from integrations.models import DifyApp, Run
from integrations.runs import followups
from integrations.runs.backoff import retry_delay
from integrations.runs.connections import release_idle_connections
from integrations.runs.service import trace_id
from integrations.runs.steps import NotReady, RunEnded, StepError

log = logging.getLogger(__name__)

WORKFLOW_MODES = {DifyApp.Mode.WORKFLOW, DifyApp.Mode.ADVANCED_CHAT, ""}
# Ask Dify again this often while a reconciled run is still running there.
RECONCILE_INTERVAL = 15.0


@dataclass(frozen=True)
class Next:
    """What the Celery task should do after one step of the engine."""

    action: str  # "done" | "execute" | "reconcile"
    countdown: float = 0.0


DONE = Next("done")


def execute(run_id: int, *, celery_task_id: str = "") -> Next:
    run = _claim(run_id, celery_task_id)
    if isinstance(run, Next):
        return run
    app = run.app
    if not app.enabled:
        fail(run, "app_disabled", f"The Dify app '{app.name}' is disabled in the hub.")
        return DONE
    try:
        inputs = followups.prepare(run)
        if inputs is not run.inputs:
            _store_inputs(run, inputs)
        inputs = validate_inputs(app.fields, inputs) if app.input_form else inputs
        release_idle_connections()
        with app.client() as client:
            result = client.run_app(
                app.mode or DifyApp.Mode.WORKFLOW,
                dict(inputs),
                user=run.dify_user,
                trace_id=trace_id(run),
                response_mode=app.response_mode,
                query=run.query or None,
                on_started=lambda task_id, run_ref: _started(run, task_id, run_ref),
            )
    except NotReady as exc:
        return _wait(run, exc)
    except RunEnded as exc:
        end(run, exc.status, exc.code, exc.message)
        return DONE
    except StepError as exc:
        if exc.retryable:
            return _retry_orfail(run, exc)
        fail(run, exc.code, exc.message)
        return DONE
    except DifyRetryableError as exc:
        return _retry_orfail(run, exc)
    except DifyOutcomeUnknown as exc:
        _record_ids(run, exc.task_id, exc.workflow_run_id)
        return reconcile(run.pk, cause=exc)
    except DifyError as exc:
        fail(run, exc.code, _describe(app, exc))
        return DONE
    except Exception as exc:  # a bug or an unexpected library error: record it, never lose the run
        log.exception("run %s: unexpected error calling Dify", run.pk)
        fail(run, "hub_error", f"Unexpected error in the hub: {type(exc).__name__}: {exc}")
        return DONE
    finish(run, result)
    return DONE


def reconcile(run_id: int, *, cause: DifyError | None = None) -> Next:
    """Find out from Dify what became of a run whose outcome is unknown; never re-POST blindly."""
    run = Run.objects.select_related("app").get(pk=run_id)
    if run.status != Run.Status.RUNNING:
        return DONE
    app = run.app
    reason = str(cause) if cause else "the connection to Dify ended before the run finished"
    if app.mode not in WORKFLOW_MODES:
        fail(
            run,
            "outcome_unknown",
            f"{reason}. Dify may have completed it, but {app.get_mode_display()} apps cannot be "
            "looked up by the hub, so it was not sent again (that could answer twice).",
        )
        return DONE
    with app.client() as client:
        try:
            run_ref = run.dify_workflow_run_id or _find_started_run(client, run)
            if not run_ref:
                # Dify writes a run to its logs only when the run ends, so "not in the logs"
                # means "not started" only once any run of ours would have ended.
                if timezone.now() < _logs_deadline(run):
                    return _poll_later(run, f"{reason}; Dify's logs show no run of it yet")
                return _retry_orfail(run, cause, requeue_note="Dify has no record of the run")
            detail = client.get_run(run_ref)
        except (DifyRetryableError, DifyOutcomeUnknown) as exc:
            return _poll_later(run, f"cannot ask Dify about the run yet: {exc}")
        except DifyError as exc:
            fail(run, exc.code, f"{reason}; asking Dify about it failed: {_describe(app, exc)}")
            return DONE
    if detail.status == "running":
        return _poll_later(run, f"{reason}; Dify says the run is still running")
    finish(run, detail)
    return DONE


def _logs_deadline(run: Run) -> datetime:
    """When a run started by this attempt would surely have ended (and so be in the logs).

    Kept a minute inside the run timeout, so this decides before the watchdog does.
    """
    started = run.attempt_started_at or run.created_at
    timeout = run.app.run_timeout
    return started + timedelta(seconds=max(timeout - 60, timeout / 2))


def finish(run: Run, result: RunResult) -> None:
    """Store a run's final result; success hands over to the kind's follow-up (deliveries…)."""
    now = timezone.now()
    fields = {
        "outputs": result.outputs or {},
        "total_tokens": result.total_tokens,
        "elapsed": result.elapsed_time,
        "dify_task_id": result.task_id or run.dify_task_id,
        "dify_workflow_run_id": result.workflow_run_id or run.dify_workflow_run_id,
        "next_attempt_at": None,
    }
    if not result.succeeded:
        code, message = _unsuccessful(result)
        fields.update(error_code=code, error_message=message)
        _transition(run, Run.Status.FAILED, finished_at=now, **fields)
        return
    try:
        with transaction.atomic():
            done = _transition(
                run,
                Run.Status.SUCCEEDED,
                finished_at=now,
                error_code="",
                error_message="",
                **fields,
            )
            if not done:
                return
            run.finished_at = now
            followups.after_success(run)
    except Exception as exc:  # a bug in a follow-up must not leave the run "running" forever
        log.exception("run %s: follow-up after success failed", run.pk)
        run.status = Run.Status.RUNNING
        fail(run, "hub_error", f"Dify succeeded, but the hub failed afterwards: {exc}")
        Run.objects.filter(pk=run.pk).update(**fields)


def _unsuccessful(result: RunResult) -> tuple[str, str]:
    if result.status == "stopped":
        return "workflow_stopped", f"Dify stopped the run: {result.error or 'no reason given'}"
    if result.status == "paused":
        return (
            "workflow_paused",
            "Dify paused the run for human input; the hub cannot fill in Dify forms.",
        )
    return "workflow_failed", f"The workflow failed in Dify: {result.error or 'no error text'}"


def _claim(run_id: int, celery_task_id: str = "") -> Run | Next:
    """queued -> running, unless the app already has its maximum of runs in flight."""
    now = timezone.now()
    with transaction.atomic():
        run = Run.objects.filter(pk=run_id).select_related("app").first()
        if run is None or run.status != Run.Status.QUEUED:
            return DONE
        # NO KEY UPDATE: serialises claims per app without blocking the webhook view, whose
        # Run inserts take a KEY SHARE lock on the same app row for the foreign key.
        app = DifyApp.objects.select_for_update(no_key=True).get(pk=run.app_id)
        in_flight = Run.objects.filter(app=app, status=Run.Status.RUNNING).count()
        if in_flight >= app.max_concurrent_runs:
            wait = retry_delay(1, base=10, cap=10)
            Run.objects.filter(pk=run_id).update(
                next_attempt_at=now + timedelta(seconds=wait), updated_at=now
            )
            return Next("execute", countdown=wait)
        claimed = Run.objects.filter(pk=run_id, status=Run.Status.QUEUED).update(
            status=Run.Status.RUNNING,
            started_at=Coalesce(F("started_at"), now),
            attempt_started_at=now,
            attempts=F("attempts") + 1,
            next_attempt_at=None,
            celery_task_id=celery_task_id[:64],
            updated_at=now,
        )
        if not claimed:
            return DONE
    run.refresh_from_db()
    return run


def _started(run: Run, task_id: str | None, run_ref: str | None) -> None:
    _record_ids(run, task_id, run_ref)
    release_idle_connections()  # the rest of the stream can take minutes


def _record_ids(run: Run, task_id: str | None, run_ref: str | None) -> None:
    fields = {}
    if task_id:
        fields["dify_task_id"] = task_id
        run.dify_task_id = task_id
    if run_ref:
        fields["dify_workflow_run_id"] = run_ref
        run.dify_workflow_run_id = run_ref
    if fields:
        Run.objects.filter(pk=run.pk).update(updated_at=timezone.now(), **fields)


def _find_started_run(client, run: Run) -> str:
    since = (run.attempt_started_at or run.created_at) - timedelta(seconds=5)
    entries = client.find_runs(user=run.dify_user, created_after=since)
    candidates = sorted(
        (entry for entry in entries if entry.created_at >= since),
        key=lambda entry: entry.created_at,
    )
    if not candidates:
        return ""
    run_ref = candidates[0].workflow_run_id
    _record_ids(run, None, run_ref)
    return run_ref


def _retry_orfail(run: Run, exc: DifyError | StepError | None, *, requeue_note: str = "") -> Next:
    message = str(exc) if exc else "the request did not reach Dify"
    if requeue_note:
        message = f"{message} ({requeue_note})"
    if run.attempts >= settings.HUB_RUN_MAX_ATTEMPTS:
        fail(
            run,
            exc.code if exc else "gave_up",
            f"Gave up after {run.attempts} attempts; last error: {message}",
        )
        return DONE
    log.info("run %s: attempt %s failed, will retry: %s", run.pk, run.attempts, message)
    delay = retry_delay(
        run.attempts,
        base=settings.HUB_RETRY_BASE_SECONDS,
        cap=settings.HUB_RETRY_MAX_SECONDS,
        retry_after=getattr(exc, "retry_after", None),
    )
    moved = _transition(
        run,
        Run.Status.QUEUED,
        error_code=exc.code if exc else "",
        error_message=f"Attempt {run.attempts} failed, retrying in {delay:.0f} s: {message}",
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
        dify_task_id="",
        dify_workflow_run_id="",
    )
    return Next("execute", countdown=delay) if moved else DONE


def _wait(run: Run, exc: NotReady) -> Next:
    """Back to queued without spending an attempt; the preparer decides when to give up."""
    moved = _transition(
        run,
        Run.Status.QUEUED,
        attempts=max(0, run.attempts - 1),
        waits=exc.waits,
        error_code="",
        error_message=f"{exc.message}; looking again in {exc.delay:.0f} s (wait {exc.waits}).",
        next_attempt_at=timezone.now() + timedelta(seconds=exc.delay),
    )
    return Next("execute", countdown=exc.delay) if moved else DONE


def _store_inputs(run: Run, inputs: dict) -> None:
    run.inputs = inputs
    Run.objects.filter(pk=run.pk).update(inputs=inputs, updated_at=timezone.now())


def _poll_later(run: Run, note: str) -> Next:
    Run.objects.filter(pk=run.pk, status=Run.Status.RUNNING).update(
        error_message=f"Outcome not known yet ({note}); asking Dify again.",
        next_attempt_at=timezone.now() + timedelta(seconds=RECONCILE_INTERVAL),
        updated_at=timezone.now(),
    )
    return Next("reconcile", countdown=RECONCILE_INTERVAL)


def fail(run: Run, code: str, message: str) -> bool:
    log.warning("run %s failed: %s: %s", run.pk, code, message)
    return end(run, Run.Status.FAILED, code, message)


def end(run: Run, status: str, code: str, message: str) -> bool:
    """running -> a final status, with the reason."""
    return _transition(
        run,
        status,
        error_code=code[:100],
        error_message=message,
        finished_at=timezone.now(),
        next_attempt_at=None,
    )


def _transition(run: Run, status: str, **fields) -> bool:
    """running -> status, only if the run is still running (first writer wins)."""
    now = timezone.now()
    updated = Run.objects.filter(pk=run.pk, status=Run.Status.RUNNING).update(
        status=status, updated_at=now, **fields
    )
    if updated:
        run.status = status
        for name, value in fields.items():
            setattr(run, name, value)
    return bool(updated)


def _describe(app: DifyApp, exc: DifyError) -> str:
    hints = {
        "unauthorized": "check the app's API key in the hub (Dify API Access page)",
        "forbidden": "the app's service API is disabled or the app is unavailable in Dify",
        "app_unavailable": "publish the app in Dify and check its configuration",
        "not_workflow_app": "the app's mode changed; run 'Check connection' again",
        "tls_error": "set the app's CA bundle if Dify uses a private certificate authority",
    }
    hint = hints.get(exc.code)
    if exc.code == "invalid_param" and "not published" in exc.message.lower():
        hint = "publish the workflow in Dify"
    text = f"App '{app.name}': {exc}"
    return f"{text} ({hint})" if hint else text


def stuck_deadline(run: Run) -> datetime | None:
    started = run.attempt_started_at or run.started_at
    if started is None:
        return None
    return started + timedelta(seconds=run.app.run_timeout)


def stop_in_dify(run_id: int) -> bool:
    """Ask Dify to stop an ended run's task, if it had started one (best effort)."""
    run = Run.objects.select_related("app").filter(pk=run_id).first()
    if run is None or not run.dify_task_id or not run.is_final:
        return False
    try:
        with run.app.client() as client:
            client.stop(run.dify_task_id, user=run.dify_user, mode=run.app.mode or "workflow")
    except DifyError as exc:
        log.info("run %s: could not stop Dify task %s: %s", run.pk, run.dify_task_id, exc)
        return False
    return True
