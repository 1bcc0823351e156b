"""A running beat sees every digest saved after its start-up read, its first moments included.

The scheduler runs in-process here against the test database; `schedule` is what beat's tick
reads, so an entry missing from it is a digest beat would not fire. The save that races with
beat's start-up is made where the race puts it: after the start-up read, while the scheduler
installs its own entries (as the e2e digest test hit on a loaded CI machine).
"""

from __future__ import annotations

import pytest
from django_celery_beat.models import PeriodicTask, PeriodicTasks
from django_celery_beat.schedulers import DatabaseScheduler

from hub.celery import app
from integrations.digests.beat_scheduler import HubScheduler

pytestmark = pytest.mark.django_db(transaction=True)


def task_name(digest) -> str:
    return PeriodicTask.objects.get(pk=digest.periodic_task_id).name


def racing(scheduler_class, make_digest):
    """The scheduler, with a digest saved right after its start-up read."""
    saved = []

    class Racing(scheduler_class):
        def install_default_entries(self, data):
            saved.append(make_digest(cron="* * * * *"))
            super().install_default_entries(data)

    return Racing(app=app), saved


def test_a_digest_saved_during_start_up_is_scheduled(make_digest):
    PeriodicTasks.update_changed()
    scheduler, (digest,) = racing(HubScheduler, make_digest)
    assert task_name(digest) in scheduler.schedule  # the first tick


def test_the_stock_scheduler_misses_it_which_is_why_the_hub_has_its_own(make_digest):
    # If django-celery-beat fixes this, this test fails and HubScheduler can go.
    PeriodicTasks.update_changed()
    scheduler, (digest,) = racing(DatabaseScheduler, make_digest)
    assert task_name(digest) not in scheduler.schedule


def test_with_no_change_stamp_at_start_up_the_first_one_counts_as_a_change(make_digest):
    PeriodicTasks.objects.all().delete()  # a flushed database: no stamp yet
    scheduler = HubScheduler(app=app)
    digest = make_digest(cron="* * * * *")
    assert task_name(digest) in scheduler.schedule


def test_later_saves_are_seen_and_a_quiet_tick_reads_nothing_new(make_digest):
    PeriodicTasks.update_changed()
    scheduler = HubScheduler(app=app)
    scheduler.schedule  # noqa: B018 -- reading it is a tick: the start-up settles
    assert not scheduler.schedule_changed()
    digest = make_digest(cron="* * * * *")
    assert task_name(digest) in scheduler.schedule
    assert not scheduler.schedule_changed()
    digest.enabled = False
    digest.save()
    assert task_name(digest) not in scheduler.schedule
