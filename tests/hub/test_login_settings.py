"""The login-protection settings as the environment sets them (real processes, real settings)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.hub.processes import deploy_env, settings_with

NAMES = (
    "AXES_FAILURE_LIMIT",
    "AXES_COOLOFF_TIME",
    "AXES_LOCKOUT_PARAMETERS",
    "AXES_CLIENT_IP_CALLABLE",
    "HUB_TRUSTED_PROXY",
    "HUB_FORWARDED_ALLOW_IPS",
    "AUTHENTICATION_BACKENDS",
)


def axes_settings(tmp_path, **env: str) -> dict:
    return settings_with(tmp_path, NAMES, **env)


def test_the_defaults_are_five_failures_and_fifteen_minutes_by_the_tcp_peer(tmp_path):
    found = axes_settings(tmp_path)
    assert found["AXES_FAILURE_LIMIT"] == 5
    assert found["AXES_COOLOFF_TIME"] == "0:15:00"
    assert found["AXES_LOCKOUT_PARAMETERS"] == [["username", "ip_address"]]
    assert found["AXES_CLIENT_IP_CALLABLE"] == "integrations.lockout.address.client_address"
    assert found["HUB_TRUSTED_PROXY"] is False
    # gunicorn's own default: only a proxy on this machine is believed.
    assert found["HUB_FORWARDED_ALLOW_IPS"] == ["127.0.0.1/32", "::1/128"]
    assert found["AUTHENTICATION_BACKENDS"][0] == "axes.backends.AxesStandaloneBackend"


def test_the_operator_sets_the_limit_the_cool_off_and_the_proxy(tmp_path):
    found = axes_settings(
        tmp_path,
        HUB_LOGIN_FAILURES="3",
        HUB_LOGIN_COOLOFF_MINUTES="60",
        HUB_LOGIN_LOCKOUT="separately",
        HUB_TRUSTED_PROXY="true",
        FORWARDED_ALLOW_IPS="10.0.0.2, 192.168.1.0/24",
    )
    assert found["AXES_FAILURE_LIMIT"] == 3
    assert found["AXES_COOLOFF_TIME"] == "1:00:00"
    assert found["AXES_LOCKOUT_PARAMETERS"] == ["username", "ip_address"]
    assert found["HUB_TRUSTED_PROXY"] is True
    assert found["HUB_FORWARDED_ALLOW_IPS"] == ["10.0.0.2/32", "192.168.1.0/24"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HUB_LOGIN_FAILURES": "0"}, "HUB_LOGIN_FAILURES"),
        ({"HUB_LOGIN_COOLOFF_MINUTES": "soon"}, "HUB_LOGIN_COOLOFF_MINUTES='soon'"),
        ({"HUB_LOGIN_LOCKOUT": "either"}, "HUB_LOGIN_LOCKOUT='either': use 'pair'"),
        ({"FORWARDED_ALLOW_IPS": "proxy.local"}, "FORWARDED_ALLOW_IPS='proxy.local'"),
    ],
)
def test_a_bad_value_stops_start_up_naming_it(tmp_path, env, message):
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=tmp_path,
        env=deploy_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and message in result.stderr
