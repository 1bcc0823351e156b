"""Work a web process would otherwise do on its first request, done as it starts.

Django loads the URLconf (and with it every view and the admin) on the first request, and
Celery finalizes its app and loads its broker transport on the first publish. Measured on
2026-12-06: about 115 ms, 35 ms and 45 ms on a quiet 2-core machine; during a review
fan-out each gunicorn worker's first webhook took 330-570 ms against a p50 of about 25 ms
(the access log's request time, by worker pid), the whole of the benchmark's p99. gunicorn
calls `web_process` after forking a worker and before it accepts a request
(hub/gunicorn.conf.py). Nothing here touches the network: a database or broker that is down
is the first request's business, as it would have been.
"""

from __future__ import annotations

import logging

from celery import current_app
from django.urls import get_resolver

log = logging.getLogger(__name__)


def web_process() -> None:
    try:
        get_resolver().url_patterns  # noqa: B018 - imports the URLconf and every view
        current_app.loader.import_default_modules()
        current_app.finalize()
        current_app.connection_for_write().transport  # noqa: B018 - imports the transport
    except Exception:  # noqa: BLE001 - a failed warm-up leaves the work to the first request
        log.warning("warming up the web process failed; its first request does it", exc_info=True)
