"""Creating runs and handing them to the workers."""

from __future__ import annotations

from django.db import transaction

from integrations.models import DifyApp, Run


def trace_id(run: Run) -> str:
    # Dify accepts 1-128 chars of [A-Za-z0-9_-] and stores it as external_trace_id.
    return f"hub-run-{run.pk}"


def enqueue(run: Run, *, countdown: float = 0) -> None:
    """Send the run to a worker once the current transaction has committed."""
    from integrations.tasks import execute_run

    run_id = run.pk
    # robust: with the broker down the caller's work still commits and answers; the run stays
    # queued and the housekeeping sweep sends it once the broker is back.
    transaction.on_commit(
        lambda: execute_run.apply_async((run_id,), countdown=countdown), robust=True
    )


def stop_in_dify(run_id: int) -> None:
    """After commit, ask Dify to stop a run the hub no longer wants (best effort)."""
    from integrations.tasks import stop_dify_run

    transaction.on_commit(lambda: stop_dify_run.delay(run_id), robust=True)


def create_run(
    app: DifyApp,
    *,
    kind: str,
    source: str,
    inputs: dict,
    dify_user: str,
    query: str = "",
    **fields,
) -> Run:
    with transaction.atomic():
        run = Run.objects.create(
            app=app,
            kind=kind,
            source=source[:255],
            inputs=inputs,
            query=query,
            dify_user=dify_user[:255],
            **fields,
        )
        enqueue(run)
    return run
