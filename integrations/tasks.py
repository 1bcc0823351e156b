"""Celery tasks: thin wrappers around the engine, digest and housekeeping modules."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

log = logging.getLogger(__name__)


@shared_task(name="integrations.tasks.execute_run", bind=True, ignore_result=True)
def execute_run(self, run_id: int) -> None:
    from integrations.runs import engine

    _follow(run_id, engine.execute(run_id, celery_task_id=self.request.id or ""))


@shared_task(name="integrations.tasks.reconcile_run", ignore_result=True)
def reconcile_run(run_id: int) -> None:
    from integrations.runs import engine

    _follow(run_id, engine.reconcile(run_id))


def _follow(run_id: int, step) -> None:
    if step.action == "execute":
        execute_run.apply_async((run_id,), countdown=step.countdown)
    elif step.action == "reconcile":
        reconcile_run.apply_async((run_id,), countdown=step.countdown)


@shared_task(name="integrations.tasks.stop_dify_run", ignore_result=True)
def stop_dify_run(run_id: int) -> None:
    """Free Dify from a run the hub no longer wants (superseded by a newer review)."""
    from integrations.runs.engine import stop_in_dify

    stop_in_dify(run_id)


@shared_task(name="integrations.tasks.deliver", ignore_result=True)
def deliver(delivery_id: int) -> None:
    from integrations.runs.delivery import deliver_one

    delay = deliver_one(delivery_id)
    if delay is not None:
        deliver.apply_async((delivery_id,), countdown=delay)


@shared_task(name="integrations.tasks.fire_digest", ignore_result=True)
def fire_digest(digest_id: int) -> None:
    """Fired by celery beat from the digest's crontab."""
    from integrations.digests.firing import fire
    from integrations.models import Digest

    digest = Digest.objects.filter(pk=digest_id).select_related("app").first()
    if digest is None:
        log.warning("beat fired digest %s, which no longer exists", digest_id)
        return
    fire(digest, timezone.now())


@shared_task(name="integrations.tasks.housekeeping", ignore_result=True)
def housekeeping() -> None:
    """Every minute: catch up missed digest slots, end stuck runs, resend lost messages."""
    from integrations.housekeeping import sweep

    sweep(timezone.now())
