"""Work whose worker died is recovered from Dify within seconds, never re-POSTed blindly."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.models import Delivery, Run, WorkerHeartbeat
from integrations.runs import engine, heartbeat, recovery, slots

pytestmark = pytest.mark.django_db


def beat(name: str, *, ago: float = 0.0, pid: int = 1, runs: tuple[int, ...] = ()) -> None:
    when = timezone.now() - timedelta(seconds=ago)
    WorkerHeartbeat.objects.update_or_create(
        name=name,
        defaults={
            "hostname": "h",
            "pid": pid,
            "started_at": when,
            "beat_at": when,
            "work": {"runs": list(runs), "deliveries": []},
        },
    )


def run_in_dify(make_run, fake_dify) -> str:
    """A run Dify has finished: the id a dead worker had recorded before it died."""
    done = make_run()
    engine.execute(done.pk)
    done.refresh_from_db()
    return done.dify_workflow_run_id


def orphan(make_run, dify_app, *, holder: str, run_ref: str) -> Run:
    run = make_run()
    claimed = slots.claim(dify_app, holder=holder)
    assert claimed.pk == run.pk
    Run.objects.filter(pk=run.pk).update(dify_workflow_run_id=run_ref, dify_task_id="t-1")
    return Run.objects.get(pk=run.pk)


def test_a_run_whose_worker_stopped_beating_is_reconciled_from_dify(make_run, dify_app, fake_dify):
    run_ref = run_in_dify(make_run, fake_dify)
    posts = len(fake_dify.requests_to("/workflows/run"))
    beat("celery@gone:4242", ago=heartbeat.STALE_AFTER.total_seconds() + 1)
    run = orphan(make_run, dify_app, holder="celery@gone:4242", run_ref=run_ref)

    counts = recovery.recover(timezone.now())
    assert counts["orphans"] == 1
    run.refresh_from_db()
    assert run.status == Run.Status.RUNNING and run.holder == ""

    assert engine.reconcile(run.pk) == engine.DONE  # what the reconcile task then does
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED and run.outputs["echo"] == "hello"
    assert len(fake_dify.requests_to("/workflows/run")) == posts  # no second POST
    assert slots.in_flight(dify_app.pk) == 0


def test_a_run_held_by_a_live_worker_is_left_alone(make_run, dify_app, fake_dify):
    run = orphan(make_run, dify_app, holder="celery@busy:1", run_ref="r-1")
    Run.objects.filter(pk=run.pk).update(updated_at=timezone.now() - timedelta(minutes=1))
    beat("celery@busy:1", ago=1, runs=(run.pk,))
    assert recovery.recover(timezone.now())["orphans"] == 0
    assert Run.objects.get(pk=run.pk).holder == "celery@busy:1"
    assert engine.reconcile(run.pk) == engine.DONE  # a live holder's run is not taken over
    assert Run.objects.get(pk=run.pk).status == Run.Status.RUNNING


def test_a_run_a_live_worker_dropped_is_recovered(make_run, dify_app, fake_dify):
    # The worker lives, but the task working on the run ended without recording the end
    # (the database went away mid-run, say): its beats no longer list the run.
    run_ref = run_in_dify(make_run, fake_dify)
    run = orphan(make_run, dify_app, holder="celery@alive:2", run_ref=run_ref)
    Run.objects.filter(pk=run.pk).update(updated_at=timezone.now() - timedelta(seconds=30))
    beat("celery@alive:2", ago=0, runs=())
    assert recovery.recover(timezone.now())["orphans"] == 1
    assert engine.reconcile(run.pk) == engine.DONE
    assert Run.objects.get(pk=run.pk).status == Run.Status.SUCCEEDED


def test_a_run_just_taken_is_not_mistaken_for_a_dropped_one(make_run, dify_app):
    run = orphan(make_run, dify_app, holder="celery@alive:3", run_ref="r-3")
    beat("celery@alive:3", ago=0, runs=())  # its next beat will list it
    assert recovery.recover(timezone.now())["orphans"] == 0
    assert Run.objects.get(pk=run.pk).holder == "celery@alive:3"


def test_a_restarted_worker_recovers_what_its_killed_predecessor_held_at_once(
    make_run, dify_app, fake_dify
):
    run_ref = run_in_dify(make_run, fake_dify)
    dead_pid = 2**22 + 12345  # above this machine's pid range: no such process
    name = f"worker1@host:{dead_pid}"
    beat(name, ago=0, pid=dead_pid)  # still fresh: only the pid tells it is gone
    run = orphan(make_run, dify_app, holder=name, run_ref=run_ref)

    dead = heartbeat.dead_on_this_host("worker1@host")
    assert dead == {name}
    assert recovery.recover(timezone.now(), dead=dead)["orphans"] == 1
    assert not WorkerHeartbeat.objects.filter(name=name).exists()
    assert engine.reconcile(run.pk) == engine.DONE
    assert Run.objects.get(pk=run.pk).status == Run.Status.SUCCEEDED


def test_this_process_is_never_taken_for_a_dead_one():
    name = f"worker1@host:{os.getpid()}"
    beat(name, pid=os.getpid())
    assert heartbeat.dead_on_this_host("worker1@host") == set()


def test_a_parked_run_whose_message_was_lost_is_asked_about_again(make_run, dify_app):
    run = orphan(make_run, dify_app, holder="", run_ref="r-2")
    overdue = timezone.now() - recovery.LOST_AFTER - timedelta(seconds=1)
    Run.objects.filter(pk=run.pk).update(next_attempt_at=overdue)
    assert recovery.recover(timezone.now())["reconciles"] == 1


def test_a_half_sent_chat_post_is_failed_not_sent_twice(make_run, rocketchat_recipient):
    run = make_run(status=Run.Status.DELIVERING)
    delivery = Delivery.objects.create(
        run=run,
        recipient=rocketchat_recipient,
        recipient_name="family",
        kind="rocketchat",
        status=Delivery.Status.SENDING,
        holder="celery@gone:7",
    )
    assert recovery.recover(timezone.now())["deliveries_orphaned"] == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED
    assert "may or may not have the message" in delivery.error
    assert Run.objects.get(pk=run.pk).status == Run.Status.FAILED


def test_a_half_sent_merge_request_note_is_sent_again(make_run):
    run = make_run(status=Run.Status.DELIVERING)
    delivery = Delivery.objects.create(
        run=run,
        recipient_name="Note on x!1",
        kind="gitlab_note",
        status=Delivery.Status.SENDING,
        holder="celery@gone:7",
    )
    recovery.recover(timezone.now())
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING  # the note is looked up before posting
    assert recovery.recover(timezone.now())["deliveries"] == 1


def test_heartbeats_are_written_by_the_worker_process(db):
    name = heartbeat.start("worker9@test")
    try:
        row = WorkerHeartbeat.objects.get(name=name)
        assert row.pid == os.getpid() and row.hostname == "test"
        assert name in heartbeat.alive(timezone.now())
    finally:
        heartbeat.stop()
    assert not WorkerHeartbeat.objects.filter(name=name).exists()
    assert heartbeat.identity() == ""
