"""Who gets in: failed admin logins are locked out per username and address (django-axes),
for real, through the login page; `hub unlock`; the proxy's address; API keys and webhooks
never count."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.utils import timezone

from integrations.lockout.address import trusted_peers
from integrations.models import AuditEntry, ReviewEndpoint
from tests.reviews.support import delivery as hook_delivery
from tests.runs.test_query_budgets import counted

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
HOME = "198.51.100.20"  # where alice logs in from
ATTACKER = "203.0.113.66"


@pytest.fixture
def alice(db):
    return User.objects.create_superuser("alice", password=PASSWORD)


def log_in(client, username: str, password: str, ip: str = HOME, **headers):
    """The login page, as a browser posts it (client.login() bypasses the request axes
    needs; the admin's form passes it)."""
    data = {"username": username, "password": password, "next": "/admin/"}
    return client.post("/admin/login/", data, REMOTE_ADDR=ip, **headers)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def fail(client, username: str, times: int, ip: str = ATTACKER, **headers):
    response = None
    for _ in range(times):
        response = log_in(client, username, "wrong", ip, **headers)
    return response


def test_the_fifth_failure_locks_that_username_from_that_address(client, alice):
    assert settings.AXES_FAILURE_LIMIT == 5
    page = fail(client, "alice", 4)
    assert page.status_code == 200  # the login form again, with Django's own error
    assert "Please enter the correct username and password" in page.content.decode()

    locked = fail(client, "alice", 1)

    assert locked.status_code == 429
    assert "Too many failed logins with this username from your address" in " ".join(
        locked.content.decode().split()
    )
    # The right password does not help from there now.
    assert log_in(client, "alice", PASSWORD, ATTACKER).status_code == 429
    assert not logged_in(client)


def test_the_lockout_page_says_when_to_try_again(client, alice):
    before = timezone.localtime(timezone.now() + timedelta(minutes=15))
    locked = fail(client, "alice", 5)
    after = timezone.localtime(timezone.now() + timedelta(minutes=15))
    text = " ".join(locked.content.decode().split())
    shown = re.search(r"paused until (\d\d:\d\d) \((\w+)\), in about 15 minutes", text)
    assert shown, text
    assert shown[1] in {before.strftime("%H:%M"), after.strftime("%H:%M")}
    assert shown[2] == before.strftime("%Z")
    assert locked["Retry-After"] == "900"


def test_the_page_is_the_same_whether_the_user_exists_or_not(client, alice):
    real = fail(client, "alice", 5).content.decode()
    ghost = fail(client, "nobody-by-this-name", 5).content.decode()
    clock = re.compile(r"\d\d:\d\d")
    assert clock.sub("hh:mm", real) == clock.sub("hh:mm", ghost)
    assert "alice" not in real and "nobody-by-this-name" not in ghost


def test_the_victim_elsewhere_still_logs_in(client, alice):
    fail(client, "alice", 10)  # someone else typing alice's name, again and again
    response = log_in(client, "alice", PASSWORD, HOME)
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert logged_in(client)


def test_each_username_is_counted_apart_from_one_address(client, alice):
    User.objects.create_user("bob", password=PASSWORD, is_staff=True)
    fail(client, "alice", 5)
    assert log_in(client, "bob", PASSWORD, ATTACKER).status_code == 302


def test_the_lock_ends_after_the_cool_off(client, alice):
    fail(client, "alice", 5)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert log_in(client, "alice", PASSWORD, ATTACKER).status_code == 302


def test_a_try_during_the_lock_starts_the_wait_again(client, alice):
    fail(client, "alice", 5)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=14))
    assert fail(client, "alice", 1).status_code == 429  # one more wrong guess, at 14 minutes
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=2))
    assert log_in(client, "alice", PASSWORD, ATTACKER).status_code == 429


def test_a_good_login_forgets_earlier_failures(client, alice):
    fail(client, "alice", 4, ip=HOME)
    assert log_in(client, "alice", PASSWORD, HOME).status_code == 302
    client.logout()
    assert fail(client, "alice", 4, ip=HOME).status_code == 200  # counting from 0 again


def test_every_failure_is_listed_for_superusers_under_login_protection(client, alice):
    fail(client, "alice", 5)
    client.force_login(alice)
    index = client.get("/admin/").content.decode()
    assert "Login protection: failed logins and lockouts" in index
    listing = client.get("/admin/axes/accessattempt/").content.decode()
    assert ATTACKER in listing and "Locked Out" in listing
    assert AccessFailureLog.objects.filter(username="alice", ip_address=ATTACKER).count() == 5
    assert client.get("/admin/axes/accessfailurelog/").status_code == 200


# --- hub unlock ------------------------------------------------------------------------------


