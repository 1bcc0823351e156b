"""gunicorn's settings for the hub's web process (hub/processes.py starts it with this file).

Sync workers, 2 x cores + 1 by default: measured faster for webhooks than threads on this
design (docs/benchmarks.md). HUB_BIND and HUB_WEB_WORKERS override, from the environment or
from .env, as every other setting.
"""

import multiprocessing
import os
from pathlib import Path

from hub.env import load_env_files

_ROOT = Path(__file__).resolve().parent.parent
load_env_files(_ROOT / ".env", _ROOT / "var" / "local.env")

bind = os.environ.get("HUB_BIND") or "127.0.0.1:8000"
workers = int(os.environ.get("HUB_WEB_WORKERS") or 2 * multiprocessing.cpu_count() + 1)
accesslog = "-"
graceful_timeout = 10


def post_worker_init(worker) -> None:
    # Each worker loads the URLconf and Celery's transport before its first request rather
    # than during it (hub/warm.py).
    from hub import warm  # noqa: PLC0415 -- Django is set up once the worker loaded hub.wsgi

    warm.web_process()
