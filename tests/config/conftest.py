"""Shared by the configuration-as-code tests: the issue's file, its environment, helpers."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

ISSUE_YAML = Path(__file__).with_name("issue.yaml")
SECRETS = {
    "WEATHER_APP_KEY": "app-weather-0123456789abcdef",
    "ROCKETCHAT_HOOK_URL": "https://chat.example.com/hooks/abc123/tok-secret-456",
    "GITLAB_WEBHOOK_SECRET": "dhgl_webhook-secret-token-0123456789",
    "GITLAB_TOKEN": "glpat-access-token-0123456789",
}


@pytest.fixture
def env(monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return SECRETS


@pytest.fixture
def reviewer(db):
    """The app the issue's GitLab endpoint names; created directly, no Dify needed."""
    from integrations.models import DifyApp

    return DifyApp.objects.create(
        name="reviewer", base_url="http://127.0.0.1:9/v1", api_key="app-reviewer-key"
    )


@pytest.fixture
def no_network(monkeypatch):
    """Apply must not call Dify or GitLab: any outgoing connection fails the test."""
    import socket

    def refuse(self, address):
        raise AssertionError(f"apply opened a connection to {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture
def write(tmp_path):
    def write(text: str, name: str = "hub.yaml") -> str:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return str(path)

    return write


def hub(*args: str) -> str:
    from django.core.management import call_command

    out = io.StringIO()
    call_command("hub", *args, stdout=out)
    return out.getvalue()


def db_state() -> dict:
    """Every row the configuration touches, with its values (secrets decrypted)."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    from integrations.models import DifyApp, Digest, Recipient, ReviewEndpoint

    models = (DifyApp, Recipient, Digest, ReviewEndpoint, PeriodicTask, CrontabSchedule)
    state = {model.__name__: list(model.objects.order_by("pk").values()) for model in models}
    for model in (Digest, ReviewEndpoint):
        through = model.recipients.through
        state[through.__name__] = list(through.objects.order_by("pk").values())
    return state
