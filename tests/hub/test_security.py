"""HTTPS in one switch: what HUB_PUBLIC_URL / HUB_HTTPS turn on, the start-up errors, and
`manage.py check --deploy` with and without the switch (real processes, real settings)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from hub import security
from tests.hub.processes import ROOT, deploy_env, settings_with
from tests.hub.test_settings import start

PUBLIC = "https://hub.example.com"
SETTINGS = (
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_SSL_REDIRECT",
    "SECURE_REDIRECT_EXEMPT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER",
    "CSRF_TRUSTED_ORIGINS",
    "SILENCED_SYSTEM_CHECKS",
)


def check_deploy(tmp_path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "check", "--deploy", "--fail-level", "WARNING"],
        cwd=tmp_path,
        env=deploy_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def settings_of(tmp_path, **env: str) -> dict:
    return settings_with(tmp_path, SETTINGS, **env)


# --- manage.py check --deploy ------------------------------------------------------------------


def test_check_deploy_is_clean_with_an_https_public_url(tmp_path):
    result = check_deploy(tmp_path, HUB_PUBLIC_URL=PUBLIC)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (2 silenced)." in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_check_deploy_without_the_switch_shows_the_four_warnings(tmp_path):
    result = check_deploy(tmp_path)
    assert result.returncode != 0
    found = {
        code for code in ("W004", "W008", "W012", "W016") if f"security.{code}" in result.stderr
    }
    assert found == {"W004", "W008", "W012", "W016"}, result.stderr
    assert "identified 4 issues (0 silenced)" in result.stderr


def test_check_deploy_is_clean_when_the_operator_opts_in_to_subdomains_and_preload(tmp_path):
    result = check_deploy(
        tmp_path,
        HUB_HTTPS="true",
        HUB_HSTS_SECONDS="31536000",
        HUB_HSTS_INCLUDE_SUBDOMAINS="true",
        HUB_HSTS_PRELOAD="true",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_keeps_the_redirect_warning_when_the_operator_turns_it_off(tmp_path):
    # Django cannot see a proxy that redirects: the warning stays as the reminder.
    result = check_deploy(tmp_path, HUB_PUBLIC_URL=PUBLIC, HUB_SSL_REDIRECT="false")
    assert result.returncode != 0
    assert "security.W008" in result.stderr and "identified 1 issue" in result.stderr


# --- what the switch turns on --------------------------------------------------------------------


def test_nothing_https_is_on_without_the_switch(tmp_path):
    values = settings_of(tmp_path)
    assert values["SESSION_COOKIE_SECURE"] is False and values["CSRF_COOKIE_SECURE"] is False
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SECURE_HSTS_SECONDS"] == 0
    assert values["SECURE_PROXY_SSL_HEADER"] is None
    assert values["CSRF_TRUSTED_ORIGINS"] == []
    assert values["SILENCED_SYSTEM_CHECKS"] == []


def test_an_https_public_url_turns_everything_on(tmp_path):
    values = settings_of(
        tmp_path, HUB_PUBLIC_URL=PUBLIC + "/", CSRF_TRUSTED_ORIGINS="https://admin.example.com"
    )
    assert values["SESSION_COOKIE_SECURE"] is True and values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_REDIRECT_EXEMPT"] == [r"^healthz$", r"^hooks/", r"^metrics$"]
    assert values["SECURE_HSTS_SECONDS"] == 3600
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False
    assert values["SECURE_HSTS_PRELOAD"] is False
    # Not trusted without HUB_TRUSTED_PROXY: a client could send it itself.
    assert values["SECURE_PROXY_SSL_HEADER"] is None
    assert values["CSRF_TRUSTED_ORIGINS"] == ["https://admin.example.com", PUBLIC]
    assert values["SILENCED_SYSTEM_CHECKS"] == ["security.W005", "security.W021"]


def test_hub_https_alone_turns_it_on_and_false_turns_it_off(tmp_path):
    assert settings_of(tmp_path, HUB_HTTPS="true")["SESSION_COOKIE_SECURE"] is True
    off = settings_of(tmp_path, HUB_PUBLIC_URL=PUBLIC, HUB_HTTPS="false")
    assert off["SESSION_COOKIE_SECURE"] is False and off["SECURE_HSTS_SECONDS"] == 0
    assert off["SECURE_SSL_REDIRECT"] is False
    assert off["CSRF_TRUSTED_ORIGINS"] == [PUBLIC]


def test_the_operator_sets_hsts_redirect_and_the_proxy_header(tmp_path):
    values = settings_of(
        tmp_path,
        HUB_PUBLIC_URL=PUBLIC,
        HUB_HSTS_SECONDS="86400",
        HUB_HSTS_INCLUDE_SUBDOMAINS="yes",
        HUB_SSL_REDIRECT="false",
        HUB_TRUSTED_PROXY="true",
    )
    assert values["SECURE_HSTS_SECONDS"] == 86400
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["SILENCED_SYSTEM_CHECKS"] == ["security.W021"]
    assert (
        settings_of(tmp_path, HUB_PUBLIC_URL=PUBLIC, HUB_HSTS_SECONDS="0")["SILENCED_SYSTEM_CHECKS"]
        == []
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"HUB_PUBLIC_URL": "http://hub.example.com", "HUB_HTTPS": "true"},
            "HUB_HTTPS is on but HUB_PUBLIC_URL='http://hub.example.com' is http://",
        ),
        (
            {"HUB_PUBLIC_URL": PUBLIC, "HUB_HSTS_SECONDS": "one day"},
            "HUB_HSTS_SECONDS='one day' is not a whole number",
        ),
        ({"HUB_HSTS_SECONDS": "-1"}, "HUB_HSTS_SECONDS='-1' must be at least 0"),
        ({"HUB_PUBLIC_URL": "hub.example.com"}, "HUB_PUBLIC_URL='hub.example.com' is not an"),
        ({"HUB_HTTPS": "sure"}, "HUB_HTTPS='sure' is not a boolean"),
        ({"HUB_TRUSTED_PROXY": "nginx"}, "HUB_TRUSTED_PROXY='nginx' is not a boolean"),
        ({"HUB_SSL_REDIRECT": "maybe"}, "HUB_SSL_REDIRECT='maybe' is not a boolean"),
        ({"HUB_HSTS_PRELOAD": "please"}, "HUB_HSTS_PRELOAD='please' is not a boolean"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(tmp_path, env, message):
    good = {"SECRET_KEY": "x" * 50, "HUB_ENCRYPTION_KEYS": Fernet.generate_key().decode()}
    result = start(tmp_path, **good, **env)
    assert result.returncode != 0
    assert message in result.stderr
    assert "started" not in result.stdout


# --- the rules, without a process ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("", ""),
        ("https://hub.example.com", "https://hub.example.com"),
        ("https://Hub.Example.com:8443/dify-hub", "https://hub.example.com:8443"),
        ("http://user:pw@10.0.0.5:8000", "http://10.0.0.5:8000"),
    ],
)
def test_the_public_origin(url, origin):
    assert security.public_origin(url) == origin


@pytest.mark.parametrize("url", ["hub.example.com", "ftp://hub.example.com", "https://"])
def test_a_public_url_that_is_not_an_address_is_refused(url):
    with pytest.raises(ImproperlyConfigured, match="HUB_PUBLIC_URL="):
        security.public_origin(url)


def test_trusted_origins_are_merged_once():
    assert security.trusted_origins([PUBLIC], PUBLIC + "/hub") == [PUBLIC]
    assert security.trusted_origins(["https://a.example"], "") == ["https://a.example"]


def test_https_mode_refuses_a_plain_http_public_url_and_allows_none():
    assert security.check_https(True, "") is True
    assert security.check_https(False, "http://hub.example.com") is False
    with pytest.raises(ImproperlyConfigured, match="HUB_HTTPS is on"):
        security.check_https(True, "http://hub.example.com")
