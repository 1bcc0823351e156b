"""The admin's door to the audit trail: adds, changes and deletes with the fields whose stored
values changed (a secret left blank is kept, so not "changed"; its value never recorded),
every button and bulk action, and an object's History page with every door's entries."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.forms import PasswordInput, SplitDateTimeField
from django.urls import reverse
from django.utils import timezone

from integrations import audit
from integrations.models import AuditEntry, Digest, Recipient
from tests.fakes.chat_server import RocketChatReceiver

pytestmark = pytest.mark.django_db

SECRET_URL = "https://chat.example.com/hooks/SECRET-abcdefghijklmnop/xyz"


def as_browser_sends(client, url: str) -> dict:
    """The change form's fields as a browser posts them back unchanged: the stored values,
    with password boxes empty (the hub never renders a stored secret)."""
    form = client.get(url).context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if isinstance(field.widget, PasswordInput):
            value = ""
        if value is None or value is False:
            continue
        if isinstance(field, SplitDateTimeField):  # two boxes: date and time
            data[f"{name}_0"], data[f"{name}_1"] = f"{value:%Y-%m-%d}", f"{value:%H:%M:%S}"
            continue
        data[name] = "on" if value is True else value
    return data


def entries(**filters) -> list[tuple]:
    rows = AuditEntry.objects.filter(**filters).order_by("pk")
    return [(e.door, e.actor, e.action, e.object_type, e.object_repr, e.fields) for e in rows]


@pytest.fixture
def recipient(db):
    return Recipient.objects.create(name="family", kind="rocketchat", webhook_url=SECRET_URL)


def change_url(obj) -> str:
    return reverse(f"admin:integrations_{obj._meta.model_name}_change", args=[obj.pk])


def test_an_add_is_recorded_with_its_fields_and_no_secret(admin_client):
    add = reverse("admin:integrations_recipient_add")
    data = {"name": "family", "kind": "rocketchat", "webhook_url": SECRET_URL, "enabled": "on"}
    assert admin_client.post(add, {**data, "options": "{}"}).status_code == 302
    [entry] = AuditEntry.objects.all()
    assert (entry.door, entry.actor, entry.action, entry.object_repr) == (
        "admin",
        "admin",
        "created",
        str(Recipient.objects.get()),
    )
    assert {"name", "kind", "webhook_url", "enabled"} <= set(entry.fields)
    assert "SECRET" not in str(list(AuditEntry.objects.values()))


def test_a_change_names_only_the_fields_that_changed(admin_client, recipient):
    url = change_url(recipient)
    data = as_browser_sends(admin_client, url)
    assert data["webhook_url"] == ""  # the secret's box comes back empty: "keep it"
    assert admin_client.post(url, {**data, "name": "whole family"}).status_code == 302
    assert entries() == [
        ("admin", "admin", "changed", "recipient", str(Recipient.objects.get()), ["name"])
    ]
    recipient.refresh_from_db()
    assert recipient.webhook_url == SECRET_URL


def test_a_new_secret_is_changed_and_its_value_is_nowhere(admin_client, recipient):
    url = change_url(recipient)
    new = "https://chat.example.com/hooks/NEWSECRET-qrstuvwxyz/abc"
    assert admin_client.post(url, {**as_browser_sends(admin_client, url), "webhook_url": new})
    assert [e[-1] for e in entries()] == [["webhook_url"]]
    assert "NEWSECRET" not in str(list(AuditEntry.objects.values()))


def test_saving_an_unchanged_form_records_nothing(admin_client, recipient):
    url = change_url(recipient)
    assert admin_client.post(url, as_browser_sends(admin_client, url)).status_code == 302
    assert not AuditEntry.objects.exists()


def test_a_digest_change_names_its_recipients(admin_client, make_digest, recipient):
    digest = make_digest(recipients=[])
    url = change_url(digest)
    data = as_browser_sends(admin_client, url)
    assert admin_client.post(url, {**data, "recipients": [recipient.pk]}).status_code == 302
    assert [e[-1] for e in entries(object_type="digest")] == [["recipients"]]
    assert list(Digest.objects.get().recipients.all()) == [recipient]


def test_a_delete_is_recorded_before_the_row_goes(admin_client, recipient):
    url = reverse("admin:integrations_recipient_delete", args=[recipient.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not Recipient.objects.exists()
    [entry] = AuditEntry.objects.all()
    assert (entry.action, entry.object_id) == ("deleted", str(recipient.pk))


def test_a_button_is_recorded_in_the_trail_and_in_djangos_history(admin_client):
    with RocketChatReceiver() as rocketchat:
        recipient = Recipient.objects.create(
            name="family", kind="rocketchat", webhook_url=rocketchat.url
        )
        url = reverse(
            "admin:integrations_recipient_actions", kwargs={"pk": recipient.pk, "tool": "send_test"}
        )
        admin_client.post(url)
    assert [e[2] for e in entries()] == ["Send test message"]
    log = LogEntry.objects.get(object_id=str(recipient.pk))
    assert log.get_change_message() == "Pressed “Send test message”."


def test_a_bulk_action_is_recorded_once_per_selected_object(admin_client):
    with RocketChatReceiver() as rocketchat:
        first = Recipient.objects.create(name="a", kind="rocketchat", webhook_url=rocketchat.url)
        second = Recipient.objects.create(name="b", kind="rocketchat", webhook_url=rocketchat.url)
        admin_client.post(
            reverse("admin:integrations_recipient_changelist"),
            {"action": "send_test_action", "_selected_action": [first.pk, second.pk]},
        )
        assert len(rocketchat.requests) == 2
    assert sorted(e.object_repr for e in AuditEntry.objects.all()) == [str(first), str(second)]


def test_a_form_page_is_recorded_only_when_it_did_something(admin_client, dify_app):
    url = reverse(
        "admin:integrations_difyapp_actions", kwargs={"pk": dify_app.pk, "tool": "run_now"}
    )
    assert admin_client.get(url).status_code == 200  # the form, nothing done yet
    assert admin_client.post(url, {"inputs": "not json"}).status_code == 200  # refused
    assert not AuditEntry.objects.exists()
    assert admin_client.post(url, {"inputs": '{"query": "hi"}', "query": "hi"}).status_code == 302
    assert [e[2] for e in entries()] == ["Run now"]


def test_a_refused_press_records_nothing(client, django_user_model, recipient):
    user = django_user_model.objects.create_user("eve", password="pw", is_staff=True)
    client.force_login(user)
    url = reverse(
        "admin:integrations_recipient_actions", kwargs={"pk": recipient.pk, "tool": "send_test"}
    )
    assert client.post(url).status_code == 403
    assert not AuditEntry.objects.exists()


def test_the_history_page_shows_every_door(admin_client, recipient):
    audit.record(audit.Door.APPLY, "deploy", "created", recipient, fields=["name", "url"])
    audit.record(audit.Door.API, "ci-key", "changed", recipient, fields=["enabled"])
    url = change_url(recipient)
    admin_client.post(url, {**as_browser_sends(admin_client, url), "name": "renamed"})
    page = admin_client.get(reverse("admin:integrations_recipient_history", args=[recipient.pk]))
    text = " ".join(page.content.decode().split())
    for door, actor in (("hub apply", "deploy"), ("API", "ci-key"), ("Admin", "admin")):
        assert f"<td>{actor}</td> <td>{door}</td>" in text
    listing = f"?object_type=recipient&amp;object_id={recipient.pk}"
    assert listing in text
    # …and that link lists exactly this object's entries.
    found = admin_client.get(
        reverse("admin:integrations_auditentry_changelist"),
        {"object_type": "recipient", "object_id": recipient.pk},
    )
    assert found.context["cl"].result_count == 3


def test_users_groups_and_passwords_are_recorded(admin_client, django_user_model):
    from django.contrib.auth.models import Group

    bob = django_user_model.objects.create_user(
        "bob",
        password="old-password-123",
        # Whole seconds, as the form shows it (or saving would truncate it: a change).
        date_joined=timezone.now().replace(microsecond=0),
    )
    url = reverse("admin:auth_user_change", args=[bob.pk])
    data = as_browser_sends(admin_client, url)
    operators = Group.objects.get(name="Operators")
    admin_client.post(url, {**data, "is_staff": "on", "groups": [operators.pk]})
    password = reverse("admin:auth_user_password_change", args=[bob.pk])
    new = {"password1": "N3w-sturdy-passphrase", "password2": "N3w-sturdy-passphrase"}
    assert admin_client.post(password, {**new, "usable_password": "true"}).status_code == 302
    found = entries(object_type="user")
    assert [(e[2], e[-1]) for e in found] == [
        ("changed", ["groups", "is_staff"]),
        ("changed", ["password"]),
    ]
    assert "N3w-sturdy" not in str(list(AuditEntry.objects.values()))
