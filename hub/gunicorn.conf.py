"""gunicorn's settings for the hub's web process (hub/processes.py starts it with this file).

Sync workers, 2 x cores + 1 by default: measured faster for webhooks than threads on this
design (benchmarks/RESULTS.md). HUB_BIND and HUB_WEB_WORKERS override.
"""

import multiprocessing
import os

bind = os.environ.get("HUB_BIND") or "127.0.0.1:8000"
workers = int(os.environ.get("HUB_WEB_WORKERS") or 2 * multiprocessing.cpu_count() + 1)
accesslog = "-"
graceful_timeout = 10
