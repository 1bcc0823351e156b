"""A Digest owns its django-celery-beat schedule: created, updated, disabled, removed with it."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django_celery_beat.models import CrontabSchedule, PeriodicTask, PeriodicTasks

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


@pytest.mark.parametrize("field", ["title", "footer", "query"])
def test_a_template_typo_is_reported_on_its_own_field(dify_app, field):
    inputs = {"query": "ok"}  # the form this app has, so only the typo is wrong
    digest = Digest(name="x", app=dify_app, inputs=inputs, **{field: "Weather {{ dat }}"})
    with pytest.raises(ValidationError) as error:
        digest.full_clean()
    assert list(error.value.message_dict) == [field]
    assert "Unknown variable(s) dat" in error.value.message_dict[field][0]


def test_broken_placeholders_are_refused(dify_app):
    digest = Digest(name="x", app=dify_app, inputs={"query": "{{ date "})
    with pytest.raises(ValidationError, match="Broken placeholder"):
        digest.full_clean()


def test_a_cron_error_names_the_field_and_its_range(dify_app):
    digest = Digest(name="x", app=dify_app, cron="0 25 * * *")
    with pytest.raises(ValidationError) as error:
        digest.full_clean()
    assert "the hour field '25' is out of range" in error.value.message_dict["cron"][0]
    assert "0-23" in error.value.message_dict["cron"][0]


def test_a_crontab_no_task_uses_any_more_is_removed(make_digest):
    digest = make_digest()
    first = digest.periodic_task.crontab_id
    other = make_digest(name="same schedule")  # shares the crontab row
    digest.cron = "0 9 * * *"
    digest.save()
    assert CrontabSchedule.objects.filter(pk=first).exists()  # still used by the other digest
    other.delete()
    assert not CrontabSchedule.objects.filter(pk=first).exists()


def test_a_new_schedule_does_not_catch_up_slots_of_the_old_one(make_digest):
    digest = make_digest()
    old = digest.active_since
    digest.cron = "0 9 * * *"
    digest.save()
    digest.refresh_from_db()
    assert digest.active_since > old
