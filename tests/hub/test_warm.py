"""A gunicorn worker loads the URLconf and Celery's transport before its first request
(hub/warm.py, called from hub/gunicorn.conf.py's post_worker_init), without any network."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]

# In a fresh interpreter: load gunicorn's config file as gunicorn does, set Django up as the
# worker does (hub.wsgi), call the hook, and report what was loaded. The broker and database
# URLs point at closed ports: the warm-up must not need them.
SCRIPT = """
import runpy, sys
config = runpy.run_path("hub/gunicorn.conf.py")
import hub.wsgi
from celery import current_app
def loaded():
    return ("hub.urls" in sys.modules, current_app.finalized, "kombu.transport.redis" in sys.modules)
before = loaded()
config["post_worker_init"](None)
print(before, loaded())
"""


def test_the_worker_hook_loads_the_urlconf_and_celery_before_a_request(tmp_path):
    env = {name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="hub.settings",
        PYTHONPATH=str(ROOT),
        SECRET_KEY="x" * 50,
        HUB_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        DATABASE_URL="postgres://hub@127.0.0.1:9/hub",
        REDIS_URL="redis://127.0.0.1:9/0",
        HUB_PROCESS="web",
    )
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[-2] == "(False, False, False) (True, True, True)"
    assert "warming up the web process failed" not in result.stderr
