"""Celery tasks: a few lines each, calling the modules that do the work.

The tasks are named (runs/dispatch.py sends them by these names). The worker signals at the
end start and stop the process's heartbeat (runs/heartbeat.py).
"""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_process_init, worker_ready, worker_shutdown
from django.utils import timezone

from integrations import housekeeping as sweeps
from integrations import retention
from integrations.digests import firing
from integrations.runs import delivery, dispatch, engine, heartbeat, recovery, stopping
from integrations.runs.lifecycle import Next

log = logging.getLogger(__name__)


@shared_task(name=dispatch.EXECUTE_RUN, bind=True, ignore_result=True)
def execute_run(self, run_id: int) -> None:
    later: list[Next] = []
    follow(engine.execute(run_id, celery_task_id=self.request.id or "", follow=later))
    for step in later:
        follow(step)


@shared_task(name=dispatch.RECONCILE_RUN, ignore_result=True)
def reconcile_run(run_id: int) -> None:
    follow(engine.reconcile(run_id))


@shared_task(name=dispatch.STOP_IN_DIFY, ignore_result=True)
def stop_dify_run(run_id: int) -> None:
    follow(stopping.send_stop(run_id))


def follow(step: Next) -> None:
    task = {
        "execute": dispatch.EXECUTE_RUN,
        "reconcile": dispatch.RECONCILE_RUN,
        "stop": dispatch.STOP_IN_DIFY,
    }.get(step.action)
    if task is not None and step.run_id is not None:
        dispatch.publish(task, step.run_id, countdown=step.countdown)


@shared_task(name=dispatch.DELIVER, ignore_result=True)
def deliver(delivery_id: int) -> None:
    delay = delivery.deliver_one(delivery_id)
    if delay is not None:
        dispatch.publish(dispatch.DELIVER, delivery_id, countdown=delay)


@shared_task(name=dispatch.FIRE_DIGEST, ignore_result=True)
def fire_digest(digest_id: int) -> None:
    """Fired by celery beat from the digest's crontab."""
    firing.fire_by_id(digest_id, timezone.now())


@shared_task(name=dispatch.HOUSEKEEPING, ignore_result=True)
def housekeeping() -> None:
    """Every minute: catch up missed digest slots, end runs past their run timeout."""
    sweeps.sweep(timezone.now())


@shared_task(name=dispatch.PRUNE, ignore_result=True)
def prune() -> None:
    """Nightly: old webhook payloads, and old runs when HUB_RETENTION_DAYS is set."""
    retention.prune(timezone.now())


@shared_task(name=dispatch.RECOVER, ignore_result=True)
def recover() -> None:
    """Every 15 seconds: orphaned runs and deliveries, free slots, lost messages."""
    recovery.recover(timezone.now())


@worker_ready.connect
def _worker_ready(sender, **_) -> None:
    node = getattr(sender, "hostname", "") or ""
    heartbeat.start(node)
    dead = heartbeat.dead_on_this_host(node)
    if dead:  # this node's earlier process was killed: recover what it held right away
        recovery.recover(timezone.now(), dead=dead)


@worker_process_init.connect
def _pool_process_started(**_) -> None:
    heartbeat.start()  # prefork children run the tasks; each beats for itself


@worker_shutdown.connect
def _worker_shutdown(**_) -> None:
    heartbeat.stop()
