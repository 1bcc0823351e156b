"""The single sign-on settings as the environment sets them (real processes, real settings),
and the mistakes that stop start-up."""

from __future__ import annotations

import subprocess

import pytest

from tests.hub.processes import settings_with, start_with

NAMES = (
    "HUB_OIDC_ENABLED",
    "HUB_LOCAL_LOGIN",
    "HUB_OIDC_ISSUER",
    "HUB_OIDC_NAME",
    "HUB_OIDC_ALLOWED_DOMAINS",
    "HUB_OIDC_GROUPS_CLAIM",
    "HUB_OIDC_ROLE_GROUPS",
    "HUB_OIDC_DEFAULT_ROLE",
    "HUB_OIDC_USERNAME_CLAIM",
    "OIDC_RP_CLIENT_ID",
    "OIDC_RP_CLIENT_SECRET",
    "OIDC_RP_SCOPES",
    "OIDC_RP_SIGN_ALGO",
    "OIDC_TIMEOUT",
    "AUTHENTICATION_BACKENDS",
)
AXES = "axes.backends.AxesStandaloneBackend"
OIDC = "integrations.sso.backend.HubOIDCBackend"
PASSWORD = "django.contrib.auth.backends.ModelBackend"
ON = {
    "HUB_OIDC_ISSUER": "https://login.example.com/realms/main",
    "HUB_OIDC_CLIENT_ID": "dify-hub",
    "HUB_OIDC_CLIENT_SECRET": "the-client-secret",
    "HUB_OIDC_ROLE_GROUPS": "hub-admins=superuser,hub-ops=Operators",
}


def start(tmp_path, **env: str) -> subprocess.CompletedProcess:
    return start_with(tmp_path, NAMES, **env)


def sso_settings(tmp_path, **env: str) -> dict:
    return settings_with(tmp_path, NAMES, **env)


def test_off_by_default_and_the_backends_are_as_they_were(tmp_path):
    found = sso_settings(tmp_path)
    assert found["HUB_OIDC_ENABLED"] is False and found["HUB_LOCAL_LOGIN"] is True
    assert found["AUTHENTICATION_BACKENDS"] == [AXES, PASSWORD]
    assert found["OIDC_RP_CLIENT_ID"] is None


def test_on_with_an_issuer_a_client_and_roles(tmp_path):
    found = sso_settings(
        tmp_path,
        **ON,
        HUB_OIDC_NAME="Keycloak",
        HUB_OIDC_ALLOWED_DOMAINS="example.com, @Example.org",
        HUB_OIDC_GROUPS_CLAIM="realm_access.roles",
        HUB_OIDC_DEFAULT_ROLE="viewers",
        HUB_OIDC_USERNAME_CLAIM="preferred_username",
        HUB_OIDC_SCOPES="openid email profile groups",
        HUB_OIDC_TIMEOUT="5",
    )
    assert found["HUB_OIDC_ENABLED"] is True and found["HUB_LOCAL_LOGIN"] is True
    assert found["HUB_OIDC_ISSUER"] == "https://login.example.com/realms/main"
    assert found["HUB_OIDC_NAME"] == "Keycloak"
    assert found["HUB_OIDC_ALLOWED_DOMAINS"] == ["example.com", "example.org"]
    assert found["HUB_OIDC_GROUPS_CLAIM"] == "realm_access.roles"
    assert found["HUB_OIDC_ROLE_GROUPS"] == {"hub-admins": "superuser", "hub-ops": "Operators"}
    assert found["HUB_OIDC_DEFAULT_ROLE"] == "Viewers"
    assert found["HUB_OIDC_USERNAME_CLAIM"] == "preferred_username"
    assert (found["OIDC_RP_CLIENT_ID"], found["OIDC_RP_CLIENT_SECRET"]) == (
        "dify-hub",
        "the-client-secret",
    )
    assert found["OIDC_RP_SCOPES"] == "openid email profile groups"
    assert found["OIDC_RP_SIGN_ALGO"] == "RS256" and found["OIDC_TIMEOUT"] == 5
    assert found["AUTHENTICATION_BACKENDS"] == [AXES, OIDC, PASSWORD]


def test_local_login_off_leaves_no_password_backend(tmp_path):
    found = sso_settings(tmp_path, **ON, HUB_LOCAL_LOGIN="false")
    assert found["HUB_LOCAL_LOGIN"] is False
    assert found["AUTHENTICATION_BACKENDS"] == [AXES, OIDC]


def test_the_client_secret_may_come_from_a_file(tmp_path):
    secret = tmp_path / "oidc_secret"
    secret.write_text("from-the-file\n")
    env = {**ON, "HUB_OIDC_CLIENT_SECRET": "", "HUB_OIDC_CLIENT_SECRET_FILE": str(secret)}
    assert sso_settings(tmp_path, **env)["OIDC_RP_CLIENT_SECRET"] == "from-the-file"


def test_no_network_at_start_up(tmp_path):
    # An issuer nobody answers at: settings load all the same (discovery waits for a login).
    found = sso_settings(tmp_path, **{**ON, "HUB_OIDC_ISSUER": "http://127.0.0.1:9/nothing"})
    assert found["HUB_OIDC_ENABLED"] is True


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"HUB_LOCAL_LOGIN": "false"},
            "HUB_LOCAL_LOGIN=false switches password login off, but HUB_OIDC_ISSUER is not set",
        ),
        ({"HUB_LOCAL_LOGIN": "maybe"}, "HUB_LOCAL_LOGIN='maybe' is not a boolean"),
        ({**ON, "HUB_OIDC_CLIENT_ID": ""}, "HUB_OIDC_CLIENT_ID is not"),
        ({**ON, "HUB_OIDC_ISSUER": "login.example.com"}, "HUB_OIDC_ISSUER='login.example.com'"),
        ({**ON, "HUB_OIDC_ROLE_GROUPS": "hub-ops=root"}, "'root' in 'hub-ops=root' is not a role"),
        ({**ON, "HUB_OIDC_ROLE_GROUPS": ""}, "neither HUB_OIDC_ROLE_GROUPS nor"),
        ({**ON, "HUB_OIDC_TIMEOUT": "0"}, "HUB_OIDC_TIMEOUT='0' must be at least 1"),
        (
            {**ON, "HUB_OIDC_CLIENT_SECRET_FILE": "/nonexistent/secret"},
            "HUB_OIDC_CLIENT_SECRET and HUB_OIDC_CLIENT_SECRET_FILE are both set",
        ),
    ],
)
def test_a_mistake_stops_start_up_naming_it(tmp_path, env, message):
    result = start(tmp_path, **env)
    assert result.returncode != 0 and message in result.stderr
    assert "the-client-secret" not in result.stderr
