"""Roles: the "Operators" and "Viewers" groups (content refined below)."""

from django.db import migrations


def noop(apps, schema_editor):
    """Placeholder; the real role set-up follows."""


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0021_recipient_health_and_alerts"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(noop, migrations.RunPython.noop),
    ]
