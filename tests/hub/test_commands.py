"""`manage.py hub …` commands."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection

from integrations.models import DifyApp, Recipient, Run

pytestmark = pytest.mark.django_db


def stored(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_ensure_admin_creates_admin_once_with_the_given_password(monkeypatch, capsys):
    monkeypatch.setenv("HUB_ADMIN_PASSWORD", "s3cret-pass-word")
    call_command("hub", "ensure-admin")
    user = get_user_model().objects.get(username="admin")
    assert user.is_superuser and user.check_password("s3cret-pass-word")
    call_command("hub", "ensure-admin")
    assert "A superuser exists" in capsys.readouterr().out
    assert get_user_model().objects.count() == 1


def test_ensure_admin_generates_and_prints_a_password(monkeypatch, capsys):
    monkeypatch.delenv("HUB_ADMIN_PASSWORD", raising=False)
    call_command("hub", "ensure-admin")
    out = capsys.readouterr().out
    password = out.split("password: ")[1].split()[0]
    assert get_user_model().objects.get(username="admin").check_password(password)


def test_rotate_keys_re_encrypts_with_the_new_first_key(settings, dify_app):
    recipient = Recipient.objects.create(
        name="r", kind="slack", webhook_url="https://h/x", secret="shh"
    )
    old_key = settings.HUB_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.HUB_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("hub", "rotate-keys")
    token = stored("integrations_difyapp", "api_key", dify_app.pk)
    assert Fernet(new_key.encode()).decrypt(token.encode()).decode() == dify_app.api_key
    settings.HUB_ENCRYPTION_KEYS = [new_key]  # the old key can now be dropped
    assert DifyApp.objects.get().api_key == dify_app.api_key
    assert Recipient.objects.get(pk=recipient.pk).secret == "shh"


def test_check_app_reports_mode_and_inputs(dify_app, capsys):
    call_command("hub", "check-app", "echo")
    assert (
        "a Workflow app; input variables: query (text-input, required)" in capsys.readouterr().out
    )


def test_run_digest_names_the_known_digests_when_the_name_is_wrong(db):
    with pytest.raises(CommandError, match="No digest named 'nope'. Digests: none yet."):
        call_command("hub", "run-digest", "nope")


def test_run_digest_queues_a_run(make_digest, capsys):
    digest = make_digest(name="Morning")
    call_command("hub", "run-digest", "Morning")
    run = Run.objects.get(digest=digest)
    assert run.status == Run.Status.QUEUED and run.slot is None
    assert f"Run #{run.pk} queued for digest 'Morning'." in capsys.readouterr().out


def test_rotate_keys_covers_gitlab_endpoint_secrets(settings, endpoint):
    from integrations.models import ReviewEndpoint

    endpoint.signing_secret = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
    endpoint.save()
    old_key = settings.HUB_ENCRYPTION_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.HUB_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("hub", "rotate-keys")
    settings.HUB_ENCRYPTION_KEYS = [new_key]
    stored_endpoint = ReviewEndpoint.objects.get()
    assert stored_endpoint.access_token == endpoint.access_token
    assert stored_endpoint.signing_secret == endpoint.signing_secret


def test_rotate_keys_covers_a_github_apps_private_key(settings, review_app):
    from integrations.models import ReviewEndpoint
    from tests.github.support import PRIVATE_KEY

    endpoint = ReviewEndpoint(
        name="app",
        forge="github",
        slug="app",
        app=review_app,
        base_url="https://github.com",
        github_app_id=1,
        github_app_private_key=PRIVATE_KEY,
    )
    endpoint.set_secret_token("a-secret-of-enough-length")
    endpoint.save()
    old_key = settings.HUB_ENCRYPTION_KEYS[0]
    settings.HUB_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old_key]
    call_command("hub", "rotate-keys")
    settings.HUB_ENCRYPTION_KEYS = settings.HUB_ENCRYPTION_KEYS[:1]  # the old key is gone
    stored = ReviewEndpoint.objects.get()
    assert stored.github_app_private_key == PRIVATE_KEY
    assert stored.signing_secret == "a-secret-of-enough-length"
