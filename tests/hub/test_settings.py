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
