"""Secrets from files (`SECRET_KEY_FILE=/run/secrets/…`), as Docker and Kubernetes mount them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from hub import localenv
from hub.env import SECRET_FILE_NAMES, env_fernet_keys, env_str, load_env_files
from tests.hub.test_settings import GOOD, ROOT, start

SECRET = "s3cr3t-" + "k" * 50


@pytest.fixture
def secret_file(tmp_path):
    def write(content: str | bytes, name: str = "secret") -> str:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        return str(path)

    return write


@pytest.fixture(autouse=True)
def no_secrets_in_the_environment(monkeypatch):
    for name in SECRET_FILE_NAMES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)


def test_the_secrets_that_may_come_from_files():
    assert {
        "SECRET_KEY",
        "HUB_ENCRYPTION_KEYS",
        "DATABASE_URL",
        "EMAIL_URL",
        "HUB_OIDC_CLIENT_SECRET",
    } == SECRET_FILE_NAMES


@pytest.mark.parametrize("ending", ["", "\n", "\r\n", "\n\n"])
def test_a_secret_is_read_from_its_file_without_the_trailing_newline(
    monkeypatch, secret_file, ending
):
    monkeypatch.setenv("SECRET_KEY_FILE", secret_file(SECRET + ending))
    assert env_str("SECRET_KEY") == SECRET


def test_inner_spaces_and_lines_of_a_secret_are_kept(monkeypatch, secret_file):
    monkeypatch.setenv("EMAIL_URL_FILE", secret_file(" smtp://u:p@h:587/ \n"))
    assert env_str("EMAIL_URL", "") == " smtp://u:p@h:587/ "


def test_encryption_keys_come_from_a_file_too(monkeypatch, secret_file):
    keys = [Fernet.generate_key().decode(), Fernet.generate_key().decode()]
    monkeypatch.setenv("HUB_ENCRYPTION_KEYS_FILE", secret_file(",".join(keys) + "\n"))
    assert env_fernet_keys("HUB_ENCRYPTION_KEYS") == keys


def test_a_variable_and_its_file_both_set_is_an_error_naming_both(monkeypatch, secret_file):
    monkeypatch.setenv("DATABASE_URL", "postgres://hub@db/hub")
    monkeypatch.setenv("DATABASE_URL_FILE", secret_file("postgres://hub:pw@db/hub"))
    with pytest.raises(ImproperlyConfigured) as raised:
        env_str("DATABASE_URL", "sqlite:///x")
    assert "DATABASE_URL and DATABASE_URL_FILE are both set" in str(raised.value)
    assert "pw" not in str(raised.value)


def test_an_unreadable_file_names_the_variable_and_the_path(monkeypatch, tmp_path):
    missing = str(tmp_path / "nowhere" / "secret_key")
    monkeypatch.setenv("SECRET_KEY_FILE", missing)
    with pytest.raises(ImproperlyConfigured) as raised:
        env_str("SECRET_KEY")
    assert str(raised.value) == (
        f"SECRET_KEY_FILE={missing!r} cannot be read: No such file or directory."
    )


def test_a_directory_is_not_a_secret_file(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY_FILE", str(tmp_path))
    with pytest.raises(ImproperlyConfigured, match=r"SECRET_KEY_FILE=.* cannot be read"):
        env_str("SECRET_KEY")


def test_an_empty_file_is_an_error(monkeypatch, secret_file):
    path = secret_file("\n")
    monkeypatch.setenv("SECRET_KEY_FILE", path)
    with pytest.raises(ImproperlyConfigured, match=f"SECRET_KEY_FILE='{path}' is empty"):
        env_str("SECRET_KEY")


def test_an_error_never_shows_the_files_content(monkeypatch, secret_file):
    monkeypatch.setenv("SECRET_KEY_FILE", secret_file(b"\xffpassw0rd-in-latin-1\xe9"))
    with pytest.raises(ImproperlyConfigured) as raised:
        env_str("SECRET_KEY")
    assert "is not UTF-8 text" in str(raised.value)
    assert "passw0rd" not in str(raised.value) and "xff" not in str(raised.value)


def test_other_variables_ignore_a_file(monkeypatch, secret_file):
    monkeypatch.setenv("TIME_ZONE_FILE", secret_file("Europe/Berlin"))
    monkeypatch.delenv("TIME_ZONE", raising=False)
    assert env_str("TIME_ZONE", "UTC") == "UTC"


def test_an_empty_file_variable_counts_as_not_set(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", SECRET)
    monkeypatch.setenv("SECRET_KEY_FILE", "")
    assert env_str("SECRET_KEY") == SECRET


def test_first_start_generates_no_secret_that_a_file_provides(monkeypatch, tmp_path):
    """`make run` writes var/local.env only for secrets given neither way; a generated
    SECRET_KEY beside SECRET_KEY_FILE would stop start-up with 'both set'."""
    monkeypatch.setattr(localenv, "BASE_DIR", tmp_path)
    monkeypatch.setattr(localenv, "LOCAL_ENV", tmp_path / "var" / "local.env")
    monkeypatch.setenv("SECRET_KEY_FILE", "/run/secrets/secret_key")
    assert localenv.main() == 0
    written = (tmp_path / "var" / "local.env").read_text()
    assert "HUB_ENCRYPTION_KEYS=" in written
    assert "SECRET_KEY=" not in written


def test_a_secret_file_in_the_environment_hides_the_secret_in_a_dotenv_file(
    monkeypatch, tmp_path, secret_file
):
    """The environment wins over .env and var/local.env, whichever way a secret is given."""
    local_env = tmp_path / "local.env"
    local_env.write_text("SECRET_KEY=generated-once\nDATABASE_URL_FILE=/x\nOTHER_SETTING=1\n")
    monkeypatch.setenv("SECRET_KEY_FILE", secret_file(SECRET))
    monkeypatch.setenv("DATABASE_URL", "postgres://hub@db/hub")
    monkeypatch.setenv("OTHER_SETTING", "")
    monkeypatch.delenv("OTHER_SETTING")  # and gone again after the test
    load_env_files(tmp_path / "missing.env", local_env)
    assert env_str("SECRET_KEY") == SECRET
    assert env_str("DATABASE_URL") == "postgres://hub@db/hub"
    assert "SECRET_KEY" not in os.environ
    assert os.environ["OTHER_SETTING"] == "1"


def test_the_hub_starts_with_every_secret_from_a_file(tmp_path, secret_file):
    files = {
        "SECRET_KEY_FILE": secret_file(GOOD["SECRET_KEY"] + "\n", "secret_key"),
        "HUB_ENCRYPTION_KEYS_FILE": secret_file(GOOD["HUB_ENCRYPTION_KEYS"] + "\n", "keys"),
        "DATABASE_URL_FILE": secret_file(f"sqlite:///{tmp_path / 'hub.sqlite3'}\n", "db"),
        "EMAIL_URL_FILE": secret_file("smtp://hub:pa%40ss@mail.example.com:587/?tls=true\n", "m"),
    }
    script = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(len(s.SECRET_KEY), s.DATABASES['default']['NAME'], s.EMAIL_HOST, s.EMAIL_HOST_PASSWORD)"
    )
    result = run_settings(tmp_path, script, EMAIL_FROM="hub@example.com", **files)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "50",
        str(tmp_path / "hub.sqlite3"),
        "mail.example.com",
        "pa@ss",
    ]


def test_start_up_stops_when_a_secret_comes_both_ways(tmp_path, secret_file):
    result = start(tmp_path, **GOOD, SECRET_KEY_FILE=secret_file("x" * 50))
    assert result.returncode != 0
    assert "SECRET_KEY and SECRET_KEY_FILE are both set" in result.stderr


def run_settings(tmp_path, script: str, **env: str) -> subprocess.CompletedProcess:
    """Settings in a fresh interpreter with exactly these variables (and the repository's
    .env and var/local.env, which the tests here must not depend on)."""
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "hub.settings",
            "PYTHONPATH": str(ROOT),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
