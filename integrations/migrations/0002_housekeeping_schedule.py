"""Install the minutely housekeeping task (digest catch-up, watchdog, lost-message sweep)."""

import json

from django.db import migrations

NAME = "dify-hub housekeeping"


def install(apps, schema_editor):
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    every_minute, _ = interval_model.objects.get_or_create(every=60, period="seconds")
    task_model.objects.update_or_create(
        name=NAME,
        defaults={
            "task": "integrations.tasks.housekeeping",
            "interval": every_minute,
            "kwargs": json.dumps({}),
            "enabled": True,
            "description": "Managed by dify-hub: catches up missed digest slots, ends stuck "
            "runs, resends lost work. Keep it enabled.",
        },
    )
    # Beat notices schedule changes through this row (signals do not run in migrations).
    changes = apps.get_model("django_celery_beat", "PeriodicTasks")
    from django.utils import timezone

    changes.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def uninstall(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
