"""A run's transitions, each a conditional UPDATE (first writer wins).

running -> queued (retry, wait), running -> parked (reconcile later), running -> a final
status. Every way out of `running` frees the run's slot and hands it to the next queued run
of the app (slots.release), in the same transaction as the transition.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from integrations.dify import RunResult
from integrations.errors import HubError
from integrations.models import DifyApp, Run
from integrations.runs import kinds, parts, slots
from integrations.runs.backoff import retry_delay
from integrations.runs.connections import DATABASE_DOWN

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Next:
    """What the Celery task should do after one step of the engine."""

    action: str  # "done" | "execute" | "reconcile"
    countdown: float = 0.0
    run_id: int | None = None


DONE = Next("done")


def transition(
    run: Run, status: str, *, cool_until: datetime | None = None, uncount: bool = False, **fields
) -> bool:
    """running -> status, only if the run is still running. Frees its slot unless it stays
    running. `uncount` takes back the attempt its claim counted (nothing reached Dify)."""
    now = timezone.now()
    if uncount:
        fields["attempts"] = Greatest(F("attempts") - 1, 0)
    # Inside a caller's transaction (finish) no savepoint of its own: a failure rolls back
    # the caller's whole step, which is what the caller handles.
    with transaction.atomic(savepoint=False):
        updated = Run.objects.filter(pk=run.pk, status=Run.Status.RUNNING).update(
            status=status, updated_at=now, **fields
        )
        if updated and status != Run.Status.RUNNING:
            slots.release(run, cool_until=cool_until)
    if updated and status == Run.Status.FAILED:
        kinds.after_trouble(run.pk, run.kind)
    if updated and status in Run.FINAL:
        parts.part_ended(run)
    if updated:
        run.status = status
        for name, value in fields.items():
            if name == "attempts":
                run.attempts = max(0, run.attempts - 1)
            else:
                setattr(run, name, value)
    return bool(updated)


def end(
    run: Run, status: str, code: str, message: str, *, source: str = "hub", uncount=False
) -> bool:
    """running -> a final status, with the reason and who gave it."""
    return transition(
        run,
        status,
        uncount=uncount,
        error_code=code[:100],
        error_message=message,
        error_source=source,
        finished_at=timezone.now(),
        next_attempt_at=None,
        holder="",
    )


def fail(run: Run, error: HubError, *, context: str = "", uncount: bool = False) -> bool:
    message = str(error) + (f" ({context})" if context else "")
    log.warning("run %s failed: %s: %s", run.pk, error.code, message)
    return end(run, Run.Status.FAILED, error.code, message, source=error.source, uncount=uncount)


def retry_later(run: Run, error: HubError, *, note: str = "") -> Next:
    """Back to queued with backoff for a retryable error, or failed after the last attempt."""
    message = str(error) + (f" ({note})" if note else "")
    if run.attempts >= settings.HUB_RUN_MAX_ATTEMPTS:
        end(
            run,
            Run.Status.FAILED,
            error.code,
            f"Gave up after {run.attempts} attempts; last error: {message}",
            source=error.source,
        )
        return DONE
    log.info("run %s: attempt %s failed, will retry: %s", run.pk, run.attempts, message)
    delay = retry_delay(
        run.attempts,
        base=settings.HUB_RETRY_BASE_SECONDS,
        cap=settings.HUB_RETRY_MAX_SECONDS,
        retry_after=error.retry_after,
    )
    moved = transition(
        run,
        Run.Status.QUEUED,
        error_code=error.code,
        error_source=error.source,
        error_message=f"Attempt {run.attempts} failed, retrying in {delay:.0f} s: {message}",
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
        dify_task_id="",
        dify_workflow_run_id="",
        holder="",
    )
    return Next("execute", countdown=delay, run_id=run.pk) if moved else DONE


def wait_later(run: Run, *, message: str, delay: float, waits: int | None = None, cool=False):
    """Back to queued without spending an attempt (GitLab preparing a diff; Dify at its
    concurrency limit, with the slot held back for `delay` when `cool`)."""
    fields = {"waits": waits} if waits is not None else {}
    until = timezone.now() + timedelta(seconds=delay)
    moved = transition(
        run,
        Run.Status.QUEUED,
        uncount=True,
        cool_until=until if cool else None,
        error_code="",
        error_message=f"{message}; looking again in {delay:.0f} s.",
        next_attempt_at=until,
        dify_task_id="",
        dify_workflow_run_id="",
        holder="",
        **fields,
    )
    return Next("execute", countdown=delay, run_id=run.pk) if moved else DONE


def park(run: Run, note: str, interval: float) -> Next:
    """Still running in Dify (or not known yet): ask again in `interval` seconds. No worker
    holds the run meanwhile; the sweep re-sends the question if its message is lost."""
    now = timezone.now()
    Run.objects.filter(pk=run.pk, status=Run.Status.RUNNING).update(
        error_message=f"Outcome not known yet ({note}); asking Dify again.",
        next_attempt_at=now + timedelta(seconds=interval),
        holder="",
        updated_at=now,
    )
    return Next("reconcile", countdown=interval, run_id=run.pk)


def record_ids(run: Run, task_id: str | None, run_ref: str | None) -> None:
    """Store Dify's ids the moment they are known: from then on the run can be looked up."""
    fields = {}
    if task_id and task_id != run.dify_task_id:
        fields["dify_task_id"] = run.dify_task_id = task_id
    if run_ref and run_ref != run.dify_workflow_run_id:
        fields["dify_workflow_run_id"] = run.dify_workflow_run_id = run_ref
    if fields:
        Run.objects.filter(pk=run.pk).update(updated_at=timezone.now(), **fields)


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
        "holder": "",
        "finished_at": now,
    }
    if not result.succeeded:
        status, code, message = unsuccessful(run, result)
        source = "hub" if status == Run.Status.CANCELLED else "dify"
        transition(
            run, status, error_code=code, error_message=message, error_source=source, **fields
        )
        return
    try:
        with transaction.atomic():
            done = transition(
                run,
                Run.Status.SUCCEEDED,
                error_code="",
                error_message="",
                error_source="",
                **fields,
            )
            if done:
                _remember_outputs(run, result.outputs or {}, now)
                kinds.after_success(run)
    except DATABASE_DOWN:
        raise  # rolled back: the run stays running, and reconciling it finishes it again
    except Exception as exc:  # a bug in a follow-up must not leave the run "running" forever
        log.exception("run %s: follow-up after success failed", run.pk)
        fields.pop("finished_at")
        Run.objects.filter(pk=run.pk).update(
            status=Run.Status.FAILED,
            error_code="hub_error",
            error_source="hub",
            error_message=f"The hub: Dify succeeded, but the hub failed afterwards: {exc}",
            finished_at=timezone.now(),
            **fields,
        )
        slots.release(run)


