"""Single sign-on through a live local identity provider (tests/fakes/oidc_server.py), the
way a browser goes: the hub's /oidc/authenticate/ sends it to the IdP, the IdP approves and
sends it back to /oidc/callback/ with a code, the hub trades the code at the token endpoint,
checks the RS256 id token against the IdP's JWKS, and logs the person in with the roles their
groups give. Every failure ends on the login page with who said no, never a 400 or a 500."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth.models import User
from django.test import Client

from integrations.models import AuditEntry, HubAPIKey
from integrations.sso import discovery
from integrations.sso.settings import PASSWORD_BACKEND, sso_settings
from tests.fakes.oidc_server import CLIENT_ID, CLIENT_SECRET, FakeIdP, person

pytestmark = pytest.mark.django_db

CALLBACK = "http://testserver/oidc/callback/"
ROLE_GROUPS = "hub-admins=superuser,hub-ops=Operators,hub-viewers=Viewers"
BACKENDS = ["axes.backends.AxesStandaloneBackend", PASSWORD_BACKEND]


@pytest.fixture
def idp():
    with FakeIdP() as server:
        server.register(CALLBACK)
        yield server


@pytest.fixture
def sso(idp, settings):
    """Turns SSO on against the fake, as the environment would; call again to change it."""

    def configure(**options):
        options = {"role_groups": ROLE_GROUPS, "name": "Fake IdP", **options}
        found = sso_settings(
            issuer=idp.issuer,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            backends=BACKENDS,
            **options,
        )
        for name, value in found.items():
            setattr(settings, name, value)
        discovery.forget()

    configure()
    yield configure
    discovery.forget()


def to_idp_and_back(client: Client, next_url: str = "") -> str:
    """The hub's redirect to the IdP, the IdP's redirect back: the callback path and query."""
    start = client.get("/oidc/authenticate/" + (f"?next={next_url}" if next_url else ""))
    assert start.status_code == 302, start.content
    at_idp = requests.get(start["Location"], allow_redirects=False, timeout=10)
    assert at_idp.status_code == 302, at_idp.text
    back = urlsplit(at_idp.headers["Location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == CALLBACK
    return f"{back.path}?{back.query}"


def sso_login(client: Client, **follow):
    return client.get(to_idp_and_back(client), **follow)


def login_page_message(response) -> str:
    assert response.redirect_chain[-1][0] == "/admin/login/", response.redirect_chain
    assert response.status_code == 200
    return " ".join(str(m) for m in response.context["messages"])


def logged_in(client: Client) -> bool:
    return client.get("/admin/").status_code == 200


# -- the way in ---------------------------------------------------------------------------


def test_a_person_in_the_ops_group_logs_in_as_an_operator(client, idp, sso):
    idp.user = person("ana@example.com", groups=["hub-ops", "unrelated"])
    start = client.get("/oidc/authenticate/?next=/admin/integrations/run/")
    sent = parse_qs(urlsplit(start["Location"]).query)
    assert start["Location"].startswith(f"{idp.base_url}/authorize?")
    assert sent["client_id"] == [CLIENT_ID] and sent["response_type"] == ["code"]
    assert sent["redirect_uri"] == [CALLBACK]
    assert sent["code_challenge_method"] == ["S256"] and sent["nonce"] and sent["state"]

    at_idp = requests.get(start["Location"], allow_redirects=False, timeout=10)
    callback = urlsplit(at_idp.headers["Location"])
    answer = client.get(f"{callback.path}?{callback.query}")

    assert answer.status_code == 302 and answer["Location"] == "/admin/integrations/run/"
    user = User.objects.get(email="ana@example.com")
    assert user.username == "ana@example.com"
    assert user.is_staff and not user.is_superuser
    assert [g.name for g in user.groups.all()] == ["Operators"]
    assert not user.has_usable_password()
    assert logged_in(client)
    assert client.get("/admin/integrations/run/").status_code == 200
    assert idp.auth_used == ["client_secret_basic"]  # the spec's default, as discovery lists it
    entry = AuditEntry.objects.get(object_type="user")
    assert (entry.door, entry.actor, entry.action) == ("admin", "ana@example.com", "created")
    assert "Fake IdP" in entry.note and "Operators from hub-ops" in entry.note


@pytest.mark.parametrize(
    ("groups", "superuser", "roles"),
    [
        (["hub-admins"], True, []),
        (["hub-viewers"], False, ["Viewers"]),
        (["hub-ops", "hub-viewers"], False, ["Operators", "Viewers"]),
        (["hub-admins", "hub-ops"], True, ["Operators"]),
    ],
)
def test_each_mapped_group_gives_its_role(client, idp, sso, groups, superuser, roles):
    idp.user = person("ben@example.com", groups=groups)
    sso_login(client)
    user = User.objects.get(email="ben@example.com")
    assert user.is_staff and user.is_superuser is superuser
    assert sorted(g.name for g in user.groups.all()) == roles


def test_the_roles_follow_the_idp_at_every_login(client, idp, sso):
    idp.user = person("cem@example.com", groups=["hub-admins", "hub-ops"])
    sso_login(client)
    client.post("/admin/logout/")
    idp.user = person("cem@example.com", groups=["hub-viewers"])
    sso_login(client)
    user = User.objects.get(email="cem@example.com")
    assert not user.is_superuser and [g.name for g in user.groups.all()] == ["Viewers"]
    changed = AuditEntry.objects.filter(object_type="user", action="changed").get()
    assert changed.fields == ["groups", "is_superuser"]


def test_other_django_groups_of_the_user_are_left_alone(client, idp, sso):
    from django.contrib.auth.models import Group

    user = User.objects.create_user("dora", email="dora@example.com")
    user.groups.add(Group.objects.create(name="Auditors"))
    idp.user = person("dora@example.com", groups=["hub-viewers"])
    sso_login(client)
    assert sorted(g.name for g in user.groups.all()) == ["Auditors", "Viewers"]


def test_an_existing_account_is_linked_by_its_email_address_in_any_case(client, idp, sso):
    existing = User.objects.create_user("erin", email="Erin@Example.com", password="pw-erin-1")
    idp.user = person("erin@example.com", groups=["hub-ops"])
    sso_login(client)
    assert User.objects.filter(email__iexact="erin@example.com").count() == 1
    existing.refresh_from_db()
    assert existing.is_staff and [g.name for g in existing.groups.all()] == ["Operators"]
    assert existing.check_password("pw-erin-1")  # still usable while local login is on


def test_the_username_can_be_the_preferred_username(client, idp, sso):
    sso(username_claim="preferred_username")
    idp.user = person("fay@example.com", groups=["hub-ops"], preferred_username="fay.k")
    sso_login(client)
    assert User.objects.get(email="fay@example.com").username == "fay.k"


def test_the_default_role_admits_whoever_has_no_mapped_group(client, idp, sso):
    sso(role_groups="", default_role="viewers", allowed_domains=["example.com"])
    idp.user = person("gus@example.com", groups=[])
    sso_login(client)
    user = User.objects.get(email="gus@example.com")
    assert [g.name for g in user.groups.all()] == ["Viewers"] and not user.is_superuser


def test_client_secret_post_when_the_idp_lists_only_that(client, idp, sso):
    idp.auth_methods = ["client_secret_post"]
    sso_login(client)
    assert idp.auth_used == ["client_secret_post"] and logged_in(client)


def test_logout_ends_the_session(client, idp, sso):
    sso_login(client)
    assert logged_in(client)
    assert client.post("/admin/logout/").status_code == 200
    assert client.get("/admin/").status_code == 302


# -- the hub says no ----------------------------------------------------------------------


def test_an_address_outside_the_allowed_domains_is_refused(client, idp, sso):
    sso(allowed_domains=["example.com", "Example.org"])
    idp.user = person("hal@elsewhere.net", groups=["hub-admins"])
    message = login_page_message(sso_login(client, follow=True))
    assert "The hub refused the login of hal@elsewhere.net" in message
    assert "elsewhere.net is not among the allowed ones (example.com, example.org" in message
    assert not User.objects.filter(email="hal@elsewhere.net").exists()
    assert not logged_in(client)


def test_an_unverified_address_is_refused(client, idp, sso):
    idp.user = person("ida@example.com", groups=["hub-admins"], verified=False)
    message = login_page_message(sso_login(client, follow=True))
    assert "does not say the address is verified" in message and "Fake IdP" in message
    assert not User.objects.exists()


def test_a_person_whose_groups_give_no_role_is_refused_with_what_to_do(client, idp, sso):
    idp.user = person("jo@example.com", groups=["marketing"])
    message = login_page_message(sso_login(client, follow=True))
    assert "The hub refused the login of jo@example.com through Fake IdP" in message
    assert "your groups there (marketing) give no role" in message
    assert "add you to one of: hub-admins, hub-ops, hub-viewers" in message
    assert not User.objects.exists() and not logged_in(client)


def test_a_username_taken_by_another_account_is_not_taken_over(client, idp, sso):
    User.objects.create_user("kim@example.com", email="kim@private.example", is_staff=True)
    idp.user = person("kim@example.com", groups=["hub-admins"])
    message = login_page_message(sso_login(client, follow=True))
    assert "a hub account named kim@example.com already exists" in message
    assert not User.objects.get(username="kim@example.com").is_superuser


def test_a_turned_off_account_stays_out(client, idp, sso):
    User.objects.create_user("lee", email="lee@example.com", is_active=False)
    idp.user = person("lee@example.com", groups=["hub-ops"])
    message = login_page_message(sso_login(client, follow=True))
    assert "hub account lee is turned off" in message and not logged_in(client)


def test_refused_logins_do_not_lock_the_address_out_of_sso(client, idp, sso):
    idp.user = person("mo@example.com", groups=["marketing"])
    for _ in range(6):  # more than HUB_LOGIN_FAILURES
        assert sso_login(client)["Location"] == "/admin/login/"
    idp.user = person("nia@example.com", groups=["hub-ops"])  # a colleague behind the same NAT
    assert sso_login(client)["Location"] == "/admin/"


def test_password_failures_are_still_counted_with_sso_on(client, idp, sso, settings):
    User.objects.create_superuser("root", "root@example.com", "pw-root-1")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/admin/login/", {"username": "root", "password": "wrong"})
    locked = client.post("/admin/login/", {"username": "root", "password": "pw-root-1"})
    assert locked.status_code == 429 and not logged_in(client)


# -- the identity provider says no, or cannot be trusted, or is away -----------------------


def test_access_denied_at_the_idp(client, idp, sso):
    idp.deny = True
    message = login_page_message(sso_login(client, follow=True))
    assert "Fake IdP refused the login (access_denied: The user said no)" in message


@pytest.mark.parametrize(
    ("misbehave", "said"),
    [
        ({"wrong_key": True}, "its signature does not match the keys it publishes"),
        ({"expired": True}, "the id token has expired"),
        ({"audience": "another-client"}, "meant for another client"),
        ({"issuer_claim": "https://evil.example"}, "comes from another issuer"),
    ],
)
def test_an_id_token_the_hub_cannot_trust_logs_nobody_in(client, idp, sso, misbehave, said):
    for name, value in misbehave.items():
        setattr(idp, name, value)
    message = login_page_message(sso_login(client, follow=True))
    assert "The hub did not accept Fake IdP's answer" in message and said in message
    assert not User.objects.exists() and not logged_in(client)


def test_the_token_endpoint_failing(client, idp, sso):
    idp.token_status = 500
    message = login_page_message(sso_login(client, follow=True))
    assert "its token endpoint answered HTTP 500 (server_error" in message


def test_a_wrong_client_secret_is_the_idps_refusal(client, idp, sso):
    idp.client_secret = "rotated-at-the-idp"
    message = login_page_message(sso_login(client, follow=True))
    assert "HTTP 401 (invalid_client" in message and "HUB_OIDC_CLIENT_SECRET" in message


def test_the_idp_unreachable_when_the_login_starts(client, idp, sso):
    idp.stop()
    response = client.get("/oidc/authenticate/", follow=True)
    message = login_page_message(response)
    assert message.startswith(
        f"Fake IdP could not be reached at {idp.issuer}/.well-known/openid-configuration"
    )


def test_the_idp_gone_before_the_code_is_traded(client, idp, sso):
    callback = to_idp_and_back(client)
    idp.stop()
    message = login_page_message(client.get(callback, follow=True))
    assert "Fake IdP could not be reached" in message and not logged_in(client)


def test_a_callback_with_an_unknown_state(client, idp, sso):
    callback = to_idp_and_back(client)
    forged = callback.replace("state=", "state=x")
    message = login_page_message(client.get(forged, follow=True))
    assert "it belongs to no login started in this browser" in message


def test_a_callback_without_a_login_started(client, idp, sso):
    message = login_page_message(client.get("/oidc/callback/?code=abc&state=def", follow=True))
    assert "it belongs to no login started in this browser" in message


def test_a_replayed_callback_logs_nobody_in_again(client, idp, sso):
    callback = to_idp_and_back(client)
    client.get(callback)
    client.post("/admin/logout/")
    message = login_page_message(client.get(callback, follow=True))
    assert "no login started in this browser" in message and not logged_in(client)


# -- the login page and the password ------------------------------------------------------


def test_with_sso_and_local_login_both_ways_are_offered(client, idp, sso):
    page = client.get("/admin/login/?next=/admin/integrations/run/").content.decode()
    assert "Log in with Fake IdP" in page
    assert 'href="/oidc/authenticate/?next=/admin/integrations/run/"' in page
    assert 'id="login-form"' in page
    User.objects.create_superuser("root", "root@example.com", "pw-root-1")
    client.post("/admin/login/", {"username": "root", "password": "pw-root-1"})
    assert logged_in(client)


def test_with_local_login_off_the_page_has_only_the_button(client, idp, sso):
    sso(local_login=False)
    page = client.get("/admin/login/").content.decode()
    assert "Log in with Fake IdP" in page and 'id="login-form"' not in page
    assert 'name="password"' not in page


def test_with_local_login_off_a_posted_password_is_refused(client, idp, sso, settings):
    sso(local_login=False)
    assert PASSWORD_BACKEND not in settings.AUTHENTICATION_BACKENDS
    User.objects.create_superuser("root", "root@example.com", "pw-root-1")
    response = client.post(
        "/admin/login/", {"username": "root", "password": "pw-root-1"}, follow=True
    )
    assert "password login is switched off on this hub (HUB_LOCAL_LOGIN=false)" in (
        login_page_message(response)
    )
    assert not logged_in(client)
    # SSO still works, and for the same person it links the shell-made superuser.
    idp.user = person("root@example.com", groups=["hub-admins"])
    sso_login(client)
    assert logged_in(client)


def test_without_sso_the_page_is_django_s_and_the_sso_urls_are_gone(client):
    page = client.get("/admin/login/").content.decode()
    assert "Log in with" not in page and 'id="login-form"' in page
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/?code=a&state=b").status_code == 404


def test_the_api_and_the_health_check_are_unaffected(client, idp, sso):
    sso(local_login=False)
    _, key = HubAPIKey.create_key("ci", "read")
    answer = client.get("/api/v1/runs/", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert answer.status_code == 200, answer.content
    assert client.get("/api/v1/runs/").status_code in (401, 403)
    assert client.get("/healthz").status_code in (200, 503)


def test_the_webhooks_are_unaffected(endpoint, post_hook, idp, sso):
    from tests.reviews.support import delivery

    sso(local_login=False)
    assert post_hook(endpoint, *delivery("mr_open")).status_code == 202
    assert post_hook(endpoint, *delivery("mr_open", token="wrong-token")).status_code == 401
