"""Keep each Digest's django-celery-beat schedule in step with the Digest.

Called from Digest.save() inside its transaction, and on delete through a signal, so nobody
edits PeriodicTask names or kwargs JSON by hand. Saving a PeriodicTask bumps
PeriodicTasks.last_update, which is how a running beat notices the change without a restart.
"""

from __future__ import annotations

import json

from django_celery_beat.models import CrontabSchedule, PeriodicTask

from integrations.digests import schedule
from integrations.runs.dispatch import FIRE_DIGEST


def task_name(digest) -> str:
    return f"digest:{digest.pk} {digest.name}"[:200]


def sync_schedule(digest) -> PeriodicTask:
    fields = schedule.parse_cron(digest.cron)
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=fields.minute,
        hour=fields.hour,
        day_of_month=fields.day_of_month,
        month_of_year=fields.month_of_year,
        day_of_week=fields.day_of_week,
        timezone=digest.timezone,
    )
    task = digest.periodic_task or PeriodicTask()
    previous_crontab_id = task.crontab_id
    task.name = task_name(digest)
    task.task = FIRE_DIGEST
    task.crontab = crontab
    task.interval = task.solar = task.clocked = None
    task.kwargs = json.dumps({"digest_id": digest.pk})
    task.args = "[]"
    task.enabled = digest.enabled
    task.description = "Managed by dify-hub: edit the Digest, not this task."
    task.save()
    if previous_crontab_id and previous_crontab_id != crontab.pk:
        _delete_if_unused(previous_crontab_id)
    if digest.periodic_task_id != task.pk:
        type(digest).objects.filter(pk=digest.pk).update(periodic_task=task)
        digest.periodic_task = task
    return task


def remove_schedule(digest) -> None:
    if digest.periodic_task_id:
        task = PeriodicTask.objects.filter(pk=digest.periodic_task_id).first()
        if task is not None:
            crontab_id = task.crontab_id
            task.delete()
            if crontab_id:
                _delete_if_unused(crontab_id)


def _delete_if_unused(crontab_id: int) -> None:
    """Crontabs are shared by equal schedules; drop one only when no task uses it."""
    if not PeriodicTask.objects.filter(crontab_id=crontab_id).exists():
        CrontabSchedule.objects.filter(pk=crontab_id).delete()
