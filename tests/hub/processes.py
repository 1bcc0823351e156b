"""Settings as a real process gets them: Django started in a child process with a server's
environment (no debug, a host name, real secrets), and the settings it ended up with."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]


def deploy_env(tmp_path, **env: str) -> dict[str, str]:
    """What a new user sets on a server: no debug, a host name, real secrets."""
    inherited = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    return {
        **inherited,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "hub.settings",
        "DEBUG": "0",
        "ALLOWED_HOSTS": "hub.example.com",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "HUB_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'hub.sqlite3'}",
        **env,
    }


def start_with(tmp_path, names: Iterable[str], **env: str) -> subprocess.CompletedProcess:
    """Django set up in a child process; it prints the named settings as JSON."""
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n, None) for n in {tuple(names)!r}}}, "
        "default=str))"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=deploy_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def settings_with(tmp_path, names: Iterable[str], **env: str) -> dict:
    """The named settings of a process that must start."""
    result = start_with(tmp_path, names, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)
