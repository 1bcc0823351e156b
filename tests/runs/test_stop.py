"""Stopping a run on request: queued ones end at once, running ones when Dify confirms."""

from __future__ import annotations

import time

import pytest

from integrations.models import Run
from integrations.runs import engine, stopping
from tests.fakes import dify as fd
from tests.threads import worker_thread


def _wait_until(check, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.django_db
def test_a_queued_run_is_cancelled_at_once_and_never_reaches_dify(make_run, fake_dify):
    run = make_run()
    assert stopping.request_stop(run, by="alice") == "cancelled"
    run.refresh_from_db()
    assert run.status == Run.Status.CANCELLED and run.error_code == "stopped"
    assert run.error_source == "hub" and run.stop_requested_by == "alice"
    assert run.error_message == "The hub: stopped on request by alice before it started."
    assert run.finished_at is not None
    engine.execute(run.pk)  # its message was already on the queue: nothing happens
    assert fake_dify.requests_to("/workflows/run") == []


@pytest.mark.django_db
def test_an_ended_run_cannot_be_stopped(make_run):
    run = make_run(status=Run.Status.SUCCEEDED)
    with pytest.raises(stopping.NotStoppable, match="is succeeded; only queued and running"):
        stopping.request_stop(run, by="alice")


@pytest.mark.django_db(transaction=True)
def test_a_running_run_stops_in_dify_and_ends_cancelled_when_dify_confirms(make_run, fake_dify):
    fake_dify.script("run", fd.slow(4, ping_interval=0.2))
    run = make_run()
    worker = worker_thread(engine.execute, run.pk)
    worker.start()
    try:
        assert _wait_until(lambda: Run.objects.get(pk=run.pk).dify_task_id)
        running = Run.objects.get(pk=run.pk)
        assert stopping.request_stop(running, by="bob") == "stop requested"
        running.refresh_from_db()
        assert running.status == Run.Status.RUNNING and running.stop_requested_at is not None
        started = time.monotonic()
        stopping.send_stop(run.pk)  # what the stop task does
        worker.join(10)
        took = time.monotonic() - started
    finally:
        worker.join(10)
    run.refresh_from_db()
    assert run.status == Run.Status.CANCELLED, run.error_message
    assert run.error_code == "stopped"
    assert run.error_message == "The hub: stopped on request by bob; Dify confirmed the stop."
    assert fake_dify.requests_to(f"/workflows/tasks/{run.dify_task_id}/stop")
    assert took < 4  # ended by the stop, not by the node finishing
    assert len(fake_dify.requests_to("/workflows/run")) == 1


@pytest.mark.django_db(transaction=True)
def test_a_chat_run_is_stopped_through_the_chat_messages_stop(make_run, fake_dify):
    from integrations.models import DifyApp

    fake_dify.app_mode = "advanced-chat"
    DifyApp.objects.update(mode="advanced-chat")
    fake_dify.script("chat", fd.slow(4, ping_interval=0.2))
    run = make_run(query="hello")
    worker = worker_thread(engine.execute, run.pk)
    worker.start()
    try:
        assert _wait_until(lambda: Run.objects.get(pk=run.pk).dify_task_id)
        stopping.request_stop(Run.objects.get(pk=run.pk), by="carol")
        stopping.send_stop(run.pk)
    finally:
        worker.join(10)
    run.refresh_from_db()
    assert fake_dify.requests_to(f"/chat-messages/{run.dify_task_id}/stop")
    assert run.status == Run.Status.CANCELLED, run.error_message


@pytest.mark.django_db(transaction=True)
def test_a_stopped_run_dify_still_calls_running_is_ended_after_the_grace(make_run, fake_dify):
    from datetime import timedelta

    from django.utils import timezone

    fake_dify.script("run", fd.slow(4, ping_interval=0.2))
    run = make_run()
    worker = worker_thread(engine.execute, run.pk)
    worker.start()
    try:
        assert _wait_until(lambda: Run.objects.get(pk=run.pk).dify_workflow_run_id)
        stopping.request_stop(Run.objects.get(pk=run.pk), by="dave")
        stopping.send_stop(run.pk)
    finally:
        worker.join(10)
    # As if the worker had died before the stream's end: only Dify's record is left, and
    # Dify keeps a stopped run "running" there (captures 63, 97e).
    asked = timezone.now()
    Run.objects.filter(pk=run.pk).update(
        status=Run.Status.RUNNING, finished_at=None, stop_requested_at=asked
    )

    step = engine.reconcile_now(Run.objects.get(pk=run.pk), cause=None)

    assert step != engine.DONE  # within the grace: look again later
    assert Run.objects.get(pk=run.pk).status == Run.Status.RUNNING
    Run.objects.filter(pk=run.pk).update(
        stop_requested_at=asked - stopping.STOP_GRACE - timedelta(seconds=1)
    )

    assert engine.reconcile_now(Run.objects.get(pk=run.pk), cause=None) == engine.DONE

    run.refresh_from_db()
    assert run.status == Run.Status.CANCELLED and run.error_code == "stopped"
    assert run.error_message == (
        "The hub: stopped on request by dave; Dify still said running 30 s after the stop. "
        "Dify's own record of it may keep saying 'running' (a Dify 1.14 quirk)."
    )
    assert len(fake_dify.requests_to("/workflows/run")) == 1
