"""Does nothing. It shipped empty before the roles were ready; they are in 0024_roles, so a
database that already applied this one still gets them."""

from django.db import migrations


def noop(apps, schema_editor):
    """Nothing to do (see the module's docstring)."""


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0021_recipient_health_and_alerts"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(noop, migrations.RunPython.noop),
    ]
