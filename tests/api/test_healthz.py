"""GET /healthz: the database, the broker and beat's last tick; 503 when work cannot proceed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from hub.celery import app as celery_app
from tests.reviews.test_broker_down import broker_down  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def test_it_reports_the_database_the_broker_and_beat(client):
    PeriodicTask.objects.update(last_run_at=None)
    PeriodicTask.objects.filter(name="dify-hub housekeeping").update(
        last_run_at=timezone.now() - timedelta(seconds=42)
    )
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["database"], body["broker"]) == ("ok", "ok", "ok")
    assert 42 <= body["beat"]["age_seconds"] <= 45
    assert body["beat"]["last_tick_at"].endswith("Z")


def test_beat_that_never_ticked_is_null(client):
    PeriodicTask.objects.update(last_run_at=None)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["beat"] == {"last_tick_at": None, "age_seconds": None}


@pytest.mark.usefixtures("broker_down")
def test_an_unreachable_broker_is_503(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["database"], body["broker"]) == ("error", "ok", "unreachable")


def test_a_missing_file_broker_folder_is_503(client, tmp_path):
    saved = celery_app.conf.broker_url, celery_app.conf.broker_transport_options
    celery_app.conf.broker_url = "filesystem://localhost//"
    celery_app.conf.broker_transport_options = {"data_folder_out": str(tmp_path / "gone")}
    try:
        response = client.get("/healthz")
    finally:
        celery_app.conf.broker_url, celery_app.conf.broker_transport_options = saved
    assert response.status_code == 503
    assert response.json()["broker"] == "unreachable"


def test_an_unreachable_database_is_503(client, monkeypatch):
    from integrations import views

    class Unreachable:
        def cursor(self):
            raise OSError("connection refused")

    monkeypatch.setattr(views, "connection", Unreachable())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "error",
        "database": "unreachable",
        "broker": "ok",
        "beat": None,
    }
