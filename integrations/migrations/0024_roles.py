"""Roles: the buttons' permissions, and the groups "Operators" and "Viewers".

Every admin button needs one permission (integrations/admin/common.py); these are declared
in the models' Meta.permissions. The two groups hold them as docs/security.md ("Roles")
tables them. The single sign-on mapping relies on the two names, so they never change.

The permission rows are made here rather than left to post_migrate, so the groups can be
given them in the same migration.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

OPERATORS = "Operators"
VIEWERS = "Viewers"

# Operators see every model of the hub but the API keys (the audit trail too: it holds no
# secret); Viewers see what happened.
HIDDEN_FROM_OPERATORS = {"hubapikey"}
VIEWER_MODELS = ("run", "delivery", "deliveryattempt", "webhookevent", "alert")
# The buttons an Operator may press (not: regenerate a webhook secret, which changes an
# endpoint's configuration).
OPERATOR_ACTIONS = (
    "run_now",
    "stop_run",
    "retry_run",
    "retry_delivery",
    "send_test",
    "enable_recipient",
    "check_connection",
)


def _permissions(apps, codenames):
    permission = apps.get_model("auth", "Permission")
    found = list(
        permission.objects.filter(content_type__app_label="integrations", codename__in=codenames)
    )
    missing = set(codenames) - {p.codename for p in found}
    if missing:
        raise RuntimeError(f"permissions missing: {', '.join(sorted(missing))}")
    return found


def create_roles(apps, schema_editor):
    config = apps.get_app_config("integrations")
    # create_permissions skips an app without a models module; a migration's stub has none.
    config.models_module = True
    try:
        create_permissions(config, apps=apps, verbosity=0)
    finally:
        config.models_module = None
    models = [m._meta.model_name for m in config.get_models()]
    group = apps.get_model("auth", "Group")
    operators, _ = group.objects.get_or_create(name=OPERATORS)
    views = [f"view_{name}" for name in models if name not in HIDDEN_FROM_OPERATORS]
    operators.permissions.add(*_permissions(apps, [*views, *OPERATOR_ACTIONS]))
    viewers, _ = group.objects.get_or_create(name=VIEWERS)
    viewers.permissions.add(*_permissions(apps, [f"view_{name}" for name in VIEWER_MODELS]))


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[OPERATORS, VIEWERS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0023_audit_and_retention"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="difyapp",
            options={
                "ordering": ["name"],
                "permissions": [
                    ("check_connection", "Can check the connection of apps and review endpoints")
                ],
                "verbose_name": "Dify app",
            },
        ),
        migrations.AlterModelOptions(
            name="recipient",
            options={
                "ordering": ["name"],
                "permissions": [
                    ("send_test", "Can send a test message"),
                    ("enable_recipient", "Can turn on again a recipient the hub turned off"),
                ],
            },
        ),
        migrations.AlterModelOptions(
            name="reviewendpoint",
            options={
                "ordering": ["name"],
                "permissions": [
                    ("regenerate_secret", "Can regenerate an endpoint's webhook secret")
                ],
                "verbose_name": "review endpoint",
            },
        ),
        migrations.AlterModelOptions(
            name="run",
            options={
                "ordering": ["-created_at", "-id"],
                "permissions": [
                    ("run_now", "Can run a digest or an app now"),
                    ("stop_run", "Can stop a run"),
                    ("retry_run", "Can retry a run"),
                    ("retry_delivery", "Can retry a run's failed deliveries"),
                ],
            },
        ),
        migrations.RunPython(create_roles, remove_roles),
    ]
