from __future__ import annotations

import pytest
from django.conf import settings

from hub.celery import app as celery_app
from tests.e2e.processes import start_beat, start_worker


def purge_test_queues() -> None:
    """Drop messages earlier tests left for ids that no longer exist."""
    with celery_app.connection_for_write() as connection:
        channel = connection.default_channel
        for queue in settings.HUB_QUEUES.values():
            channel.queue_declare(queue=queue, durable=True, auto_delete=False)
            channel.queue_purge(queue)


@pytest.fixture
def worker(transactional_db):
    purge_test_queues()
    process = start_worker()
    yield process
    process.stop()


@pytest.fixture
def beat(transactional_db, tmp_path):
    # An earlier test's flush may have removed the change stamp beat compares against; the
    # hub's scheduler counts the first stamp as a change (integrations/digests/beat_scheduler).
    process = start_beat(tmp_path)
    yield process
    process.stop()


def broker_kind() -> str:
    return "redis" if settings.REDIS_URL else "filesystem"
