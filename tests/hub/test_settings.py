"""Start-up refuses missing or malformed configuration with a message naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
GOOD = {"SECRET_KEY": "x" * 50, "HUB_ENCRYPTION_KEYS": Fernet.generate_key().decode()}


def start(tmp_path, **env: str) -> subprocess.CompletedProcess:
    """Load the production settings in a fresh interpreter with exactly these variables.

    Real environment variables win over .env and var/local.env, so each case is decided by
    what is passed here.
    """
    inherited = ("PATH", "HOME", "LANG")
    clean = {name: os.environ[name] for name in inherited if name in os.environ}
    clean.update(DJANGO_SETTINGS_MODULE="hub.settings", PYTHONPATH=str(ROOT), **env)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=tmp_path,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG='maybe' is not a boolean"),
        ("TIME_ZONE", "Europe/Atlantis", "TIME_ZONE='Europe/Atlantis' is not an IANA time zone"),
        ("HUB_ENCRYPTION_KEYS", "not-a-key", "HUB_ENCRYPTION_KEYS: key number 1 is not a valid"),
        ("DATABASE_URL", "mongodb://x/y", "DATABASE_URL is not a valid database URL"),
        ("REDIS_URL", "amqp://guest@localhost//", "REDIS_URL must start with redis://"),
        (
            "HUB_DIGEST_CATCHUP_GRACE",
            "an hour",
            "HUB_DIGEST_CATCHUP_GRACE='an hour' is not a whole number",
        ),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL='LOUD' must be one of"),
    ],
)
def test_a_malformed_variable_stops_start_up_naming_it(tmp_path, variable, value, message):
    result = start(tmp_path, **{**GOOD, variable: value})
    assert result.returncode != 0
    assert message in result.stderr
    assert "started" not in result.stdout


def test_valid_settings_start(tmp_path):
    result = start(tmp_path, **GOOD)
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_a_missing_secret_key_names_the_variable(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from hub.env import env_str

    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY is not set"):
        env_str("SECRET_KEY")


def test_missing_encryption_keys_name_the_variable(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from hub.env import env_fernet_keys

    monkeypatch.delenv("HUB_ENCRYPTION_KEYS", raising=False)
    with pytest.raises(ImproperlyConfigured, match="HUB_ENCRYPTION_KEYS is not set"):
        env_fernet_keys("HUB_ENCRYPTION_KEYS")


def database_settings(tmp_path, **env: str) -> str:
    """The default database's CONN_MAX_AGE and pool options as a process gets them."""
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "db = settings.DATABASES['default']; "
        "print(db['CONN_MAX_AGE'], db.get('OPTIONS', {}).get('pool'))"
    )
    inherited = {name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={
            **inherited,
            "DJANGO_SETTINGS_MODULE": "hub.settings",
            "PYTHONPATH": str(ROOT),
            **GOOD,
            "DATABASE_URL": "postgres://hub@db.example:5432/hub",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_a_worker_process_shares_a_pool_of_postgresql_connections(tmp_path):
    age, pool = database_settings(tmp_path, HUB_PROCESS="worker-2").split(" ", 1)
    assert age == "0"  # closing a connection gives it back to the pool
    assert "'max_size': 2" in pool and "'timeout': 30" in pool
    sized = database_settings(tmp_path, HUB_PROCESS="worker-1", HUB_DB_POOL_SIZE="4")
    assert "'max_size': 4" in sized


def test_a_web_process_keeps_one_persistent_connection(tmp_path):
    assert database_settings(tmp_path, HUB_PROCESS="web") == "60 None"
    assert database_settings(tmp_path, HUB_PROCESS="worker-1", HUB_DB_POOL_SIZE="0") == "60 None"
