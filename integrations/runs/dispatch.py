"""Handing work to Celery workers: the only module that names Celery tasks.

Everything else asks for work by meaning (`execute(run_id)`, `deliver(delivery_id)`); the
tasks in integrations/tasks.py call back into the engine. Messages are sent by task name, so
nothing here imports tasks.py and the import graph stays one-directional.

Publishing never raises. With the broker down, the work is already stored (a queued run, a
pending delivery) and the recovery sweep sends it once the broker is back; so a failed
publish is logged, and for a few seconds afterwards this process does not even try (a
webhook must answer GitLab in milliseconds, not wait for a broker timeout each time).
"""

from __future__ import annotations

import logging
import threading
import time

from celery import current_app
from django.db import transaction

log = logging.getLogger(__name__)

EXECUTE_RUN = "integrations.tasks.execute_run"
RECONCILE_RUN = "integrations.tasks.reconcile_run"
STOP_IN_DIFY = "integrations.tasks.stop_dify_run"
DELIVER = "integrations.tasks.deliver"
# Sent by beat, not by the hub: the names each django-celery-beat entry carries (a digest's,
# and the three the migrations install).
FIRE_DIGEST = "integrations.tasks.fire_digest"
HOUSEKEEPING = "integrations.tasks.housekeeping"
RECOVER = "integrations.tasks.recover"
PRUNE = "integrations.tasks.prune"

# After a failed publish, skip publishing for this long (the sweep resends what is stored).
BROKER_BACKOFF = 5.0

_lock = threading.Lock()
_broker_down_until = 0.0


def publish(task: str, *args: object, countdown: float = 0) -> bool:
    """Send one message now; False (logged) when the broker cannot take it."""
    global _broker_down_until
    now = time.monotonic()
    if now < _broker_down_until:
        return False
    try:
        current_app.send_task(task, args=args, countdown=countdown or None)
    except Exception as exc:  # noqa: BLE001 - any broker failure: the sweep resends
        with _lock:
            _broker_down_until = time.monotonic() + BROKER_BACKOFF
        log.warning(
            "could not publish %s%s (the broker is unreachable: %s); the recovery sweep "
            "sends it once the broker is back",
            task.rsplit(".", 1)[-1],
            args,
            exc,
        )
        return False
    return True


def broker_recovered() -> None:
    """Forget an earlier failure (a worker that just reconnected, say)."""
    global _broker_down_until
    _broker_down_until = 0.0


def on_commit(task: str, *args: object, countdown: float = 0) -> None:
    """Send the message once the current transaction has committed (at once outside one)."""
    transaction.on_commit(lambda: publish(task, *args, countdown=countdown))


def execute(run_id: int, *, countdown: float = 0) -> None:
    """Ask a worker to run this run (or an older queued run of its app, see slots.py)."""
    on_commit(EXECUTE_RUN, run_id, countdown=countdown)


def reconcile(run_id: int, *, countdown: float = 0) -> None:
    """Ask a worker to find out from Dify what became of a run."""
    on_commit(RECONCILE_RUN, run_id, countdown=countdown)


def stop_in_dify(run_id: int) -> None:
    """Ask a worker to tell Dify to stop a run the hub no longer wants."""
    on_commit(STOP_IN_DIFY, run_id)


def deliver(delivery_id: int, *, countdown: float = 0) -> None:
    on_commit(DELIVER, delivery_id, countdown=countdown)
