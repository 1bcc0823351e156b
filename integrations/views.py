"""GET /healthz: is the hub able to work? For load balancers and monitoring, no auth."""

from __future__ import annotations

import logging
from datetime import UTC
from pathlib import Path

from django.db import connection
from django.db.models import Max
from django.http import JsonResponse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from hub.celery import app

logger = logging.getLogger(__name__)

BROKER_TIMEOUT = 2  # seconds


def health(request):
    """200 when the database and the broker answer, else 503; beat's last tick for information.

    Beat is reported, not judged: a hub without a running beat still serves the API and runs
    webhook reviews, and how stale is too stale is the monitoring's call.
    """
    database = database_state()
    broker = broker_state()
    ok = database == "ok" and broker == "ok"
    body = {
        "status": "ok" if ok else "error",
        "database": database,
        "broker": broker,
        "beat": beat_state() if database == "ok" else None,
    }
    return JsonResponse(body, status=200 if ok else 503)


def database_state() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # noqa: BLE001 - report, never 500
        logger.warning("healthz: the database is unreachable", exc_info=True)
        return "unreachable"
    return "ok"


def broker_state() -> str:
    folder = file_broker_folder(app)
    if folder is not None:
        # kombu's filesystem transport: reachable when its folder is there.
        return "ok" if folder.is_dir() else "unreachable"
    try:
        with app.connection_for_write(connect_timeout=BROKER_TIMEOUT) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT)
    except Exception:  # noqa: BLE001 - any failure means "cannot publish"
        logger.warning("healthz: the broker is unreachable", exc_info=True)
        return "unreachable"
    return "ok"


def file_broker_folder(app) -> Path | None:
    url = app.conf.broker_write_url or app.conf.broker_url or ""
    if not url.startswith("filesystem://"):
        return None
    options = app.conf.broker_transport_options or {}
    return Path(options.get("data_folder_out") or ".")


def beat_state() -> dict | None:
    """When beat last ran a task (it runs the housekeeping task every minute)."""
    try:
        last = PeriodicTask.objects.aggregate(last=Max("last_run_at"))["last"]
    except Exception:  # noqa: BLE001 - e.g. not migrated yet: unknown, never a 500
        logger.warning("healthz: cannot read beat's schedule", exc_info=True)
        return None
    if last is None:
        return {"last_tick_at": None, "age_seconds": None}
    age = max(0, round((timezone.now() - last).total_seconds()))
    stamp = last.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return {"last_tick_at": stamp, "age_seconds": age}