def unlock(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command("hub", "unlock", *args, stdout=out)
    return out.getvalue()


def test_hub_unlock_lets_the_user_in_again_at_once(client, alice):
    fail(client, "alice", 5)
    said = unlock("alice")
    assert said.strip() == (
        f"'alice' was locked out: removed 1 failed-login record(s) (from {ATTACKER}). "
        "Logging in works again at once."
    )
    assert log_in(client, "alice", PASSWORD, ATTACKER).status_code == 302
    entry = AuditEntry.objects.get(action="unlocked login")
    assert entry.door == AuditEntry.Door.COMMAND and entry.object_repr == "alice"


def test_hub_unlock_with_an_address_lifts_only_that_lock(client, alice):
    other = "192.0.2.9"
    fail(client, "alice", 5)
    fail(client, "alice", 5, ip=other)
    assert f"(from {other})" in unlock("alice", "--ip", other)
    assert log_in(client, "alice", PASSWORD, other).status_code == 302
    client.logout()
    assert log_in(client, "alice", PASSWORD, ATTACKER).status_code == 429


def test_hub_unlock_says_when_there_is_nothing_to_unlock(alice):
    assert unlock("alice").strip() == (
        "No failed logins are recorded for 'alice'; nothing to unlock."
    )
    assert not AuditEntry.objects.filter(action="unlocked login").exists()


def test_hub_unlock_refuses_an_address_that_is_not_one(alice):
    with pytest.raises(CommandError, match="'10.0.0.300' is not an IP address"):
        unlock("alice", "--ip", "10.0.0.300")


# --- the client's address --------------------------------------------------------------------

PROXY = "10.0.0.2"


def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(client, alice):
    # A new made-up address on every try changes nothing: the TCP peer is counted.
    for n in range(5):
        log_in(client, "alice", "wrong", ATTACKER, HTTP_X_FORWARDED_FOR=f"10.9.9.{n}")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ATTACKER}
    assert log_in(client, "alice", PASSWORD, ATTACKER).status_code == 429


def locked_through(client, proxy: str) -> None:
    """Five failures through `proxy`, the client making up a new address before the one the
    proxy appends each time; then the attacker is locked and a colleague is not."""
    for n in range(5):
        forwarded = f"10.9.9.{n}, {ATTACKER}"
        log_in(client, "alice", "wrong", proxy, HTTP_X_FORWARDED_FOR=forwarded)
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ATTACKER}
    locked = log_in(client, "alice", PASSWORD, proxy, HTTP_X_FORWARDED_FOR=ATTACKER)
    assert locked.status_code == 429
    # Everyone else comes through the same proxy, and is not locked with the attacker.
    home = log_in(client, "alice", PASSWORD, proxy, HTTP_X_FORWARDED_FOR=HOME)
    assert home.status_code == 302


def test_a_proxy_on_this_machine_is_believed_as_gunicorn_believes_it(client, alice):
    locked_through(client, "127.0.0.1")


def test_a_proxy_named_in_forwarded_allow_ips_is_believed(client, alice):
    with override_settings(HUB_FORWARDED_ALLOW_IPS=trusted_peers("10.0.0.0/24")):
        locked_through(client, PROXY)


def test_with_hub_trusted_proxy_every_peer_is_the_proxy(client, alice):
    with override_settings(HUB_TRUSTED_PROXY=True):
        locked_through(client, PROXY)


def test_a_peer_that_is_no_trusted_proxy_counts_as_itself(client, alice):
    for n in range(5):
        log_in(client, "alice", "wrong", PROXY, HTTP_X_FORWARDED_FOR=f"10.9.9.{n}, {HOME}")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {PROXY}


def test_a_forwarded_entry_that_is_no_address_falls_back_to_the_peer(client, alice):
    log_in(client, "alice", "wrong", "127.0.0.1", HTTP_X_FORWARDED_FOR="unknown")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"127.0.0.1"}


# --- locking a username and an address separately --------------------------------------------

SEPARATELY = {"AXES_LOCKOUT_PARAMETERS": ["username", "ip_address"]}


def test_separately_a_username_is_locked_from_everywhere(client, alice):
    with override_settings(**SEPARATELY):
        for n in range(5):  # guesses spread over five addresses
            log_in(client, "alice", "wrong", f"192.0.2.{n}")
        assert log_in(client, "alice", PASSWORD, HOME).status_code == 429


def test_separately_an_address_is_locked_for_every_username(client, alice):
    User.objects.create_user("bob", password=PASSWORD, is_staff=True)
    with override_settings(**SEPARATELY):
        for n in range(5):  # one address trying five names
            log_in(client, f"user{n}", "wrong", ATTACKER)
        assert log_in(client, "bob", PASSWORD, ATTACKER).status_code == 429
        assert log_in(client, "bob", PASSWORD, HOME).status_code == 302


# --- what axes does not touch ----------------------------------------------------------------


def test_a_wrong_api_key_locks_nobody_out(client, alice):
    for _ in range(20):
        response = client.get(
            "/api/v1/runs/", HTTP_AUTHORIZATION="Bearer hub_wrong_key", REMOTE_ADDR=HOME
        )
        assert response.status_code == 401
    assert not AccessAttempt.objects.exists()
    assert log_in(client, "alice", PASSWORD, HOME).status_code == 302


def test_axes_costs_a_webhook_no_statement(endpoint, post_hook):
    twin = ReviewEndpoint.objects.get(pk=endpoint.pk)
    twin.pk, twin.name, twin.slug = None, "twin", "team-b"
    twin.save()
    post_hook(endpoint, *hook_delivery("mr_open", token="not-the-token"))  # warm-up
    without_axes = [m for m in settings.MIDDLEWARE if m != "axes.middleware.AxesMiddleware"]
    assert len(without_axes) == len(settings.MIDDLEWARE) - 1

    with override_settings(MIDDLEWARE=without_axes):
        plain, plain_sql = counted(lambda: post_hook(endpoint, *hook_delivery("mr_open")))
    guarded, guarded_sql = counted(lambda: post_hook(twin, *hook_delivery("mr_open")))

    assert plain.status_code == guarded.status_code == 202
    assert len(guarded_sql) == len(plain_sql), (plain_sql, guarded_sql)
    assert not [sql for sql in guarded_sql if "axes_" in sql]
