"""A Digest owns its django-celery-beat schedule: created, updated, disabled, removed with it."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django_celery_beat.models import PeriodicTask, PeriodicTasks

from integrations.models import Digest

pytestmark = pytest.mark.django_db


def test_saving_a_digest_creates_its_crontab_in_its_zone(make_digest):
    digest = make_digest(cron="30 7 * * 1-5", timezone="Europe/Berlin")
    task = PeriodicTask.objects.get(pk=digest.periodic_task_id)
    assert task.task == "integrations.tasks.fire_digest"
    assert json.loads(task.kwargs) == {"digest_id": digest.pk}
    assert task.enabled
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == ("30", "7", "1-5")
    assert str(task.crontab.timezone) == "Europe/Berlin"


def test_changing_the_schedule_updates_the_same_task_and_tells_beat(make_digest):
    digest = make_digest()
    task_id = digest.periodic_task_id
    before = PeriodicTasks.last_change()
    digest.cron, digest.timezone = "15 6 * * *", "America/New_York"
    digest.save()
    task = PeriodicTask.objects.get(pk=task_id)
    assert (task.crontab.minute, task.crontab.hour) == ("15", "6")
    assert str(task.crontab.timezone) == "America/New_York"
    assert PeriodicTasks.last_change() > before
    assert PeriodicTask.objects.filter(task="integrations.tasks.fire_digest").count() == 1


def test_disabling_a_digest_disables_its_task(make_digest):
    digest = make_digest()
    digest.enabled = False
    digest.save()
    assert PeriodicTask.objects.get(pk=digest.periodic_task_id).enabled is False


def test_deleting_a_digest_removes_its_task(make_digest):
    digest = make_digest()
    task_id = digest.periodic_task_id
    digest.delete()
    assert not PeriodicTask.objects.filter(pk=task_id).exists()


def test_bulk_deleting_digests_removes_their_tasks(make_digest):
    first, second = make_digest(name="a"), make_digest(name="b")
    Digest.objects.filter(pk__in=[first.pk, second.pk]).delete()
    assert not PeriodicTask.objects.filter(task="integrations.tasks.fire_digest").exists()


def test_an_invalid_cron_or_zone_is_a_validation_error(dify_app):
    digest = Digest(name="x", app=dify_app, cron="0 8 * *", timezone="Mars/Olympus")
    with pytest.raises(ValidationError) as error:
        digest.full_clean()
    assert "five" in error.value.message_dict["cron"][0]
    assert "IANA" in error.value.message_dict["timezone"][0]


def test_an_unknown_template_variable_is_a_validation_error(dify_app):
    digest = Digest(name="x", app=dify_app, inputs={"query": "{{ dat }}"})
    with pytest.raises(ValidationError) as error:
        digest.full_clean()
    assert "dat" in error.value.message_dict["inputs"][0]


def test_a_new_schedule_does_not_catch_up_slots_of_the_old_one(make_digest):
    digest = make_digest()
    old = digest.active_since
    digest.cron = "0 9 * * *"
    digest.save()
    digest.refresh_from_db()
    assert digest.active_since > old
