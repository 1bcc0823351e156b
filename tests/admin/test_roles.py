"""The roles, as people in them use the admin: "Operators" run, retry, stop, test and turn
on again, and change no configuration; "Viewers" read what happened. Every button is shown to
who may press it, and a direct POST by anyone else is refused (403) with nothing done."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib import admin as django_admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone

from integrations.admin.common import needed_permission
from integrations.models import AuditEntry, Delivery, HubAPIKey, Recipient, ReviewEndpoint, Run

pytestmark = pytest.mark.django_db

# The table in docs/security.md ("Roles"), as the migration 0024_roles sets it up.
OPERATOR_PERMISSIONS = {
    "run_now",
    "stop_run",
    "retry_run",
    "retry_delivery",
    "send_test",
    "enable_recipient",
    "check_connection",
    *(
        f"view_{name}"
        for name in (
            "alert",
            "auditentry",
            "delivery",
            "deliveryattempt",
            "difyapp",
            "digest",
            "recipient",
            "reviewendpoint",
            "run",
            "runslot",
            "webhookevent",
            "workerheartbeat",
        )
    ),
}
VIEWER_PERMISSIONS = {
    "view_run",
    "view_delivery",
    "view_deliveryattempt",
    "view_webhookevent",
    "view_alert",
}


def member(group: str) -> User:
    user = User.objects.create_user(group.lower(), password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def operator(db):
    client = Client()
    client.force_login(member("Operators"))
    return client


@pytest.fixture
def viewer(db):
    client = Client()
    client.force_login(member("Viewers"))
    return client


@dataclass
class World:
    app: object
    digest: object
    recipient: Recipient
    turned_off: Recipient
    endpoint: ReviewEndpoint
    queued: Run
    failed: Run


@pytest.fixture
def world(make_run, make_digest, rocketchat_recipient, endpoint) -> World:
    turned_off = Recipient.objects.create(
        name="old room",
        kind="rocketchat",
        webhook_url="https://chat.example.com/hooks/a/b",
        enabled=False,
        consecutive_failures=10,
        disabled_at=timezone.now(),
        disabled_reason="10 failed deliveries in a row; last: HTTP 404",
    )
    failed = make_run(
        status=Run.Status.FAILED,
        error_code="delivery_failed",
        outputs={"text": "hi"},
        message={"title": "", "text": "hi", "footer": ""},
    )
    Delivery.objects.create(run=failed, recipient_name="family", kind="slack", status="failed")
    return World(
        app=failed.app,
        digest=make_digest(recipients=[rocketchat_recipient]),
        recipient=rocketchat_recipient,
        turned_off=turned_off,
        endpoint=endpoint,
        queued=make_run(),
        failed=failed,
    )


def html(response) -> str:
    return response.content.decode()


# --- the groups --------------------------------------------------------------------------------


def test_the_migration_gives_each_group_exactly_the_table(db):
    for name, expected in (("Operators", OPERATOR_PERMISSIONS), ("Viewers", VIEWER_PERMISSIONS)):
        group = Group.objects.get(name=name)
        assert {p.codename for p in group.permissions.all()} == expected, name
        assert {p.content_type.app_label for p in group.permissions.all()} == {"integrations"}


# --- what each sees ------------------------------------------------------------------------------


def index_models(client) -> set[str]:
    response = client.get("/admin/")
    assert response.status_code == 200
    return {
        f"{app['app_label']}.{model['object_name']}"
        for app in response.context["app_list"]
        for model in app["models"]
    }


def test_the_index_shows_operators_everything_but_keys_users_and_logins(operator):
    assert index_models(operator) == {
        "integrations.Alert",
        "integrations.AuditEntry",
        "integrations.DifyApp",
        "integrations.Digest",
        "integrations.Recipient",
        "integrations.ReviewEndpoint",
        "integrations.Run",
        "integrations.Delivery",
        "integrations.WebhookEvent",
    }


def test_the_index_shows_viewers_what_happened(viewer):
    assert index_models(viewer) == {
        "integrations.Alert",
        "integrations.Run",
        "integrations.Delivery",
        "integrations.WebhookEvent",
    }


def test_superusers_keep_everything(admin_client):
    found = index_models(admin_client)
    assert {"integrations.HubAPIKey", "axes.AccessAttempt", "auth.Group"} <= found


OPERATOR_LISTS = [
    "difyapp",
    "digest",
    "recipient",
    "reviewendpoint",
    "run",
    "delivery",
    "auditentry",
]
VIEWER_LISTS = ["run", "delivery", "webhookevent", "alert"]
NOBODY_LISTS = ["hubapikey"]


@pytest.mark.parametrize("model", [*OPERATOR_LISTS, "webhookevent", "alert", *NOBODY_LISTS])
def test_the_list_pages_an_operator_may_open(operator, world, model):
    expected = 403 if model in NOBODY_LISTS else 200
    assert operator.get(f"/admin/integrations/{model}/").status_code == expected


@pytest.mark.parametrize("model", [*OPERATOR_LISTS, "webhookevent", "alert", *NOBODY_LISTS])
def test_the_list_pages_a_viewer_may_open(viewer, world, model):
    expected = 200 if model in VIEWER_LISTS else 403
    assert viewer.get(f"/admin/integrations/{model}/").status_code == expected


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_neither_role_sees_or_creates_api_keys_or_lockouts(request, role):
    client = request.getfixturevalue(role)
    for url in (
        "/admin/integrations/hubapikey/",
        "/admin/integrations/hubapikey/add/",
        "/admin/axes/accessattempt/",
    ):
        assert client.get(url).status_code == 403, url
    response = client.post("/admin/integrations/hubapikey/add/", {"name": "x", "scope": "read"})
    assert response.status_code == 403
    assert not HubAPIKey.objects.exists()


def test_an_operator_sees_configuration_read_only_and_without_secrets(operator, world):
    for url, secret in (
        (f"/admin/integrations/difyapp/{world.app.pk}/change/", world.app.api_key),
        (
            f"/admin/integrations/recipient/{world.recipient.pk}/change/",
            world.recipient.webhook_url,
        ),
        (f"/admin/integrations/reviewendpoint/{world.endpoint.pk}/change/", "glpat-"),
    ):
        page = operator.get(url)
        assert page.status_code == 200, url
        assert secret not in html(page), url  # Django would show the decrypted value
        assert 'name="_save"' not in html(page)  # read-only: no Save button
    page = html(operator.get(f"/admin/integrations/difyapp/{world.app.pk}/change/"))
    assert "app-••••••••" in page  # the masked key is what anyone sees


def test_an_operator_changes_no_configuration(operator, world):
    name = world.app.name
    response = operator.post(
        f"/admin/integrations/difyapp/{world.app.pk}/change/", {"name": "renamed"}
    )
    assert response.status_code == 403
    world.app.refresh_from_db()
    assert world.app.name == name
    for model in ("difyapp", "digest", "recipient", "reviewendpoint"):
        assert operator.get(f"/admin/integrations/{model}/add/").status_code == 403, model


# --- which buttons appear ------------------------------------------------------------------------


def buttons(client, url: str) -> set[str]:
    page = html(client.get(url))
    return {tool for tool in ALL_TOOLS if f"/actions/{tool}/" in page}


ALL_TOOLS = {
    "check_connection",
    "run_now",
    "run_once",
    "send_test",
    "turn_on",
    "regenerate_token",
    "stop",
    "retry",
    "redeliver",
}


def test_the_buttons_an_operator_sees(operator, world):
    assert buttons(operator, f"/admin/integrations/difyapp/{world.app.pk}/change/") == {
        "check_connection",
        "run_now",
    }
    assert buttons(operator, f"/admin/integrations/digest/{world.digest.pk}/change/") == {
        "run_once"
    }
    assert buttons(operator, f"/admin/integrations/recipient/{world.recipient.pk}/change/") == {
        "send_test"
    }
    off = f"/admin/integrations/recipient/{world.turned_off.pk}/change/"
    assert buttons(operator, off) == {"send_test", "turn_on"}
    endpoint = f"/admin/integrations/reviewendpoint/{world.endpoint.pk}/change/"
    assert buttons(operator, endpoint) == {"check_connection"}  # no new secret
    assert buttons(operator, f"/admin/integrations/run/{world.queued.pk}/change/") == {"stop"}
    assert buttons(operator, f"/admin/integrations/run/{world.failed.pk}/change/") == {
        "retry",
        "redeliver",
    }


def test_a_viewer_sees_no_button(viewer, world):
    for run in (world.queued, world.failed):
        page = viewer.get(f"/admin/integrations/run/{run.pk}/change/")
        assert page.status_code == 200
        assert "/actions/" not in html(page)


def test_a_superuser_sees_the_secret_button_too(admin_client, world):
    endpoint = f"/admin/integrations/reviewendpoint/{world.endpoint.pk}/change/"
    assert buttons(admin_client, endpoint) == {"check_connection", "regenerate_token"}


def bulk_actions(client, model: str) -> set[str]:
    response = client.get(f"/admin/integrations/{model}/")
    form = response.context.get("action_form")
    return {name for name, _ in form.fields["action"].choices if name} if form else set()


def test_the_bulk_actions_follow_the_same_rule(operator, viewer, world):
    assert bulk_actions(operator, "digest") == {"run_now_action"}
    assert bulk_actions(operator, "recipient") == {"send_test_action", "turn_on_action"}
    assert bulk_actions(operator, "difyapp") == {"check_connection_action"}
    assert bulk_actions(viewer, "run") == set()


# --- pressing them, directly ---------------------------------------------------------------------


def action_url(world: World, tool: str) -> str:
    model, obj = {
        "check_connection": ("difyapp", world.app),
        "run_now": ("difyapp", world.app),
        "run_once": ("digest", world.digest),
        "send_test": ("recipient", world.recipient),
        "turn_on": ("recipient", world.turned_off),
        "check_endpoint": ("reviewendpoint", world.endpoint),
        "regenerate_token": ("reviewendpoint", world.endpoint),
        "stop": ("run", world.queued),
        "retry": ("run", world.failed),
        "redeliver": ("run", world.failed),
    }[tool]
    name = "check_connection" if tool == "check_endpoint" else tool
    return f"/admin/integrations/{model}/{obj.pk}/actions/{name}/"


def what_happened(world: World, fakes) -> dict:
    """Everything a button could have done, to compare before and after."""
    world.endpoint.refresh_from_db()
    return {
        "runs": Run.objects.count(),
        "queued": Run.objects.get(pk=world.queued.pk).status,
        "failed": Run.objects.get(pk=world.failed.pk).status,
        "turned_off": Recipient.objects.get(pk=world.turned_off.pk).enabled,
        "secret": world.endpoint.secret_token_hash,
        "dify_checks": len(fakes["dify"].requests_to("/info")),
        "forge_checks": len(fakes["gitlab"].requests_to("/api/v4/user", "GET")),
        "chat": len(fakes["chat"].requests),
    }


TOOLS = [
    "check_connection",
    "run_now",
    "run_once",
    "send_test",
    "turn_on",
    "check_endpoint",
    "regenerate_token",
    "stop",
    "retry",
    "redeliver",
]
# What each does, as `what_happened` sees it.
EFFECTS = {
    "check_connection": {"dify_checks"},
    "run_now": {"runs"},
    "run_once": {"runs"},
    "send_test": {"chat"},
    "turn_on": {"turned_off"},
    "check_endpoint": {"forge_checks"},
    "regenerate_token": {"secret"},
    "stop": {"queued"},
    "retry": {"runs"},
    "redeliver": {"failed"},
}


@pytest.fixture
def fakes(fake_dify, fake_gitlab, rocketchat):
    return {"dify": fake_dify, "gitlab": fake_gitlab, "chat": rocketchat}


def press(client, world: World, tool: str):
    data = {"inputs": '{"query": "hi"}'} if tool == "run_now" else {}
    return client.post(action_url(world, tool), data)


@pytest.mark.parametrize("tool", TOOLS)
def test_a_viewers_post_to_any_button_is_refused_and_does_nothing(viewer, world, fakes, tool):
    before = what_happened(world, fakes)
    response = press(viewer, world, tool)
    assert response.status_code == 403
    assert "which your account does not have, so nothing was done" in html(response)
    assert what_happened(world, fakes) == before


@pytest.mark.parametrize("tool", TOOLS)
def test_an_operators_post_works_except_for_a_new_secret(operator, world, fakes, tool):
    before = what_happened(world, fakes)
    response = press(operator, world, tool)
    after = what_happened(world, fakes)
    changed = {key for key in before if before[key] != after[key]}
    if tool == "regenerate_token":
        assert response.status_code == 403
        assert changed == set()
    else:
        assert response.status_code in (200, 302), html(response)
        assert changed == EFFECTS[tool]


def test_an_operator_turns_on_again_what_the_hub_turned_off(operator, world):
    response = operator.post(action_url(world, "turn_on"), follow=True)
    assert "Old room: turned on again; the next delivery goes to it." in html(response)
    recipient = Recipient.objects.get(pk=world.turned_off.pk)
    assert recipient.enabled and recipient.consecutive_failures == 0
    assert recipient.disabled_at is None and recipient.disabled_reason == ""
    entry = LogEntry.objects.get(object_id=str(recipient.pk))
    assert entry.user.username == "operators"
    assert entry.get_change_message() == "Pressed “Turn on again”."
    trail = AuditEntry.objects.get(object_type="recipient", object_id=str(recipient.pk))
    assert (trail.door, trail.actor, trail.action) == ("admin", "operators", "Turn on again")
    page = html(operator.get(f"/admin/integrations/recipient/{recipient.pk}/change/"))
    assert "/actions/turn_on/" not in page  # nothing left to turn on


def test_turn_on_again_leaves_a_recipient_turned_off_by_hand(operator, world):
    Recipient.objects.filter(pk=world.turned_off.pk).update(disabled_at=None)
    response = operator.post(action_url(world, "turn_on"), follow=True)
    assert "Old room: not changed; it is off by hand, not by the hub." in html(response)
    assert not Recipient.objects.get(pk=world.turned_off.pk).enabled


def test_an_operators_bulk_post_works_and_a_viewers_does_nothing(operator, world, fakes):
    data = {"action": "turn_on_action", "_selected_action": [world.turned_off.pk]}
    operator.post("/admin/integrations/recipient/", data)
    assert Recipient.objects.get(pk=world.turned_off.pk).enabled
    # Not offered to an operator, so not done: deleting, or revoking API keys.
    data = {"action": "delete_selected", "_selected_action": [world.recipient.pk], "post": "yes"}
    operator.post("/admin/integrations/recipient/", data)
    assert Recipient.objects.filter(pk=world.recipient.pk).exists()


def test_every_button_and_bulk_action_names_its_permission():
    """The one rule: nothing in the admin escapes it by forgetting to name a permission."""
    missing = []
    for model, model_admin in django_admin.site._registry.items():
        if model._meta.app_label != "integrations":
            continue
        names = [*getattr(model_admin, "change_actions", ()), *(model_admin.actions or ())]
        missing += [
            f"{model.__name__}.{name}"
            for name in names
            if needed_permission(getattr(model_admin, name)) is None
        ]
    assert missing == []
