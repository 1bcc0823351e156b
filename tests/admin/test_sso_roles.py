"""The pure parts of single sign-on: the role mapping, who is refused and why, the discovery
document's checks and the settings' validation. No database, no network."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from integrations.sso.discovery import parse
from integrations.sso.errors import LoginRefused, ProviderFailed
from integrations.sso.roles import Policy, decide, groups_in, parse_role_groups
from integrations.sso.settings import BACKEND, PASSWORD_BACKEND, sso_settings

POLICY = Policy(
    provider="Keycloak",
    role_groups={"hub-admins": "superuser", "hub-ops": "Operators", "hub-viewers": "Viewers"},
)
AXES = "axes.backends.AxesStandaloneBackend"


def claims(email="ana@example.com", groups=("hub-ops",), verified=True, **more):
    return {"sub": "1", "email": email, "email_verified": verified, "groups": list(groups), **more}


# -- HUB_OIDC_ROLE_GROUPS ---------------------------------------------------------------


def test_role_groups_are_read_with_roles_in_any_case():
    text = " hub-admins=superuser, hub-ops = operators ,hub-viewers=VIEWERS,, "
    assert parse_role_groups(text) == {
        "hub-admins": "superuser",
        "hub-ops": "Operators",
        "hub-viewers": "Viewers",
    }


def test_a_group_name_may_contain_an_equals_sign_and_spaces():
    assert parse_role_groups("cn=hub ops=Operators") == {"cn=hub ops": "Operators"}


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("hub-ops", "'hub-ops' is not IDP_GROUP=ROLE"),
        ("=Operators", "'=Operators' is not IDP_GROUP=ROLE"),
        ("hub-ops=admin", "'admin' in 'hub-ops=admin' is not a role"),
        ("a=Viewers,a=Operators", "the group 'a' is given twice"),
    ],
)
def test_a_bad_mapping_names_the_variable_and_the_item(text, said):
    with pytest.raises(ValueError, match="HUB_OIDC_ROLE_GROUPS") as caught:
        parse_role_groups(text)
    assert said in str(caught.value)


# -- decide -----------------------------------------------------------------------------


def test_each_group_gives_its_role_and_unknown_groups_are_ignored():
    grant = decide(claims(groups=["hub-ops", "hub-viewers", "sales"]), POLICY)
    assert grant.groups == {"Operators", "Viewers"} and not grant.superuser
    assert grant.because == ("hub-ops", "hub-viewers")
    assert decide(claims(groups=["hub-admins"]), POLICY).roles == ["superuser"]


def test_group_names_are_compared_exactly():
    with pytest.raises(LoginRefused):
        decide(claims(groups=["HUB-OPS"]), POLICY)


def test_the_default_role_is_for_whoever_has_no_mapped_group():
    policy = Policy(provider="Google", default_role="Viewers")
    grant = decide(claims(groups=[]), policy)
    assert grant.roles == ["Viewers"] and grant.because == ("HUB_OIDC_DEFAULT_ROLE",)
    with_groups = Policy(provider="x", role_groups={"ops": "Operators"}, default_role="Viewers")
    assert decide(claims(groups=["ops"]), with_groups).roles == ["Operators"]


@pytest.mark.parametrize("verified", [False, None, "false", 1])
def test_only_a_verified_address_gets_in(verified):
    with pytest.raises(LoginRefused, match="does not say the address is verified"):
        decide(claims(verified=verified), POLICY)


def test_the_string_true_counts_as_verified():
    assert decide(claims(verified="true"), POLICY).email == "ana@example.com"


def test_no_email_address_is_refused_naming_the_scope():
    with pytest.raises(LoginRefused, match="sent no email address.*HUB_OIDC_SCOPES"):
        decide({"sub": "1", "groups": ["hub-ops"]}, POLICY)


def test_the_domain_must_be_allowed_in_any_case():
    policy = Policy(provider="x", allowed_domains=("example.com",), default_role="Viewers")
    assert decide(claims(email="Ana@EXAMPLE.com"), policy).email == "Ana@EXAMPLE.com"
    with pytest.raises(LoginRefused, match="the domain sub.example.com is not among"):
        decide(claims(email="ana@sub.example.com"), policy)


@pytest.mark.parametrize(
    ("given", "said"),
    [
        (claims(groups=["sales"]), "your groups there (sales) give no role"),
        (claims(groups=[]), "you are in no group there"),
        ({**claims(), "groups": None} | {"groups": None}, "you are in no group there"),
        ({k: v for k, v in claims().items() if k != "groups"}, "sent no 'groups' claim"),
    ],
)
def test_no_role_says_why_and_which_groups_would_do(given, said):
    with pytest.raises(LoginRefused) as caught:
        decide(given, POLICY)
    message = str(caught.value)
    assert message.startswith("The hub refused the login of ana@example.com through Keycloak")
    assert said in message and "hub-admins, hub-ops, hub-viewers" in message


def test_the_groups_claim_may_be_nested_or_a_single_string():
    assert groups_in({"realm_access": {"roles": ["a", "b", 3]}}, "realm_access.roles") == {"a", "b"}
    assert groups_in({"groups": "ops"}, "groups") == {"ops"}
    assert groups_in({"groups": {"not": "a list"}}, "groups") == set()


# -- discovery ----------------------------------------------------------------------------

ISSUER = "https://login.example.com/realms/main"
URL = ISSUER + "/.well-known/openid-configuration"
DOCUMENT = {
    "issuer": ISSUER,
    "authorization_endpoint": ISSUER + "/protocol/openid-connect/auth",
    "token_endpoint": ISSUER + "/protocol/openid-connect/token",
    "jwks_uri": ISSUER + "/protocol/openid-connect/certs",
    "userinfo_endpoint": ISSUER + "/protocol/openid-connect/userinfo",
}


def test_the_endpoints_come_from_the_document():
    found = parse(DOCUMENT, ISSUER, name="Keycloak", url=URL)
    assert found.token_endpoint.endswith("/token") and found.basic_auth
    assert (
        parse({**DOCUMENT, "userinfo_endpoint": None}, ISSUER, name="K", url=URL).userinfo_endpoint
        is None
    )
    post_only = {**DOCUMENT, "token_endpoint_auth_methods_supported": ["client_secret_post"]}
    assert not parse(post_only, ISSUER, name="K", url=URL).basic_auth


@pytest.mark.parametrize(
    ("document", "said"),
    [
        (
            {**DOCUMENT, "issuer": ISSUER + "/"},
            "names the issuer 'https://login.example.com/realms/main/'",
        ),
        ({**DOCUMENT, "jwks_uri": None}, "has no jwks_uri"),
        (
            {**DOCUMENT, "token_endpoint_auth_methods_supported": ["private_key_jwt"]},
            "neither client_secret_basic",
        ),
        ([1, 2], "not a JSON object"),
    ],
)
def test_a_document_the_hub_cannot_use_is_refused_naming_the_idp(document, said):
    with pytest.raises(ProviderFailed) as caught:
        parse(document, ISSUER, name="Keycloak", url=URL)
    assert str(caught.value).startswith("Keycloak") and said in str(caught.value)


# -- sso_settings -------------------------------------------------------------------------


def test_off_without_an_issuer():
    found = sso_settings(issuer="", backends=[AXES, PASSWORD_BACKEND])
    assert found["HUB_OIDC_ENABLED"] is False and found["HUB_LOCAL_LOGIN"] is True
    assert "AUTHENTICATION_BACKENDS" not in found  # settings.py keeps its own


def test_on_the_backend_follows_axes_and_local_login_off_drops_passwords():
    common = {
        "issuer": ISSUER,
        "client_id": "hub",
        "client_secret": "s",
        "role_groups": "a=Viewers",
    }
    on = sso_settings(**common, backends=[AXES, PASSWORD_BACKEND])
    assert on["AUTHENTICATION_BACKENDS"] == [AXES, BACKEND, PASSWORD_BACKEND]
    assert on["OIDC_RP_SIGN_ALGO"] == "RS256" and on["OIDC_USE_PKCE"] is True
    off = sso_settings(**common, local_login=False, backends=[AXES, PASSWORD_BACKEND])
    assert off["AUTHENTICATION_BACKENDS"] == [AXES, BACKEND] and off["HUB_LOCAL_LOGIN"] is False


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (
            {"issuer": "", "local_login": False},
            "HUB_LOCAL_LOGIN=false switches password login off, but HUB_OIDC_ISSUER is not set",
        ),
        ({"client_id": ""}, "HUB_OIDC_ISSUER is set but HUB_OIDC_CLIENT_ID is not"),
        (
            {"client_id": "", "client_secret": ""},
            "HUB_OIDC_CLIENT_ID and HUB_OIDC_CLIENT_SECRET are not",
        ),
        ({"issuer": "http://login.example.com"}, "is not an https:// address"),
        ({"issuer": "https://login.example.com/?x=1"}, "has a query or fragment"),
        ({"role_groups": ""}, "neither HUB_OIDC_ROLE_GROUPS nor HUB_OIDC_DEFAULT_ROLE"),
        (
            {"default_role": "superuser"},
            "HUB_OIDC_DEFAULT_ROLE='superuser' must be Operators or Viewers",
        ),
        ({"username_claim": "sub"}, "HUB_OIDC_USERNAME_CLAIM='sub'"),
        ({"scopes": "openid profile"}, "lacks 'email'"),
    ],
)
def test_a_mistake_stops_start_up_naming_the_variable(options, said):
    given = {
        "issuer": ISSUER,
        "client_id": "hub",
        "client_secret": "top-secret",
        "role_groups": "a=Viewers",
    }
    with pytest.raises(ImproperlyConfigured) as caught:
        sso_settings(**{**given, **options})
    assert said in str(caught.value) and "top-secret" not in str(caught.value)


def test_plain_http_is_allowed_to_this_machine_only():
    found = sso_settings(
        issuer="http://127.0.0.1:8080/realms/x",
        client_id="a",
        client_secret="b",
        default_role="Viewers",
    )
    assert found["HUB_OIDC_ENABLED"] is True
