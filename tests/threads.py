"""Worker threads in tests, ending as Celery's do: with their database connection closed.

Celery's Django fixup closes a task thread's connections when the task ends; with the
PostgreSQL pool, closing gives the connection back. A test thread that skipped it would keep
its pooled connection for the rest of the session.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connections


def worker_thread(target: Callable[..., object], *args: object) -> threading.Thread:
    """An unstarted thread running `target(*args)`, then closing its connections."""

    def run() -> None:
        try:
            target(*args)
        finally:
            connections.close_all()

    return threading.Thread(target=run)
