"""A real Celery worker process, on the configured broker (Redis in CI), runs a Run."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from integrations.models import DifyApp, Run
from integrations.runs.create import create_run
from tests.e2e.processes import wait_for
from tests.fakes import dify as fd

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_worker_takes_a_run_from_queued_through_running_to_succeeded(fake_dify, dify_app, worker):
    # A run with a slow node, so "running" is visible in the database while Dify works.
    fake_dify.script("run", fd.slow(1.5, ping_interval=0.2))
    run = create_run(
        dify_app, kind=Run.Kind.MANUAL, source="e2e", inputs={"query": "hi"}, dify_user="hub:e2e"
    )
    seen = [Run.objects.get(pk=run.pk).status]

    def finished() -> bool:
        status = Run.objects.values_list("status", flat=True).get(pk=run.pk)
        if status != seen[-1]:
            seen.append(status)
        return status in Run.FINAL

    wait_for(finished, 60, worker, "the run to finish")
    assert seen == [Run.Status.QUEUED, Run.Status.RUNNING, Run.Status.SUCCEEDED]
    run.refresh_from_db()
    assert run.outputs["echo"] == "hi"
    assert run.dify_workflow_run_id in fake_dify.runs
    assert f"Task integrations.tasks.execute_run[{run.celery_task_id}]" in worker.output()
    assert "Task integrations.tasks.execute_run[" in worker.output()


def test_a_worker_retries_after_too_many_requests(fake_dify, dify_app, worker):
    fake_dify.script("run", fd.too_many_requests(retry_after=1))
    started = time.monotonic()
    run = create_run(
        dify_app, kind=Run.Kind.MANUAL, source="e2e", inputs={"query": "again"}, dify_user="hub:e2e"
    )
    wait_for(lambda: Run.objects.get(pk=run.pk).is_final, 60, worker, "the retried run")
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED and run.attempts == 2
    assert time.monotonic() - started >= 1  # Retry-After was honoured


def test_a_backlog_drains_in_arrival_order_within_the_apps_cap(fake_dify, dify_app, worker):
    DifyApp.objects.filter(pk=dify_app.pk).update(max_concurrent_runs=2)
    fake_dify.script("run", *[fd.slow(0.4, ping_interval=0.1) for _ in range(8)])
    runs = [
        create_run(
            dify_app,
            kind=Run.Kind.MANUAL,
            source="e2e",
            inputs={"query": f"q{n}"},
            dify_user="hub:e2e",
        )
        for n in range(8)
    ]
    ids = [run.pk for run in runs]
    wait_for(
        lambda: Run.objects.filter(pk__in=ids, status=Run.Status.SUCCEEDED).count() == 8,
        60,
        worker,
        "the backlog to drain",
    )
    started = dict(Run.objects.filter(pk__in=ids).values_list("pk", "started_at"))
    # FIFO, whatever order the worker's threads took the messages in: no run started
    # noticeably before an older one (two slots freed at the same moment may start in
    # either order within milliseconds; a run out of turn would be a whole run ahead).
    for older, newer in zip(ids, ids[1:], strict=False):
        assert started[older] <= started[newer] + timedelta(seconds=0.2), (older, newer)
    # Never more than two at once: each run started only after an earlier one had finished.
    spans = list(
        Run.objects.filter(pk__in=ids).order_by("pk").values_list("started_at", "finished_at")
    )
    for index in range(2, len(spans)):
        assert spans[index][0] >= min(end for _, end in spans[:index]), index
