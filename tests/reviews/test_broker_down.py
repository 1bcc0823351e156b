"""With the broker unreachable, GitLab still gets its answer and nothing is lost: the run waits
in the database and the housekeeping sweep sends it once the broker is back."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from django.utils import timezone

from hub.celery import app as celery_app
from integrations.models import Run, WebhookEvent
from integrations.runs import dispatch
from integrations.runs.recovery import recover
from tests.reviews.support import delivery

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def broker_down():
    """Point the real Celery app at a Redis that is not there, then restore it."""
    # Only broker_url is set: broker_write_url falls back to it unless set explicitly, and
    # reading it would return that fallback, which must not be written back as a setting.
    saved = celery_app.conf.broker_url, celery_app.conf.broker_transport
    celery_app.conf.broker_url = f"redis://127.0.0.1:{closed_port()}/0"
    celery_app.conf.broker_transport = None  # the file broker's transport would win
    _reset_pools()
    yield
    celery_app.conf.broker_url, celery_app.conf.broker_transport = saved
    _reset_pools()


def _reset_pools() -> None:
    # Celery caches its connection and producer pools; drop them so the URL change counts.
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def test_an_event_is_stored_and_answered_while_the_broker_is_down(
    endpoint, post_hook, broker_down, django_capture_on_commit_callbacks, caplog
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_hook(endpoint, *delivery("mr_open"))

    assert response.status_code == 202
    run = Run.objects.get(pk=response.json()["run"])
    assert run.status == Run.Status.QUEUED
    assert WebhookEvent.objects.get().run == run
    # The failed send was logged, not turned into a 500.
    assert any("could not publish execute_run" in r.getMessage() for r in caplog.records)

    # Later the broker is back; the sweep hands the waiting run a free slot and sends it.
    celery_app.conf.broker_url = "memory://"
    _reset_pools()
    dispatch.broker_recovered()
    counts = recover(timezone.now() + timedelta(minutes=5))
    assert counts["runs"] == 1
