"""Give existing apps their slot rows, and install the 15-second recovery task."""

import json

from django.db import migrations

NAME = "dify-hub recovery"


def forwards(apps, schema_editor):
    app_model = apps.get_model("integrations", "DifyApp")
    slot_model = apps.get_model("integrations", "RunSlot")
    for app in app_model.objects.all():
        slot_model.objects.bulk_create(
            [slot_model(app_id=app.pk, number=n) for n in range(app.max_concurrent_runs)],
            ignore_conflicts=True,
        )
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = interval_model.objects.get_or_create(every=15, period="seconds")
    task_model.objects.update_or_create(
        name=NAME,
        defaults={
            "task": "integrations.tasks.recover",
            "interval": every,
            "kwargs": json.dumps({}),
            "enabled": True,
            "description": "Managed by dify-hub: recovers runs whose worker stopped, hands out "
            "free slots, resends lost work. Keep it enabled.",
        },
    )
    from django.utils import timezone

    changes = apps.get_model("django_celery_beat", "PeriodicTasks")
    changes.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def backwards(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0008_engine_slots_heartbeats"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