def _remember_outputs(run: Run, outputs: dict, now: datetime) -> None:
    """The app's output names as of this success: what digests and endpoints are checked
    against before their next run."""
    names = sorted(outputs)
    if names and names != (run.app.output_names or []):
        DifyApp.objects.filter(pk=run.app_id).update(output_names=names, outputs_seen_at=now)
        run.app.output_names = names


def unsuccessful(run: Run, result: RunResult) -> tuple[str, str, str]:
    """(status, code, message) for a run that ended in Dify without succeeding."""
    if result.status == "stopped":
        # Asked for while the run went on in this process: read it from the row.
        run.refresh_from_db(fields=["stop_requested_at", "stop_requested_by"])
        if run.stop_requested_at is not None:
            by = f" by {run.stop_requested_by}" if run.stop_requested_by else ""
            message = f"The hub: stopped on request{by}; Dify confirmed the stop."
            return Run.Status.CANCELLED, "stopped", message
        reason = result.error or "no reason given"
        return Run.Status.FAILED, "workflow_stopped", f"Dify stopped the run: {reason}"
    if result.status == "paused":
        return (
            Run.Status.FAILED,
            "workflow_paused",
            "Dify paused the run for human input; the hub cannot fill in Dify forms.",
        )
    where = f" at node {result.failed_node}" if result.failed_node else ""
    error = result.error or "no error text"
    return Run.Status.FAILED, "workflow_failed", f"Dify: the workflow failed{where}: {error}"
